// LoRA for Llama: the lora_linear op (gradients), the trainable Llama forward against the
// inference LlamaModel (synthetic tiny checkpoints in both RoPE layouts, and SmolLM2), adapter
// save/load, merging, and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "finetune/lora_test_util.h"
#include "formats/safetensors.h"
#include "models/llama_train.h"
#include "models/lora.h"
#include "nn/init.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using models::LlamaCheckpoint;
using models::LlamaConfig;
using models::LlamaLoraModel;
using models::LoraAdapter;
using models::LoraConfig;
using test::randn;
using test::random_adapter;
using test::tiny_checkpoint;

const std::string kSmol = std::string(FORGE_TEST_MODELS_DIR) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

const std::vector<std::string> kAll = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

// Last-position logits of LlamaModel (inference path, KV cache) for `ids`.
std::vector<float> inference_logits(models::LlamaModel& m, const std::vector<int32_t>& ids) {
  auto cache = m.new_cache(static_cast<int64_t>(ids.size()));
  Tensor out = m.forward(ids, *cache, false).contiguous();
  return {out.data<float>(), out.data<float>() + out.numel()};
}

std::vector<float> trainable_logits(LlamaLoraModel& m, const std::vector<int32_t>& ids) {
  NoGradGuard no_grad;
  std::vector<int64_t> v(ids.begin(), ids.end());
  Tensor out = m.logits(from_vector<int64_t>(v, {1, static_cast<int64_t>(v.size())})).contiguous();
  return {out.data<float>(), out.data<float>() + out.numel()};
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::abs(double(a[i]) - double(b[i])));
  return d;
}

TEST(LoraLinear, Gradcheck) {
  Tensor x = test::randn_leaf({2, 3, 5}, 1), w = test::randn_leaf({4, 5}, 2), a = test::randn_leaf({2, 5}, 3),
         b = test::randn_leaf({4, 2}, 4);
  EXPECT_TRUE(
      test::grad_ok([](const Tensors& t) { return models::lora_linear(t[0], t[1], t[2], t[3], 1.5); }, {x, w, a, b}));
}

TEST(LoraLinear, MatchesMergedWeightAndDropoutOnlyTouchesTheLoraBranch) {
  Generator gen(5);
  Tensor x = randn({3, 6}, gen), w = randn({4, 6}, gen), a = randn({2, 6}, gen), b = randn({4, 2}, gen);
  Tensor y = models::lora_linear(x, w, a, b, 0.5);
  Tensor merged = linear(x, w + matmul(b, a) * 0.5);
  EXPECT_LT(max(abs(y - merged)).item(), 1e-5);
  // With B = 0 dropout cannot change the output.
  Tensor y0 = models::lora_linear(x, w, a, zeros({4, 2}), 2.0, 0.5, true, &gen);
  EXPECT_LT(max(abs(y0 - linear(x, w))).item(), 1e-6);
}

TEST(LoraLinear, Errors) {
  EXPECT_THROW_MSG(models::lora_linear(zeros({3, 6}), zeros({4, 6}), zeros({2, 5}), zeros({4, 2}), 1.0),
                   "[lora_linear] lora_A (2,5) and lora_B (4,2) do not fit weight (4,6)");
  EXPECT_THROW_MSG(models::lora_linear(zeros({3, 7}), zeros({4, 6}), zeros({2, 6}), zeros({4, 2}), 1.0),
                   "[lora_linear] input (3,7) does not end in 6 features");
}

TEST(LoraRope, PermutationRoundTrip) {
  Generator gen(1);
  Tensor w = randn({16, 3}, gen);
  Tensor back = models::rope_rows_gguf_to_hf(models::rope_rows_hf_to_gguf(w, 4), 4);
  EXPECT_EQ(max(abs(back - w)).item(), 0.0);
  // Head 0 of a GGUF layout [4 rows]: rows (x0, x2, x1, x3) of the HF layout.
  Tensor g = models::rope_rows_hf_to_gguf(from_vector({0.f, 1.f, 2.f, 3.f}, {4, 1}), 1);
  EXPECT_EQ(g.data<float>()[1], 2.f);
  EXPECT_EQ(g.data<float>()[2], 1.f);
}

