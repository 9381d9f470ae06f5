#pragma once
// Language-model runs: `forge train` with a config whose [model] has type = "gpt" trains a GPT
// on a token stream (docs/language_models.md has the schema):
//
//   name = "gpt_fortunes"
//   [data]
//   corpus = "fortunes"           # | "fortunes-zh" | files = ["a.txt", ...]
//   tokenizer = "char"            # | "bpe" (with vocab_size)
//   validation_split = 0.1        # fraction of documents (seeded shuffle)
//   [model]
//   type = "gpt"
//   n_layer = 4, n_head = 4, d_model = 128, context = 128, tie_weights = true, dropout = 0.1
//   [train]
//   epochs = 5, steps_per_epoch = 200, batch_size = 16, accumulate = 1, lr = 1e-3,
//   weight_decay = 0.1, warmup_steps = 50, min_lr = 1e-4, clip_norm = 1.0,
//   windows = "random" | "sequential", eval_windows = 256, seed = 0, precision = "fp32" | "bf16"
//
// The run dir holds model/ (a GPT model dir for `forge generate`), checkpoint/ (exact resume),
// history.csv (loss, val_loss, val_perplexity, lr per epoch), metrics.json and plots.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/gpt.h"
#include "train/model.h"
#include "train/run.h"

namespace forge::train {

struct LmConfig {
  std::string path, name;
  // [data]
  std::string corpus;               // "fortunes" | "fortunes-zh" | "" (files)
  std::vector<std::string> files;   // text files, one document each
  std::string tokenizer = "char";   // "char" | "bpe"
  int64_t vocab_size = 0;           // bpe target size
  double validation_split = 0.1;
  int64_t max_documents = 0;        // > 0: only the first N documents after the seeded shuffle
  // [model]
  models::GptConfig model;          // vocab_size is filled from the tokenizer
  // [train]
  int64_t epochs = 5, steps_per_epoch = 0;  // 0 = one pass worth of tokens per epoch
  int64_t batch_size = 16, accumulate = 1;
  double lr = 1e-3, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95, min_lr = 0.0, clip_norm = 1.0;
  int64_t warmup_steps = 0;
  std::string windows = "random";  // "random" | "sequential"
  int64_t eval_windows = 128;      // validation windows (each `context` tokens) per evaluation
  uint64_t seed = 0;
  std::string sample_prompt;       // generated from after training into metrics.json ("" = first val chars)
  std::string precision = "fp32";  // "fp32" | "bf16": bf16 matmuls in training steps, fp32 master weights
};

// Whether a config file describes a language-model run ([model] type = "gpt").
bool is_lm_config(const std::string& path);
LmConfig load_lm_config(const std::string& path);
LmConfig parse_lm_config(const std::string& text, const std::string& name, const std::string& base_dir = "");

struct LmRunResult {
  std::string run_dir, model_dir;
  History history;
  int64_t epochs_run = 0;
  double train_seconds = 0, tokens_per_second = 0;
  double val_loss = 0, val_perplexity = 0, unigram_val_loss = 0;
  std::string sample;       // a sample generation from the trained model
  nlohmann::json metrics;   // what metrics.json holds
};

// Trains (or resumes with options.resume) and saves the run. options.epochs overrides epochs
// (and so the length of the cosine schedule). stop_after > 0 ends this invocation after that
// many epochs, as an interruption would (the schedule still spans all epochs).
LmRunResult run_lm_training(const LmConfig& config, const RunOptions& options, int64_t stop_after = 0);

// The corpus of a config as documents (seeded order), and the train/validation texts.
struct LmCorpus {
  std::string train_text, val_text;
  int64_t documents = 0, val_documents = 0;
};
LmCorpus load_lm_corpus(const LmConfig& config);

}  // namespace forge::train
