// The trainable BERT classifier: parity of its pooled embedding with the inference encoder on
// all-MiniLM-L6-v2, finite-difference gradients on a tiny random config, padding invariance and
// error messages.
#include "finetune/bert_classifier.h"

#include <gtest/gtest.h>

#include <cmath>

#include "finetune_test_util.h"
#include "models/bert.h"
#include "nn/loss.h"
#include "test_util.h"

namespace forge {
namespace {

using finetune::BertClassifier;
using finetune::make_token_batch;

TEST(BertClassifier, PooledEmbeddingMatchesInferenceEncoder) {
  const std::string dir = test::required_minilm_dir();
  ASSERT_TRUE(std::filesystem::exists(dir + "/model.safetensors"));
  auto reference = models::load_bert(dir);
  auto model = finetune::load_bert_classifier_from_hf(dir, 4, 0.1);
  model->eval();
  const std::vector<std::string> texts = {"A fool and his money are soon parted.", "Hi",
                                          "Love is blind, and marriage is the eye-opener; so they say in town."};
  std::vector<std::vector<int32_t>> ids;
  for (const auto& t : texts) ids.push_back(reference->tokenizer()->encode(t, true));
  const auto want = reference->embed_ids(ids);
  NoGradGuard no_grad;
  const auto batch = make_token_batch(ids, 0);  // padded to the longest text
  const Tensor got = model->pooled(batch.ids, batch.mask, /*normalize=*/true).contiguous();
  ASSERT_EQ(got.shape(), (Shape{3, 384}));
  for (size_t i = 0; i < texts.size(); ++i) {
    double max_err = 0;
    for (int64_t j = 0; j < 384; ++j) {
      max_err = std::max(max_err, std::abs(static_cast<double>(got.data<float>()[i * 384 + j]) - want[i][j]));
    }
    EXPECT_LT(max_err, 1e-4) << texts[i];
  }
}

TEST(BertClassifier, LossGradientsMatchFiniteDifferences) {
  auto model = std::make_shared<BertClassifier>(test::tiny_config(), 3);
  model->train();  // dropout is 0: training mode must still be deterministic
  const auto batch = make_token_batch({{1, 5, 7, 2}, {1, 9, 2}, {1, 3, 4, 11, 2}}, 0);
  const Tensor y = from_vector<int64_t>({0, 2, 1}, {3});
  auto f = [&](const Tensors&) {
    return sparse_categorical_cross_entropy_with_logits(model->logits(batch.ids, batch.mask), y);
  };
  GradcheckOptions o;
  o.eps = 1e-2;  // float32 through two LayerNorms: a larger step keeps rounding below the tolerance
  EXPECT_TRUE(test::grad_ok(f, model->parameters(), o));
}

TEST(BertClassifier, PaddingDoesNotChangeLogits) {
  BertClassifier model(test::tiny_config(), 5);
  model.eval();
  NoGradGuard no_grad;
  const auto alone = make_token_batch({{1, 5, 7, 2}}, 0);
  const auto padded = make_token_batch({{1, 5, 7, 2}, {1, 3, 4, 11, 12, 13, 2}}, 0);
  const Tensor a = model.logits(alone.ids, alone.mask);
  const Tensor b = model.logits(padded.ids, padded.mask).slice(0, 0, 1);
  EXPECT_TRUE(test::all_close(b.contiguous(), a.contiguous(), 1e-5, 1e-6));
  // forward(ids) derives the mask from pad_id.
  EXPECT_TRUE(test::all_close(model.forward(padded.ids).slice(0, 0, 1).contiguous(), a.contiguous(), 1e-5, 1e-6));
}

TEST(BertClassifier, ParametersUseHuggingFaceNames) {
  BertClassifier model(test::tiny_config());
  std::vector<std::string> names;
  for (const auto& p : model.named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names.front(), "embeddings.word_embeddings.weight");
  EXPECT_NE(std::find(names.begin(), names.end(), "encoder.layer.1.attention.self.query.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "encoder.layer.0.output.LayerNorm.bias"), names.end());
  EXPECT_EQ(names.back(), "classifier.bias");
}

TEST(BertClassifier, TruncationKeepsSep) {
  const std::string dir = test::required_minilm_dir();
  auto tok = models::load_bert(dir)->tokenizer();
  const auto ids = finetune::encode_for_classifier(*tok, "one two three four five six seven eight", 5);
  ASSERT_EQ(ids.size(), 5u);
  EXPECT_EQ(ids.front(), *tok->special_tokens().cls);
  EXPECT_EQ(ids.back(), *tok->special_tokens().sep);
}

TEST(BertClassifier, Errors) {
  auto c = test::tiny_config();
  c.bert.n_head = 3;
  EXPECT_THROW_MSG(BertClassifier{c}, "hidden size 8 is not a multiple of the 3 heads");
  c = test::tiny_config();
  c.num_classes = 1;
  EXPECT_THROW_MSG(BertClassifier{c}, "num_classes must be >= 2, got 1");
  BertClassifier model(test::tiny_config());
  const Tensor ids = zeros({4}, DType::kI64);
  EXPECT_THROW_MSG(model.forward(ids), "ids must be 2-d [batch, time], got (4,)");
  const auto b = make_token_batch({{1, 2}}, 0);
  EXPECT_THROW_MSG(model.logits(b.ids, zeros({1, 3})), "mask (1,3) must match ids (1,2)");
  const auto long_batch = make_token_batch({std::vector<int32_t>(17, 1)}, 0);
  EXPECT_THROW_MSG(model.logits(long_batch.ids, long_batch.mask), "sequence length 17 must be in [1, 16]");
  EXPECT_THROW_MSG(make_token_batch({{1}, {}}, 0), "sequence 1 of the batch is empty");
  EXPECT_THROW_MSG(finetune::load_classifier("/nonexistent"), "is not a fine-tuned classifier");
}

}  // namespace
}  // namespace forge