// The trainable forward with B = 0 equals the inference model, in both RoPE layouts.
TEST(LlamaTrain, TinyMatchesInferenceModelInBothLayouts) {
  const std::vector<int32_t> ids = {1, 5, 9, 2, 31, 7, 7, 0};
  for (bool gguf : {false, true}) {
    const LlamaCheckpoint ck = tiny_checkpoint(gguf);
    LoraConfig lc;
    lc.target_modules = kAll;
    lc.rank = 2;
    LlamaLoraModel train(ck, lc, 1);
    auto infer = models::load_llama(ck);
    infer->set_gemm_attention_rows(1000000);  // the per-token attention loop
    EXPECT_LT(max_abs_diff(trainable_logits(train, ids), inference_logits(*infer, ids)), 2e-5) << "gguf " << gguf;
  }
  // Same weights in the two layouts give the same logits.
  LoraConfig lc;
  LlamaLoraModel hf(tiny_checkpoint(false), lc), gg(tiny_checkpoint(true), lc);
  EXPECT_LT(max_abs_diff(trainable_logits(hf, ids), trainable_logits(gg, ids)), 1e-4);
}

// An adapter (stored in HF row order) means the same thing on an HF base and on the GGUF base
// with permuted q/k rows, trained (unmerged) or merged into LlamaModel.
TEST(LlamaTrain, AdapterUnmergedEqualsMergedInBothLayouts) {
  const std::vector<int32_t> ids = {3, 1, 4, 1, 5, 9, 2, 6};
  const LoraAdapter adapter = random_adapter(tiny_checkpoint(false), kAll);
  std::vector<float> ref;
  for (bool gguf : {false, true}) {
    const LlamaCheckpoint ck = tiny_checkpoint(gguf);
    LlamaLoraModel train(ck, adapter.config, 1);
    train.load_adapter(adapter);
    const auto unmerged = trainable_logits(train, ids);
    auto merged = models::load_llama(models::apply_lora(ck, adapter));
    EXPECT_LT(max_abs_diff(unmerged, inference_logits(*merged, ids)), 1e-4) << "gguf " << gguf;
    if (ref.empty()) {
      ref = unmerged;
      // The adapter changes the output.
      LlamaLoraModel plain(ck, adapter.config, 1);
      EXPECT_GT(max_abs_diff(unmerged, trainable_logits(plain, ids)), 1e-2);
    } else {
      EXPECT_LT(max_abs_diff(unmerged, ref), 1e-4);
    }
    // adapter() converts back to HF rows: the same tensors come out.
    const LoraAdapter back = train.adapter("tiny");
    for (const auto& [key, p] : adapter.weights) {
      EXPECT_LT(max(abs(back.weights.at(key).b - p.b)).item(), 1e-7) << key.first << " " << key.second;
      EXPECT_LT(max(abs(back.weights.at(key).a - p.a)).item(), 1e-7);
    }
  }
}

