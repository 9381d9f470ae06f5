// The issue-5 language-model rows: the seed text CNN and LSTM on the fortunes topics, the char
// GPT (6 x 384, 6 heads, context 256, batch 8, AdamW) in fp32 and bf16, and KV-cache generation.
// Their PyTorch twins are in bench/reference/torch_workloads.py under the same names.
//
// Data: the text rows prepare the fortunes split of examples/textcnn_fortunes and
// examples/lstm_fortunes (same [data] sections, seed 0; the reference reads the same ids through
// `bench_text_models export`). The GPT rows train on random windows of the fortunes file
// "people" as Latin-1 characters, ids = rank of the character in the sorted character set (the
// anchor's chars.index(c)).
#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "bench/common.h"
#include "bench/workloads.h"
#include "core/allocator.h"
#include "core/random.h"
#include "data/dataset.h"
#include "llm/sampler.h"
#include "models/gpt.h"
#include "nn/loss.h"
#include "ops/precision.h"
#include "optim/optimizers.h"
#include "train/config.h"
#include "train/model.h"
#include "train/run.h"

namespace forge::bench {

namespace {

// The [data] section shared by both text rows (as in examples/*_fortunes/config.toml).
constexpr const char* kFortunesData = R"(
[data]
name = "fortunes"
test_split = 0.2
validation_split = 0.1

[data.text]
num_words = 10000
maxlen = 100
oov_token = "<OOV>"
padding = "pre"

[train]
seed = 0
)";

// The examples' models with a linear last layer: the loss takes logits, as in PyTorch.
constexpr const char* kTextCnnModel = R"(
[model]
layers = [
  { type = "Embedding", input_dim = 10000, output_dim = 16 },
  { type = "Permute", dims = [2, 1] },
  { type = "Conv1D", filters = 32, kernel_size = 7, activation = "relu" },
  { type = "MaxPooling1D", pool_size = 7 },
  { type = "Conv1D", filters = 64, kernel_size = 7, activation = "relu" },
  { type = "GlobalMaxPooling1D" },
  { type = "Dense", units = 64, activation = "relu" },
  { type = "Dense", units = 43 },
]
)";

constexpr const char* kLstmModel = R"(
[model]
layers = [
  { type = "Embedding", input_dim = 10000, output_dim = 32 },
  { type = "LSTM", units = 32 },
  { type = "Dense", units = 43 },
]
)";

struct TextData {
  Tensor x, y, x_test, y_test;
  Shape input_shape;
};

const TextData& fortunes_topics() {
  static const TextData data = [] {
    const train::RunConfig config = train::parse_run_config(std::string(kFortunesData) + kTextCnnModel, "fortunes");
    const train::PreparedData p = train::prepare_data(config.data, 0, "sparse_categorical_crossentropy");
    const Example tr = materialize(*p.train), te = materialize(*p.test);
    return TextData{tr.x.contiguous(), tr.y.to(DType::kI64).contiguous(), te.x.contiguous(),
                    te.y.to(DType::kI64).contiguous(), p.input_shape};
  }();
  return data;
}

// Adam 1e-3, batch 32: a warm-up pass over 10 batches, then one timed epoch (bench::train_epoch).
Result text_train(const char* model_toml, const Options& options) {
  const TextData& data = fortunes_topics();
  const train::RunConfig config = train::parse_run_config(std::string(kFortunesData) + model_toml, "text");
  manual_seed(options.seed);
  train::Model model = train::Model::from_config(config.layers, data.input_shape);
  AdamOptions ao;
  ao.lr = 1e-3;
  Adam adam(model.network().named_parameters(), ao);
  Options warm = options;
  warm.samples = 320;
  train_epoch(model.network(), adam, data.x, data.y, 32, warm);
  const double cpu0 = process_cpu_seconds();
  const double sps = train_epoch(model.network(), adam, data.x, data.y, 32, options);
  const double cpu_s = process_cpu_seconds() - cpu0;
  Result r = make_result(sps, "samples/s", true);
  // Samples per CPU second of the timed epoch: the A/B measure on a loaded machine.
  const int64_t n = options.samples > 0 ? std::min(options.samples, data.x.shape()[0]) : data.x.shape()[0];
  r.extra["cpu_samples_per_s"] = static_cast<double>(n / 32 * 32) / cpu_s;
  r.extra["accuracy"] = accuracy(model.network(), data.x_test, data.y_test);
  return r;
}

// ---- char GPT

struct CharData {
  std::vector<int64_t> ids;
  int64_t vocab = 0;
};

const CharData& people_chars() {
  static const CharData data = [] {
    std::ifstream f("/usr/share/games/fortunes/people", std::ios::binary);
    FORGE_CHECK(f.good(), "[bench] cannot read /usr/share/games/fortunes/people (apt-get install fortunes)");
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();  // bytes = Latin-1 chars
    std::set<unsigned char> chars(text.begin(), text.end());
    std::vector<int64_t> index(256, 0);
    int64_t n = 0;
    for (unsigned char ch : chars) index[ch] = n++;
    CharData d;
    d.vocab = n;
    d.ids.reserve(text.size());
    for (unsigned char ch : text) d.ids.push_back(index[ch]);
    return d;
  }();
  return data;
}

