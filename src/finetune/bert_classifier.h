#pragma once
// A trainable BERT encoder with a classification head (autograd ops, unlike the inference-only
// models::BertModel): word + position + token-type embeddings, embedding LayerNorm, post-norm
// encoder layers (multi-head self-attention with a padding mask, GELU MLP), pooling over the
// non-pad tokens (mean, or the [CLS] token, as the checkpoint's 1_Pooling says), dropout and a
// Linear head. Parameters carry the Hugging Face names (embeddings.word_embeddings.weight,
// encoder.layer.N.attention.self.query.weight, ..., see models::kBertTensorNames) plus
// classifier.{weight,bias}, so a checkpoint loads by name and a saved classifier is a
// Hugging Face-style directory.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "models/bert.h"
#include "nn/module.h"
#include "text/tokenizer.h"

namespace forge::finetune {

struct BertClassifierConfig {
  models::BertConfig bert;   // encoder shape, ln_eps, activation, pooling ("mean" | "cls")
  int64_t num_classes = 2;
  double dropout = 0.1;      // after the embeddings, each attention output, each MLP and before the head
  int32_t pad_id = 0;        // forward(ids) treats this id as padding
};

// Validates a config ("[bert_classifier] hidden size 10 is not a multiple of the 3 heads").
void check_bert_classifier_config(const BertClassifierConfig& config);

// A padded batch: ids int64 [B, T], mask float32 [B, T] (1 = token, 0 = padding).
struct TokenBatch {
  Tensor ids, mask;
};
// Pads `sequences` (each non-empty) to the longest one with pad_id.
TokenBatch make_token_batch(const std::vector<std::vector<int32_t>>& sequences, int32_t pad_id);

class BertClassifier : public nn::Module {
 public:
  // Weights drawn from N(0, 0.02) (BERT's initializer_range), zero biases, LayerNorm 1/0; from `seed`
  // (also seeds the dropout masks).
  explicit BertClassifier(BertClassifierConfig config, uint64_t seed = 0);
  std::string name() const override { return "BertClassifier"; }
  // ids [B, T] -> logits [B, num_classes]; positions holding pad_id are masked.
  Tensor forward(const Tensor& ids) override;
  // Encoder output [B, T, d] for ids [B, T] and mask [B, T].
  Tensor encode(const Tensor& ids, const Tensor& mask);
  // The pooled sentence embedding [B, d]; normalize = L2-normalize each row (what
  // models::BertModel::embed_ids returns for sentence-transformers checkpoints).
  Tensor pooled(const Tensor& ids, const Tensor& mask, bool normalize = false);
  // Head on the (un-normalized) pooled embedding, after dropout: [B, num_classes].
  Tensor logits(const Tensor& ids, const Tensor& mask);
  const BertClassifierConfig& config() const { return config_; }

 private:
  BertClassifierConfig config_;
};

// The encoder config of a Hugging Face BERT directory (config.json, 1_Pooling, modules.json).
models::BertConfig bert_config_from_dir(const std::string& dir);

// A classifier whose encoder comes from a Hugging Face BERT directory (the head is fresh, drawn
// from `seed`). Checkpoint tensors the encoder does not use (pooler.*, position_ids) are
// ignored; a missing encoder tensor is an error naming it and the directory.
std::shared_ptr<BertClassifier> load_bert_classifier_from_hf(const std::string& dir, int64_t num_classes,
                                                             double dropout, uint64_t seed = 0);

// A fine-tuned classifier with what it needs to read raw text.
struct TextClassifier {
  std::shared_ptr<BertClassifier> model;
  text::TokenizerPtr tokenizer;
  std::vector<std::string> label_names;
  int64_t maxlen = 128;
  // The training run's data set (name / text_file / csv, text_column, target, test_split,
  // test_subset, seed), saved so `forge eval` can rebuild the test split; may be null.
  nlohmann::json data;
  // Token ids with [CLS] ... [SEP], truncated to maxlen (the [SEP] is kept).
  std::vector<int32_t> encode(const std::string& text) const;
  // Class probabilities [N, C] (eval mode, no graph), in batches of `batch_size`.
  Tensor predict_proba(const std::vector<std::string>& texts, int64_t batch_size = 32) const;
  // The most probable class id per text.
  std::vector<int64_t> predict(const std::vector<std::string>& texts, int64_t batch_size = 32) const;
};

// Token ids of `text` with [CLS] ... [SEP] truncated to maxlen (>= 2) keeping the [SEP].
std::vector<int32_t> encode_for_classifier(const text::Tokenizer& tokenizer, const std::string& text, int64_t maxlen);

// Writes DIR/config.json (the Hugging Face BERT config plus id2label/label2id, pooling, maxlen and
// "architectures": ["BertForSequenceClassification"]), DIR/model.safetensors and the tokenizer
// (tokenizer.json and vocab.txt copied from `source_dir`).
void save_classifier(const std::string& dir, const TextClassifier& classifier, const std::string& source_dir);
// Loads what save_classifier wrote; errors name the directory.
TextClassifier load_classifier(const std::string& dir);
// True when DIR/config.json describes a saved BERT classifier.
bool is_classifier_dir(const std::string& dir);

}  // namespace forge::finetune