TEST(LlamaTrain, OnlyLoraParametersGetGradients) {
  LoraConfig lc;
  lc.rank = 2;
  lc.target_modules = {"q_proj", "down_proj"};
  lc.dropout = 0.0;
  LlamaLoraModel m(tiny_checkpoint(true), lc, 2);
  const NamedTensors params = m.parameters();
  ASSERT_EQ(params.size(), 2u * 2u * 2u);
  EXPECT_EQ(params[0].name, "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(params[0].tensor.shape(), (Shape{2, 16}));
  EXPECT_EQ(params[3].name, "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
  EXPECT_EQ(params[3].tensor.shape(), (Shape{16, 2}));
  // PEFT init: A ~ U(-1/sqrt(in), 1/sqrt(in)) (nonzero), B = 0.
  EXPECT_GT(max(abs(params[0].tensor)).item(), 0.0);
  EXPECT_LE(max(abs(params[0].tensor)).item(), 1.0 / std::sqrt(16.0));
  EXPECT_EQ(max(abs(params[1].tensor)).item(), 0.0);
  m.train(true);
  Tensor loss = sum(m.logits(from_vector<int64_t>({1, 2, 3, 4}, {1, 4})));
  loss.backward();
  for (const auto& p : params) EXPECT_TRUE(p.tensor.grad().defined()) << p.name;
  // B = 0 at init: A gets no signal yet but B does.
  EXPECT_GT(max(abs(params[1].tensor.grad())).item(), 0.0);
}

TEST(LoraAdapterIo, SaveLoadRoundTrip) {
  const LoraAdapter a = random_adapter(tiny_checkpoint(false), {"q_proj", "v_proj", "up_proj"});
  const std::string dir = (fs::temp_directory_path() / "forge_lora_roundtrip").string();
  fs::remove_all(dir);
  models::save_lora_adapter(dir, a);
  const LoraAdapter b = models::load_lora_adapter(dir);
  EXPECT_EQ(b.config.rank, a.config.rank);
  EXPECT_EQ(b.config.alpha, a.config.alpha);
  EXPECT_EQ(b.config.target_modules, a.config.target_modules);
  EXPECT_EQ(b.base_model, "tiny");
  ASSERT_EQ(b.weights.size(), a.weights.size());
  for (const auto& [key, p] : a.weights) {
    EXPECT_EQ(max(abs(b.weights.at(key).a - p.a)).item(), 0.0);
    EXPECT_EQ(max(abs(b.weights.at(key).b - p.b)).item(), 0.0);
  }
  const auto st = load_safetensors(dir + "/adapter_model.safetensors");
  EXPECT_EQ(st.at("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight").shape(), (Shape{24, 2}));
  EXPECT_EQ(st.at("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight").shape(), (Shape{2, 16}));
  EXPECT_EQ(models::find_lora_adapter_dir(dir), dir);
  // PEFT options that would change the update are rejected, not ignored.
  const std::string cfg = dir + "/adapter_config.json";
  std::ifstream in(cfg);
  nlohmann::json j = nlohmann::json::parse(in);
  in.close();
  j["use_rslora"] = true;
  std::ofstream(cfg) << j.dump();
  EXPECT_THROW_MSG(models::load_lora_adapter(dir), "rsLoRA adapters (use_rslora) are not supported");
  j["use_rslora"] = false;
  j["rank_pattern"] = {{"q_proj", 4}};
  std::ofstream(cfg) << j.dump();
  EXPECT_THROW_MSG(models::load_lora_adapter(dir), "per-module rank_pattern is not supported");
  j["rank_pattern"] = nlohmann::json::object();
  j["peft_type"] = "IA3";
  std::ofstream(cfg) << j.dump();
  EXPECT_THROW_MSG(models::load_lora_adapter(dir), "peft_type is 'IA3', expected 'LORA'");
  fs::remove_all(dir);
}

TEST(LoraErrors, BadConfigAndMismatchedAdapters) {
  LoraConfig lc;
  lc.target_modules = {"q_proj", "qkv_proj"};
  EXPECT_THROW_MSG(models::check_lora_config(lc), "[lora] unknown target module 'qkv_proj' (valid: q_proj, k_proj");
  lc.target_modules = {"q_proj"};
  lc.rank = 0;
  EXPECT_THROW_MSG(models::check_lora_config(lc), "[lora] rank must be > 0, got 0");
  lc.rank = -3;
  EXPECT_THROW_MSG(LlamaLoraModel(tiny_checkpoint(false), lc), "[lora] rank must be > 0, got -3");
  lc.rank = 4;
  lc.dropout = 1.0;
  EXPECT_THROW_MSG(models::check_lora_config(lc), "[lora] dropout must be in [0, 1), got 1");

  // An adapter for a wider model does not fit.
  LoraAdapter bad = random_adapter(tiny_checkpoint(false), {"q_proj"});
  bad.weights[{"q_proj", 0}].a = zeros({2, 20});
  EXPECT_THROW_MSG(models::apply_lora(tiny_checkpoint(false), bad),
                   "[lora] adapter/base shape mismatch: q_proj layer 0: lora_A (2,20) and lora_B (16,2) do not fit the "
                   "base weight [16, 16]");
  LoraAdapter deep = random_adapter(tiny_checkpoint(false), {"v_proj"});
  deep.weights[{"v_proj", 5}] = deep.weights[{"v_proj", 0}];
  EXPECT_THROW_MSG(models::apply_lora(tiny_checkpoint(false), deep),
                   "[lora] adapter/base shape mismatch: v_proj has layer 5 but the base has 2");
  EXPECT_THROW_MSG(models::load_lora_adapter("/nonexistent/adapter"), "no adapter_config.json");
  EXPECT_THROW_MSG(models::find_lora_adapter_dir("/nonexistent/run"), "[lora] /nonexistent/run: not a LoRA adapter");
}

// SmolLM2: the trainable forward (f32, dequantized once) against LlamaModel with
// dequantize_weights = true. Tolerance 5e-4 absolute on logits of magnitude ~10-30 (measured
// 6e-5): the two paths sum in different orders (autograd ops vs. the fused inference loops) over
// 30 layers.
TEST(LlamaTrain, SmolLM2MatchesInferenceModel) {
  ASSERT_TRUE(fs::exists(kSmol)) << "run scripts/fetch_models.sh (model missing: " << kSmol << ")";
  const LlamaCheckpoint ck = models::open_llama_gguf(kSmol);
  LoraConfig lc;
  lc.target_modules = {"q_proj", "v_proj"};
  LlamaLoraModel train(ck, lc, 0);
  LlamaCheckpoint deq = ck;
  deq.config.dequantize_weights = true;
  auto infer = models::load_llama(deq);
  for (const std::string& prompt : {std::string("The capital of France is"),
                                    std::string("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")}) {
    const auto ids = ck.tokenizer->encode(prompt);
    const auto a = trainable_logits(train, ids), b = inference_logits(*infer, ids);
    EXPECT_LT(max_abs_diff(a, b), 5e-4) << prompt;
  }
  // A random adapter (HF row order) on the GGUF base: the unmerged trainable model equals
  // LlamaModel with the adapter merged at load (same tolerance and reason).
  Generator gen(11);
  LoraAdapter adapter;
  adapter.config = lc;
  for (int64_t l : {0, 7, 29}) {
    adapter.weights[{"q_proj", l}] = {randn({lc.rank, 576}, gen, 0.05), randn({576, lc.rank}, gen, 0.05)};
    adapter.weights[{"v_proj", l}] = {randn({lc.rank, 576}, gen, 0.05), randn({192, lc.rank}, gen, 0.05)};
  }
  LlamaLoraModel tuned(ck, lc, 0);
  tuned.load_adapter(adapter);
  LlamaCheckpoint merged = models::apply_lora(ck, adapter);
  merged.config.dequantize_weights = true;
  auto merged_model = models::load_llama(merged);
  const auto ids = ck.tokenizer->encode("Once upon a time, in a land far away,");
  const auto tuned_logits = trainable_logits(tuned, ids);
  EXPECT_LT(max_abs_diff(tuned_logits, inference_logits(*merged_model, ids)), 5e-4);
  EXPECT_GT(max_abs_diff(tuned_logits, trainable_logits(train, ids)), 1e-2);  // the adapter matters
}

}  // namespace
}  // namespace forge
