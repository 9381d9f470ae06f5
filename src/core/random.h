#pragma once
// Seedable random numbers. Generator is xoshiro256** seeded through splitmix64: fast,
// identical on every platform, and its whole state can be saved in a checkpoint.
#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace forge {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5eed) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();                            // [0, 1)
  double normal();                             // standard normal (Box-Muller)
  uint64_t below(uint64_t n);                  // uniform integer in [0, n)

  struct State {
    std::array<uint64_t, 4> s;
    double spare_normal;
    bool has_spare;
  };
  State state() const { return {s_, spare_, has_spare_}; }
  void set_state(const State& state);

 private:
  std::array<uint64_t, 4> s_{};
  double spare_ = 0;
  bool has_spare_ = false;
};

// The process-wide generator used when none is passed.
Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor randn(const Shape& shape, double mean = 0.0, double stddev = 1.0, Generator* gen = nullptr);
// Elements are 1 with probability p, else 0 (float32).
Tensor bernoulli(const Shape& shape, double p, Generator* gen = nullptr);
// Integers uniform in [low, high) (int64).
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen = nullptr);
// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, Generator* gen = nullptr);

}  // namespace forge
