// Tokenizers built from the checkpoints (GGUF vocabulary, tokenizer.json) give the same ids as
// Hugging Face `tokenizers` (references from tools/llm/gen_llm_refs.py).
#include <gtest/gtest.h>

#include "formats/gguf.h"
#include "llm_test_util.h"
#include "models/checkpoint_tokenizer.h"
#include "test_util.h"

namespace forge {
namespace {

TEST(CheckpointTokenizer, SmolLM2GgufMatchesHuggingFace) {
  FORGE_REQUIRE_MODELS();
  const GgufFile f = load_gguf(test::smollm2_path());
  const auto tok = models::tokenizer_from_gguf(f);
  EXPECT_EQ(tok->vocab_size(), 49152);
  EXPECT_EQ(tok->special_tokens().eos, 2);
  EXPECT_EQ(tok->special_tokens().bos, 1);
  const auto ref = test::llm_ref("tokenizer_refs.json");
  int checked = 0;
  for (const auto& c : ref["smollm2"]) {
    const std::string text = c["text"];
    EXPECT_EQ(tok->encode(text), c["ids"].get<std::vector<int32_t>>()) << text;
    EXPECT_EQ(tok->decode(c["ids"].get<std::vector<int32_t>>()), text);
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST(CheckpointTokenizer, MiniLMTokenizerJsonMatchesHuggingFace) {
  FORGE_REQUIRE_MODELS();
  const auto tok = models::tokenizer_from_hf_dir(test::minilm_dir());
  EXPECT_EQ(tok->kind(), "wordpiece");
  const auto ref = test::llm_ref("tokenizer_refs.json");
  for (const auto& c : ref["minilm"]) {
    const std::string text = c["text"];
    EXPECT_EQ(tok->encode(text, true), c["ids"].get<std::vector<int32_t>>()) << text;
    EXPECT_EQ(tok->encode(text, false), c["ids_no_special"].get<std::vector<int32_t>>()) << text;
  }
}

TEST(CheckpointTokenizer, Errors) {
  EXPECT_THROW_MSG(models::tokenizer_from_hf_dir("/nonexistent"), "no tokenizer.json or vocab.txt");
  FORGE_REQUIRE_MODELS();
  // a GGUF without a vocabulary
  const std::string path = ::testing::TempDir() + "/novocab.gguf";
  save_gguf(path, {{"general.architecture", GgufValue::from_string("llama")}}, {});
  EXPECT_THROW_MSG(models::tokenizer_from_gguf(load_gguf(path)), "no tokenizer.ggml.model");
  save_gguf(path, {{"tokenizer.ggml.model", GgufValue::from_string("llama")}}, {});
  EXPECT_THROW_MSG(models::tokenizer_from_gguf(load_gguf(path)), "tokenizer model 'llama' is not supported");
}

}  // namespace
}  // namespace forge
