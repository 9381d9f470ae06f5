// PyTorch parity for models/gpt (goldens from tools/golden/families/gpt.py): logits, every
// parameter gradient, and the KV-cache inference path, all with the same weights.
#include "models/gpt.h"

#include "autograd/grad_mode.h"
#include "golden/golden.h"

namespace forge::models {
namespace {

std::shared_ptr<Gpt> load_case(const golden::Case& c) {
  const auto& a = c.args();
  GptConfig cfg{.vocab_size = a.at("vocab_size").get<int64_t>(),
                .context = a.at("context").get<int64_t>(),
                .n_layer = a.at("n_layer").get<int64_t>(),
                .n_head = a.at("n_head").get<int64_t>(),
                .d_model = a.at("d_model").get<int64_t>(),
                .tie_weights = a.at("tie_weights").get<bool>()};
  auto m = std::make_shared<Gpt>(cfg);
  NamedTensors state;
  for (const auto& nt : m->state()) state.push_back({nt.name, c.get("p." + nt.name)});
  m->load_state(state);
  m->eval();
  return m;
}

void check(const std::string& name) {
  const auto& c = golden::get("gpt", name);
  auto m = load_case(c);
  Tensor ids = c.get("in0");
  Tensor out = m->forward(ids);
  EXPECT_TRUE(c.expect("out", out)) << name;
  out.backward(c.get("gout"));
  for (const auto& nt : m->named_parameters()) {
    ASSERT_TRUE(nt.tensor.grad().defined()) << nt.name;
    EXPECT_TRUE(c.expect("pgrad." + nt.name, nt.tensor.grad())) << name << " " << nt.name;
  }
  // KV-cache inference: first sequence, prefill 3 then one token at a time.
  GptLM lm(m, nullptr);
  auto cache = lm.new_cache(ids.shape()[1]);
  const auto row = ids.select(0, 0).contiguous().to_vector<int64_t>();
  std::vector<int32_t> toks(row.begin(), row.end());
  Tensor expected = c.get("out").select(0, 0);
  Tensor pre = lm.forward({toks.begin(), toks.begin() + 3}, *cache, false);
  // The cache path sums in a different order than autograd's ops; 1e-5 of the logits' scale
  // (golden's rule) still holds.
  EXPECT_TRUE(test::all_close(pre, expected.slice(0, 0, 3), 1e-5, 1e-5)) << name;
  for (size_t t = 3; t < toks.size(); ++t) {
    Tensor r = lm.forward({toks[t]}, *cache);
    EXPECT_TRUE(test::all_close(r, expected.slice(0, static_cast<int64_t>(t), static_cast<int64_t>(t) + 1), 1e-5, 1e-5))
        << name << " position " << t;
  }
}

TEST(GoldenGpt, Small) { check("small"); }
TEST(GoldenGpt, TiedFullContext) { check("tied_full_context"); }

}  // namespace
}  // namespace forge::models
