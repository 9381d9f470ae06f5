#include "llm/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

// Order of the transforms (documented in docs/language_models.md):
//   repetition penalty -> temperature 0: argmax
//   else: logits / temperature -> top-k -> softmax -> top-p -> min-p -> renormalize -> draw.
namespace forge::llm {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

Sampler::Sampler(SamplingParams params) : params_(params), gen_(params.seed) {
  FORGE_CHECK(std::isfinite(params_.temperature) && params_.temperature >= 0.0f,
              "[sampler] temperature must be finite and >= 0 (0 = greedy), got {}", params_.temperature);
  FORGE_CHECK(params_.top_k >= 0, "[sampler] top_k must be >= 0 (0 = off), got {}", params_.top_k);
  FORGE_CHECK(params_.top_p > 0.0f && params_.top_p <= 1.0f, "[sampler] top_p must be in (0, 1] (1 = off), got {}",
              params_.top_p);
  FORGE_CHECK(params_.min_p >= 0.0f && params_.min_p <= 1.0f, "[sampler] min_p must be in [0, 1] (0 = off), got {}",
              params_.min_p);
  FORGE_CHECK(std::isfinite(params_.repetition_penalty) && params_.repetition_penalty > 0.0f,
              "[sampler] repetition_penalty must be > 0 (1 = off), got {}", params_.repetition_penalty);
  FORGE_CHECK(params_.repeat_last_n >= 0, "[sampler] repeat_last_n must be >= 0, got {}", params_.repeat_last_n);
}

int32_t Sampler::sample(const float* logits, int64_t vocab, const std::vector<int32_t>& history) {
  FORGE_CHECK(logits != nullptr && vocab > 0, "[sampler] need at least one logit, got vocab {}", vocab);
  if (static_cast<int64_t>(scratch_.size()) < vocab) {
    scratch_.resize(static_cast<size_t>(vocab));
    order_.resize(static_cast<size_t>(vocab));
  }
  float* x = scratch_.data();
  std::copy(logits, logits + vocab, x);

  // Repetition penalty (llama.cpp rule): each distinct id among the last repeat_last_n ids gets
  // its logit divided by the penalty when positive, multiplied when negative. Quadratic in the
  // window (64 by default), which keeps this allocation-free.
  if (params_.repetition_penalty != 1.0f && params_.repeat_last_n > 0 && !history.empty()) {
    const size_t n = std::min(history.size(), static_cast<size_t>(params_.repeat_last_n));
    const size_t begin = history.size() - n;
    for (size_t i = begin; i < history.size(); ++i) {
      const int32_t id = history[i];
      if (id < 0 || id >= vocab) continue;
      if (std::find(history.begin() + static_cast<std::ptrdiff_t>(begin),
                    history.begin() + static_cast<std::ptrdiff_t>(i), id) != history.begin() + static_cast<std::ptrdiff_t>(i))
        continue;  // already penalized
      float& v = x[id];
      v = v > 0.0f ? v / params_.repetition_penalty : v * params_.repetition_penalty;
    }
  }

  for (int64_t i = 0; i < vocab; ++i) {
    FORGE_CHECK(!std::isnan(x[i]), "[sampler] logit {} is NaN", i);
  }

  if (params_.temperature == 0.0f) {
    return static_cast<int32_t>(std::max_element(x, x + vocab) - x);  // first maximum on ties
  }

  // Candidates: ids sorted by logit, highest first (only the top k when top_k is set).
  int32_t* ord = order_.data();
  for (int64_t i = 0; i < vocab; ++i) ord[i] = static_cast<int32_t>(i);
  const auto by_logit = [x](int32_t a, int32_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); };
  int64_t n = vocab;
  if (params_.top_k > 0 && params_.top_k < vocab) {
    n = params_.top_k;
    std::partial_sort(ord, ord + n, ord + vocab, by_logit);
  } else if (params_.top_p < 1.0f || params_.min_p > 0.0f) {
    std::sort(ord, ord + vocab, by_logit);
  } else {
    n = vocab;  // plain sampling: no order needed
  }

  // Softmax over the candidates at this temperature; probabilities go into x[ord[i]].
  const float inv_t = 1.0f / params_.temperature;
  float max_logit = kNegInf;
  for (int64_t i = 0; i < n; ++i) max_logit = std::max(max_logit, x[ord[i]]);
  FORGE_CHECK(max_logit > kNegInf, "[sampler] every candidate logit is -inf");
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    float& v = x[ord[i]];
    v = std::exp((v - max_logit) * inv_t);
    total += v;
  }
  const float inv_total = static_cast<float>(1.0 / total);
  for (int64_t i = 0; i < n; ++i) x[ord[i]] *= inv_total;

  // Nucleus: the smallest prefix (in sorted order) whose mass reaches top_p.
  if (params_.top_p < 1.0f) {
    double cum = 0.0;
    int64_t keep = n;
    for (int64_t i = 0; i < n; ++i) {
      cum += x[ord[i]];
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  // min-p: drop candidates below min_p times the most likely one (the first, sorted).
  if (params_.min_p > 0.0f) {
    const float floor_p = params_.min_p * x[ord[0]];
    int64_t keep = 1;
    while (keep < n && x[ord[keep]] >= floor_p) ++keep;
    n = keep;
  }

  double mass = 0.0;
  for (int64_t i = 0; i < n; ++i) mass += x[ord[i]];
  const double r = gen_.uniform() * mass;
  double cum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    cum += x[ord[i]];
    if (r < cum) return ord[i];
  }
  return ord[n - 1];  // rounding: r landed at the very end
}

}  // namespace forge::llm