constexpr int64_t kGptBatch = 8, kGptContext = 256, kGptDefaultSteps = 8;

// tokens/s of AdamW(3e-4) steps on random windows after one warm-up step. options.samples > 0:
// that many tokens (rounded to whole steps of 8 x 256). extra: mean loss over the timed steps.
Result gpt_char_train(const Options& options, Precision precision) {
  const CharData& data = people_chars();
  const int64_t B = kGptBatch, T = kGptContext;
  const int64_t steps = options.samples > 0 ? std::max<int64_t>(1, options.samples / (B * T)) : kGptDefaultSteps;
  models::Gpt m({.vocab_size = data.vocab, .context = T, .n_layer = 6, .n_head = 6, .d_model = 384},
                options.seed);
  m.train();
  // As run_lm_training: one step's activations (~0.5 GB here) stay cached between steps.
  set_allocator_cache_limit(size_t{1} << 30);
  AdamW opt(m.named_parameters(), {.lr = 3e-4});
  Generator gen(options.seed + 1);
  std::vector<int64_t> x(static_cast<size_t>(B * T)), y(static_cast<size_t>(B * T));
  PrecisionGuard guard(precision);
  auto step = [&] {
    for (int64_t b = 0; b < B; ++b) {
      const auto off = static_cast<int64_t>(gen.below(data.ids.size() - static_cast<size_t>(T) - 1));
      std::copy_n(data.ids.begin() + off, T, x.begin() + b * T);
      std::copy_n(data.ids.begin() + off + 1, T, y.begin() + b * T);
    }
    opt.zero_grad();
    Tensor loss = sparse_categorical_cross_entropy_with_logits(
        m.forward(from_vector<int64_t>(x, {B, T})).reshape({B * T, data.vocab}), from_vector<int64_t>(y, {B * T}));
    loss.backward();
    opt.step();
    return loss.item();
  };
  step();
  double loss_sum = 0;
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) loss_sum += step();
  const double s = seconds_since(t0);
  Result r = make_result(static_cast<double>(steps * B * T) / s, "tokens/s", true);
  r.extra["cpu_tokens_per_s"] = static_cast<double>(steps * B * T) / (process_cpu_seconds() - cpu0);
  r.extra["loss"] = loss_sum / static_cast<double>(steps);
  r.extra["steps"] = static_cast<double>(steps);
  return r;
}

// ---- generation

// Decode tokens/s of a 6 x 384 GPT (vocab 96, context 1024) with the KV cache, batch 1, greedy:
// 64 new tokens after a 128-token prompt, best of 3. extra: prefill_ms of the prompt.
Result gpt_generate(const Options& options) {
  const models::GptConfig c{.vocab_size = 96, .context = 1024, .n_layer = 6, .n_head = 6, .d_model = 384};
  constexpr int64_t kPrompt = 128, kNew = 64;
  auto model = std::make_shared<models::Gpt>(c, options.seed + 1234);
  model->eval();
  models::GptLM lm(model, nullptr);
  std::vector<int32_t> prompt(static_cast<size_t>(kPrompt));
  for (int64_t i = 0; i < kPrompt; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + 3) % c.vocab_size);
  double best_prefill = 1e30, best_decode = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto cache = lm.new_cache(kPrompt + kNew);
    llm::Sampler sampler({.temperature = 0.0f});
    const auto t0 = std::chrono::steady_clock::now();
    Tensor logits = lm.forward(prompt, *cache);
    const double prefill = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    std::vector<int32_t> hist = prompt, one(1);
    for (int64_t i = 0; i < kNew; ++i) {
      one[0] = sampler.sample(logits.data<float>(), c.vocab_size, hist);
      hist.push_back(one[0]);
      logits = lm.forward(one, *cache);
    }
    best_decode = std::min(best_decode, seconds_since(t1));
    best_prefill = std::min(best_prefill, prefill);
  }
  Result r = make_result(static_cast<double>(kNew) / best_decode, "tokens/s", true);
  r.extra["prefill_ms"] = best_prefill * 1e3;
  return r;
}

}  // namespace

void register_lm_workloads(Registry& registry) {
  registry.add({"textcnn_train", "seed text CNN on the fortunes topics, batch 32, Adam: training samples/s",
                [](const Options& o) { return text_train(kTextCnnModel, o); }});
  registry.add({"lstm_train", "Embedding(10000, 32) + LSTM(32) on the fortunes topics, batch 32, Adam: samples/s",
                [](const Options& o) { return text_train(kLstmModel, o); }});
  registry.add({"gpt_char_train", "char GPT 6x384, 6 heads, ctx 256, batch 8, AdamW, fp32: training tokens/s",
                [](const Options& o) { return gpt_char_train(o, Precision::kF32); }});
  registry.add({"gpt_char_train_bf16", "char GPT as gpt_char_train with bf16 matmuls (fp32 master weights): tokens/s",
                [](const Options& o) { return gpt_char_train(o, Precision::kBF16); }});
  registry.add({"gpt_generate", "GPT 6x384 KV-cache decode, batch 1, greedy, prompt 128: tokens/s", gpt_generate});
}

}  // namespace forge::bench
