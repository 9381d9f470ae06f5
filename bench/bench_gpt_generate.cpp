// Generation speed of a GPT with the KV cache, batch 1, across prompt lengths: prefill time and
// per-token decode time (flat in the prompt length apart from the attention over cached keys).
// Saves the weights it used so bench/reference/torch_gpt_generate.py runs the same model:
//   build/bench/bench_gpt_generate [--layers 6 --d 384 --heads 6 --ctx 1024 --vocab 96 --new 64
//                                   --prompts 16,128,512,896 --weights /tmp/forge_gpt_bench.safetensors]
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "formats/safetensors.h"
#include "llm/sampler.h"
#include "models/gpt.h"

using namespace forge;

int main(int argc, char** argv) {
  models::GptConfig c{.vocab_size = 96, .context = 1024, .n_layer = 6, .n_head = 6, .d_model = 384};
  int64_t n_new = 64;
  std::vector<int64_t> prompts{16, 128, 512, 896};
  std::string weights = "/tmp/forge_gpt_bench.safetensors";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--layers") c.n_layer = std::stoll(v);
    else if (k == "--d") c.d_model = std::stoll(v);
    else if (k == "--heads") c.n_head = std::stoll(v);
    else if (k == "--ctx") c.context = std::stoll(v);
    else if (k == "--vocab") c.vocab_size = std::stoll(v);
    else if (k == "--new") n_new = std::stoll(v);
    else if (k == "--weights") weights = v;
    else if (k == "--prompts") {
      prompts.clear();
      size_t pos = 0;
      while (pos < v.size()) {
        size_t e = v.find(',', pos);
        if (e == std::string::npos) e = v.size();
        prompts.push_back(std::stoll(v.substr(pos, e - pos)));
        pos = e + 1;
      }
    }
  }
  auto model = std::make_shared<models::Gpt>(c, 1234);
  model->eval();
  {
    std::vector<std::pair<std::string, Tensor>> w;
    for (const auto& nt : model->state()) w.emplace_back(nt.name, nt.tensor.detach());
    save_safetensors(weights, w);
  }
  models::GptLM lm(model, nullptr);
  fmt::print("# Forge GPT generate: {} layers x {}, {} heads, vocab {}, ctx {}; {} new tokens greedy; weights {}\n",
             c.n_layer, c.d_model, c.n_head, c.vocab_size, c.context, n_new, weights);
  fmt::print("prompt_len\tprefill_ms\tdecode_ms_per_token\tdecode_tokens_per_s\n");
  for (int64_t p : prompts) {
    std::vector<int32_t> prompt(static_cast<size_t>(p));
    for (int64_t i = 0; i < p; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + 3) % c.vocab_size);
    double best_prefill = 1e9, best_decode = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      auto cache = lm.new_cache(p + n_new);
      llm::Sampler sampler({.temperature = 0.0f});
      auto t0 = std::chrono::steady_clock::now();
      Tensor logits = lm.forward(prompt, *cache);
      auto t1 = std::chrono::steady_clock::now();
      std::vector<int32_t> hist = prompt;
      std::vector<int32_t> one(1);
      for (int64_t i = 0; i < n_new; ++i) {
        one[0] = sampler.sample(logits.data<float>(), c.vocab_size, hist);
        hist.push_back(one[0]);
        logits = lm.forward(one, *cache);
      }
      auto t2 = std::chrono::steady_clock::now();
      best_prefill = std::min(best_prefill, std::chrono::duration<double, std::milli>(t1 - t0).count());
      best_decode = std::min(best_decode, std::chrono::duration<double, std::milli>(t2 - t1).count() / n_new);
    }
    fmt::print("{}\t{:.2f}\t{:.3f}\t{:.1f}\n", p, best_prefill, best_decode, 1000.0 / best_decode);
  }
  return 0;
}
