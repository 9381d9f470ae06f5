#pragma once
// Shared helpers of the finetune tests: the MiniLM checkpoint (must exist: tests FAIL, not skip)
// and a tiny random BERT classifier config.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "finetune/bert_classifier.h"
#include "llm/llm_test_util.h"

namespace forge::test {

// all-minilm-l6-v2 under FORGE_TEST_MODELS_DIR; a missing checkpoint is a test failure that names
// the script making it.
inline std::string required_minilm_dir() {
  const std::string dir = minilm_dir();
  EXPECT_TRUE(std::filesystem::exists(dir + "/model.safetensors"))
      << dir << " is missing: run scripts/fetch_models.sh (it extracts all-MiniLM-L6-v2 into models/)";
  return dir;
}

// 2 layers, d = 8, 2 heads, 3 classes, vocab 20, no dropout.
inline finetune::BertClassifierConfig tiny_config() {
  finetune::BertClassifierConfig c;
  c.bert.n_layer = 2;
  c.bert.d_model = 8;
  c.bert.n_head = 2;
  c.bert.d_ff = 16;
  c.bert.vocab = 20;
  c.bert.max_positions = 16;
  c.bert.ln_eps = 1e-12f;
  c.num_classes = 3;
  c.dropout = 0.0;
  return c;
}

}  // namespace forge::test
