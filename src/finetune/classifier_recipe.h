#pragma once
// The pieces of the BERT classifier fine-tuning recipe (`forge finetune` with [model] type =
// "bert"), exposed for tests: the config, AdamW parameter groups, the warmup length, length-
// bucketed accumulation windows and one optimizer step over a window. docs/finetuning.md has
// the config schema.
#include <cstdint>
#include <string>
#include <vector>

#include "finetune/bert_classifier.h"
#include "optim/optimizer.h"
#include "train/config.h"
#include "train/run.h"

namespace forge::finetune {

struct ClassifierFinetuneConfig {
  std::string name;
  std::string model_path;  // Hugging Face BERT directory (relative paths: to the config file)
  train::DataConfig data;  // name = "fortunes" | text_file | csv + text_column (+ target)
  int64_t maxlen = 128;    // tokens per text with [CLS] and [SEP]; <= the model's max positions
  int64_t epochs = 3;
  int64_t batch_size = 32;    // examples per forward/backward (micro-batch)
  int64_t accumulation = 1;   // micro-batches per optimizer step
  double lr = 5e-5;
  double weight_decay = 0.01;  // AdamW, not on biases and LayerNorm weights
  double warmup = 0.1;         // < 1: fraction of the optimizer steps; >= 1: a number of steps
  double clip_norm = 1.0;      // 0 = no clipping
  double dropout = 0.1;
  uint64_t seed = 0;
  int threads = 0;             // 0 = the library default
  int64_t log_every = 20;      // optimizer steps between progress lines
};

// Parses and validates a finetune config; errors name the file, the line and the key.
ClassifierFinetuneConfig parse_classifier_config(const std::string& path);

// Whether AdamW decays this parameter: not biases, not LayerNorm weights.
bool uses_weight_decay(const std::string& param_name);
// Two groups: decayed weights (weight_decay) and the rest (0).
std::vector<ParamGroup> weight_decay_groups(const nn::Module& model, double weight_decay);
// Warmup steps for a `warmup` fraction (< 1) or count (>= 1) of `total_steps`.
int64_t warmup_steps(double warmup, int64_t total_steps);

// Example indices grouped into windows of `window` examples (one optimizer step each; the last
// may be smaller): shuffled with `seed`, sorted by length inside pools of 50 windows (so a
// window's micro-batches pad little), windows in shuffled order.
std::vector<std::vector<int64_t>> bucketed_windows(const std::vector<int64_t>& lengths, int64_t window, uint64_t seed);

struct LabeledIds {
  std::vector<int32_t> ids;  // with [CLS] ... [SEP]
  int64_t label = 0;
};

// One optimizer step over the examples of `window`, forwarded in micro-batches of
// `micro_batch` (longest first is not needed: each is padded to its own longest sequence).
// The loss of each micro-batch is its summed per-example cross-entropy divided by the number
// of examples in the whole window, so the accumulated gradient equals that of one big batch.
// Clips the gradient norm to clip_norm (> 0) and steps the optimizer. Returns the window's
// mean loss.
double accumulation_step(BertClassifier& model, Optimizer& optimizer, const std::vector<LabeledIds>& examples,
                         const std::vector<int64_t>& window, int64_t micro_batch, double clip_norm);

// `forge predict DIR INPUT...` on a saved classifier: an input that is a file holds one text per
// line; anything else is the text itself.
std::vector<train::Prediction> predict_classifier_inputs(const std::string& dir, const std::vector<std::string>& inputs);
// `forge eval DIR` on a saved classifier: accuracy, macro-F1 and the confusion matrix on the test
// split of the data set it was trained on (data = ""), or on a "label<TAB>text" file.
train::EvalResult evaluate_classifier_dir(const std::string& dir, const std::string& data = "");

}  // namespace forge::finetune
