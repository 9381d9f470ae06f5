#include "core/random.h"

#include <cmath>
#include <numbers>

namespace forge {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }
}  // namespace

void Generator::manual_seed(uint64_t seed) {
  uint64_t x = seed;
  for (auto& word : s_) word = splitmix64(x);
  has_spare_ = false;
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  spare_ = radius * std::sin(2.0 * std::numbers::pi * u2);
  has_spare_ = true;
  return radius * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Generator::below(uint64_t n) {
  FORGE_CHECK(n > 0, "[random] upper bound must be positive");
  // Rejection sampling removes modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return x % n;
}

void Generator::set_state(const State& state) {
  s_ = state.s;
  spare_ = state.spare_normal;
  has_spare_ = state.has_spare;
}

Generator& default_generator() {
  static Generator generator(0x5eed);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

Tensor rand(const Shape& shape, double low, double high, Generator* gen) {
  FORGE_CHECK(low <= high, "[rand] low {} exceeds high {}", low, high);
  Tensor t = empty(shape);
  float* p = t.data<float>();
  Generator& g = pick(gen);
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(low + (high - low) * g.uniform());
  return t;
}

Tensor randn(const Shape& shape, double mean, double stddev, Generator* gen) {
  FORGE_CHECK(stddev >= 0, "[randn] stddev must be non-negative, got {}", stddev);
  Tensor t = empty(shape);
  float* p = t.data<float>();
  Generator& g = pick(gen);
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(mean + stddev * g.normal());
  return t;
}

Tensor bernoulli(const Shape& shape, double p, Generator* gen) {
  FORGE_CHECK(p >= 0 && p <= 1, "[bernoulli] probability must be in [0, 1], got {}", p);
  Tensor t = empty(shape);
  float* out = t.data<float>();
  Generator& g = pick(gen);
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = g.uniform() < p ? 1.0f : 0.0f;
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen) {
  FORGE_CHECK(low < high, "[randint] low {} must be below high {}", low, high);
  Tensor t = empty(shape, DType::kI64);
  int64_t* out = t.data<int64_t>();
  Generator& g = pick(gen);
  for (int64_t i = 0; i < t.numel(); ++i) out[i] = low + static_cast<int64_t>(g.below(static_cast<uint64_t>(high - low)));
  return t;
}

Tensor randperm(int64_t n, Generator* gen) {
  FORGE_CHECK(n >= 0, "[randperm] n must be non-negative, got {}", n);
  Tensor t = arange(0, static_cast<double>(n), 1, DType::kI64);
  int64_t* p = t.data<int64_t>();
  Generator& g = pick(gen);
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
    const int64_t j = static_cast<int64_t>(g.below(static_cast<uint64_t>(i + 1)));
    std::swap(p[i], p[j]);
  }
  return t;
}

}  // namespace forge
