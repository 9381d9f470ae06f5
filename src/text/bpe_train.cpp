// Byte-level BPE training with incremental pair counts: each merge only revisits the words that
// contain the merged pair (HF tokenizers' BpeTrainer does the same).
#include <algorithm>
#include <queue>
#include <unordered_set>

#include "core/error.h"
#include "text/bpe.h"

namespace forge::text {

namespace {

uint64_t key_of(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}
int32_t left_of(uint64_t k) { return static_cast<int32_t>(k >> 32); }
int32_t right_of(uint64_t k) { return static_cast<int32_t>(k & 0xFFFFFFFFu); }

}  // namespace

std::shared_ptr<BpeTokenizer> BpeTokenizer::train(const std::vector<std::string>& texts,
                                                  const BpeTrainOptions& options) {
  const auto n_special = static_cast<int32_t>(options.special_tokens.size());
  FORGE_CHECK(options.vocab_size >= 256 + n_special,
              "[bpe_train] vocab_size {} is below the 256 byte tokens plus {} special tokens",
              options.vocab_size, n_special);
  FORGE_CHECK(!texts.empty(), "[bpe_train] the corpus is empty");
  FORGE_CHECK(options.min_frequency >= 1, "[bpe_train] min_frequency must be >= 1, got {}",
              options.min_frequency);

  // Vocabulary: special tokens, then the 256 byte characters in byte order.
  std::vector<std::string> tokens;
  Config config;
  for (int32_t i = 0; i < n_special; ++i) {
    const std::string& s = options.special_tokens[static_cast<size_t>(i)];
    FORGE_CHECK(!s.empty(), "[bpe_train] special token {} is empty", i);
    AddedToken t;
    t.id = i;
    t.content = s;
    config.added_tokens.push_back(t);
    tokens.push_back(s);
  }
  for (const auto& ch : byte_to_unicode()) tokens.push_back(ch);
  config.vocab.reserve(static_cast<size_t>(options.vocab_size) * 2);
  for (size_t i = 0; i < tokens.size(); ++i) {
    FORGE_CHECK(config.vocab.emplace(tokens[i], static_cast<int32_t>(i)).second,
                "[bpe_train] special token '{}' is also a byte token", tokens[i]);
  }

  // Word frequencies over the pre-tokenized corpus (special tokens in the text stay whole and
  // are not learned from).
  AddedTokenMatcher matcher(config.added_tokens);
  std::unordered_map<std::string, int64_t> counts;
  int64_t total_bytes = 0;
  for (const auto& text : texts) {
    total_bytes += static_cast<int64_t>(text.size());
    for (const auto& segment : matcher.split(text)) {
      if (segment.id >= 0) continue;
      for (const auto& [b, e] : pre_tokenize(options.pre_tokenizer, segment.text)) {
        ++counts[std::string(segment.text.substr(b, e - b))];
      }
    }
  }
  FORGE_CHECK(total_bytes > 0, "[bpe_train] the corpus has no text ({} empty documents)", texts.size());
  // Sorted words make every later step independent of hash order.
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int32_t>> words(sorted.size());
  std::vector<int64_t> freq(sorted.size());
  for (size_t w = 0; w < sorted.size(); ++w) {
    freq[w] = sorted[w].second;
    for (char ch : sorted[w].first) words[w].push_back(n_special + static_cast<unsigned char>(ch));
  }

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // words containing the pair
  for (size_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = key_of(s[i], s[i + 1]);
      pair_count[k] += freq[w];
      auto& list = where[k];
      if (list.empty() || list.back() != static_cast<int32_t>(w)) list.push_back(static_cast<int32_t>(w));
    }
  }

  // Max-heap on (count, then the smaller (left, right) strings first); stale entries are skipped.
  struct Entry {
    int64_t count;
    uint64_t pair;
  };
  auto less = [&tokens](const Entry& a, const Entry& b) {
    if (a.count != b.count) return a.count < b.count;
    const auto& al = tokens[static_cast<size_t>(left_of(a.pair))];
    const auto& bl = tokens[static_cast<size_t>(left_of(b.pair))];
    if (al != bl) return al > bl;
    return tokens[static_cast<size_t>(right_of(a.pair))] > tokens[static_cast<size_t>(right_of(b.pair))];
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(less)> heap(less);
  for (const auto& [k, c] : pair_count) heap.push({c, k});

  std::unordered_map<uint64_t, int64_t> delta;
  auto report = [&] {
    if (options.progress) options.progress(static_cast<int32_t>(tokens.size()), options.vocab_size);
  };
  int32_t merges_done = 0;
  while (static_cast<int32_t>(tokens.size()) < options.vocab_size && !heap.empty()) {
    const Entry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    if (it == pair_count.end() || it->second != top.count) continue;  // stale
    if (top.count < options.min_frequency) break;
    const int32_t a = left_of(top.pair), b = right_of(top.pair);
    const auto new_id = static_cast<int32_t>(tokens.size());
    std::string merged = tokens[static_cast<size_t>(a)] + tokens[static_cast<size_t>(b)];
    if (config.vocab.count(merged)) {
      // Two different pairs can spell the same token; keep the first id.
      pair_count.erase(it);
      continue;
    }
    tokens.push_back(merged);
    config.vocab.emplace(std::move(merged), new_id);
    config.merges.emplace_back(tokens[static_cast<size_t>(a)], tokens[static_cast<size_t>(b)]);
    delta.clear();
    std::vector<int32_t> affected = std::move(where[top.pair]);
    where.erase(top.pair);
    for (int32_t w : affected) {
      auto& s = words[static_cast<size_t>(w)];
      const int64_t f = freq[static_cast<size_t>(w)];
      bool found = false;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] == a && s[i + 1] == b) found = true;
      }
      if (!found) continue;
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[key_of(s[i], s[i + 1])] -= f;
      std::vector<int32_t> next;
      next.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          next.push_back(new_id);
          ++i;
        } else {
          next.push_back(s[i]);
        }
      }
      s = std::move(next);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const uint64_t k = key_of(s[i], s[i + 1]);
        delta[k] += f;
        if (s[i] == new_id || s[i + 1] == new_id) {
          auto& list = where[k];
          if (list.empty() || list.back() != w) list.push_back(w);
        }
      }
    }
    // Apply in sorted key order so the heap sees the same pushes on every run.
    std::vector<std::pair<uint64_t, int64_t>> changes(delta.begin(), delta.end());
    std::sort(changes.begin(), changes.end());
    for (const auto& [k, d] : changes) {
      if (d == 0) continue;
      int64_t& c = pair_count[k];
      c += d;
      if (c <= 0) {
        pair_count.erase(k);
      } else {
        heap.push({c, k});
      }
    }
    pair_count.erase(top.pair);
    if (++merges_done % std::max(1, options.progress_every) == 0) report();
  }
  report();
  config.pre_tokenizer = options.pre_tokenizer;
  for (const auto& t : config.added_tokens) {
    if (t.content == "<|endoftext|>") {
      config.special.bos = t.id;
      config.special.eos = t.id;
    }
  }
  return std::make_shared<BpeTokenizer>(std::move(config));
}

}  // namespace forge::text
