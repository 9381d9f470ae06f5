// Char-level GPT training throughput, the workload of /work/shared/anchors/torch_seed_models.py
// --only gpt: 6 layers x 384, 6 heads, context 256, batch 8, AdamW lr 3e-4, random windows of
// the fortunes file "people" (Latin-1 chars). Prints tokens/s over --steps steps after one
// warm-up step.   build/bench/bench_gpt_train [--steps 5 --layers 6 --d 384 --heads 6 --ctx 256 --batch 8]
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

#include "core/random.h"
#include "models/gpt.h"
#include "nn/loss.h"
#include "optim/optimizers.h"

using namespace forge;

int main(int argc, char** argv) {
  int64_t steps = 5, layers = 6, d = 384, heads = 6, T = 256, B = 8;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int64_t v = std::stoll(argv[i + 1]);
    if (k == "--steps") steps = v;
    else if (k == "--layers") layers = v;
    else if (k == "--d") d = v;
    else if (k == "--heads") heads = v;
    else if (k == "--ctx") T = v;
    else if (k == "--batch") B = v;
  }
  std::ifstream f("/usr/share/games/fortunes/people", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();  // bytes = Latin-1 chars
  std::set<unsigned char> chars(text.begin(), text.end());
  std::vector<int32_t> index(256, 0);
  int32_t n = 0;
  for (unsigned char ch : chars) index[ch] = n++;
  std::vector<int64_t> data(text.size());
  for (size_t i = 0; i < text.size(); ++i) data[i] = index[static_cast<unsigned char>(text[i])];

  models::Gpt m({.vocab_size = n, .context = T, .n_layer = layers, .n_head = heads, .d_model = d}, 0);
  AdamW opt(m.named_parameters(), {.lr = 3e-4});
  Generator gen(0);
  std::vector<int64_t> x(static_cast<size_t>(B * T)), y(static_cast<size_t>(B * T));
  double loss_v = 0;
  auto step = [&] {
    for (int64_t b = 0; b < B; ++b) {
      const auto off = static_cast<int64_t>(gen.below(data.size() - static_cast<size_t>(T) - 1));
      for (int64_t t = 0; t < T; ++t) {
        x[static_cast<size_t>(b * T + t)] = data[static_cast<size_t>(off + t)];
        y[static_cast<size_t>(b * T + t)] = data[static_cast<size_t>(off + t + 1)];
      }
    }
    opt.zero_grad();
    Tensor loss = sparse_categorical_cross_entropy_with_logits(m.forward(from_vector<int64_t>(x, {B, T})).reshape({B * T, n}),
                                                               from_vector<int64_t>(y, {B * T}));
    loss.backward();
    opt.step();
    loss_v = loss.item();
  };
  step();
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("gpt_char_tokens_per_s\t{:.1f}\tloss={:.4f}\t({} steps, {:.3f} s/step, {} params)\n",
             static_cast<double>(steps * B * T) / s, loss_v, steps, s / static_cast<double>(steps), m.num_parameters());
  return 0;
}
