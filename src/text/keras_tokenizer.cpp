#include "text/keras_tokenizer.h"

#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "data/text.h"

namespace forge::text {

namespace {

// Length of the UTF-8 sequence starting with byte `b` (the text is validated beforehand).
size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xe) return 3;
  return 4;
}

uint32_t decode(const std::string& s, size_t i, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + i);
  if (n == 1) return p[0];
  if (n == 2) return ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
  if (n == 3) return ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
  return ((p[0] & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
}

void encode(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// Python's str.lower() for the scripts listed in the header.
uint32_t to_lower(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xc0) return c;
  if ((c >= 0xc0 && c <= 0xde && c != 0xd7)) return c + 32;  // Latin-1 capitals
  if (c >= 0x100 && c <= 0x137 && c % 2 == 0 && c != 0x130) return c + 1;
  if (c == 0x130) return 'i';  // Python maps İ to "i̇"; the combining dot is dropped here
  if (c >= 0x139 && c <= 0x148 && c % 2 == 1) return c + 1;
  if (c >= 0x14a && c <= 0x177 && c % 2 == 0) return c + 1;
  if (c == 0x178) return 0xff;
  if (c == 0x179 || c == 0x17b || c == 0x17d) return c + 1;
  if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) return c + 32;  // Greek
  if (c >= 0x410 && c <= 0x42f) return c + 32;                // Cyrillic
  if (c >= 0x400 && c <= 0x40f) return c + 80;
  return c;
}

// Code points of `text`; throws for invalid UTF-8.
std::vector<uint32_t> code_points(const std::string& text) {
  const size_t bad = find_invalid_utf8(text);
  FORGE_CHECK(bad == std::string::npos, "[keras_tokenizer] text is not valid UTF-8 (byte 0x{:02x} at offset {})",
              static_cast<unsigned char>(text[bad]), bad);
  std::vector<uint32_t> out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = utf8_len(static_cast<unsigned char>(text[i]));
    out.push_back(decode(text, i, n));
    i += n;
  }
  return out;
}

}  // namespace

KerasTokenizer::KerasTokenizer(KerasTokenizerOptions options) : options_(std::move(options)) {
  FORGE_CHECK(options_.num_words >= 0, "[keras_tokenizer] num_words must be >= 0 (0 = all words), got {}",
              options_.num_words);
  FORGE_CHECK(options_.char_level || !options_.split.empty(),
              "[keras_tokenizer] split must not be empty (unless char_level)");
  FORGE_CHECK(find_invalid_utf8(options_.filters) == std::string::npos, "[keras_tokenizer] filters are not valid UTF-8");
  FORGE_CHECK(!options_.oov_token || !options_.oov_token->empty(), "[keras_tokenizer] oov_token must not be empty");
}

std::vector<std::string> KerasTokenizer::tokenize(const std::string& text) const {
  std::vector<uint32_t> cps = code_points(text);
  if (options_.lower) {
    for (uint32_t& c : cps) c = to_lower(c);
  }
  std::vector<std::string> out;
  if (options_.char_level) {
    for (uint32_t c : cps) {
      out.emplace_back();
      encode(c, &out.back());
    }
    return out;
  }
  // Python: text.translate({filter: split}).split(split), then drop empty pieces.
  const std::vector<uint32_t> filters = code_points(options_.filters);
  const std::unordered_set<uint32_t> filter_set(filters.begin(), filters.end());
  std::string translated;
  translated.reserve(text.size());
  for (uint32_t c : cps) {
    if (filter_set.count(c)) {
      translated += options_.split;
    } else {
      encode(c, &translated);
    }
  }
  const std::string& sep = options_.split;
  size_t start = 0;
  while (true) {
    const size_t pos = translated.find(sep, start);
    const size_t end = pos == std::string::npos ? translated.size() : pos;
    if (end > start) out.push_back(translated.substr(start, end - start));
    if (pos == std::string::npos) break;
    start = pos + sep.size();
  }
  return out;
}

void KerasTokenizer::fit_on_texts(const std::vector<std::string>& texts) {
  for (const std::string& text : texts) {
    ++document_count_;
    const std::vector<std::string> seq = tokenize(text);
    std::unordered_set<std::string> seen;
    for (const std::string& w : seq) {
      auto it = count_pos_.find(w);
      if (it == count_pos_.end()) {
        count_pos_.emplace(w, word_counts_.size());
        word_counts_.emplace_back(w, 1);
      } else {
        ++word_counts_[it->second].second;
      }
      // word_docs: Keras iterates set(seq); only the counts matter, kept in first-seen order.
      if (seen.insert(w).second) {
        auto d = docs_pos_.find(w);
        if (d == docs_pos_.end()) {
          docs_pos_.emplace(w, word_docs_.size());
          word_docs_.emplace_back(w, 1);
        } else {
          ++word_docs_[d->second].second;
        }
      }
    }
  }
  rebuild_index();
}

void KerasTokenizer::rebuild_index() {
  // Python's sort is stable: equal counts keep their first-seen order.
  std::vector<std::pair<std::string, int64_t>> sorted = word_counts_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::string> vocab;
  vocab.reserve(sorted.size() + 1);
  if (options_.oov_token) vocab.push_back(*options_.oov_token);
  for (auto& [w, c] : sorted) vocab.push_back(w);
  // dict(zip(vocab, range(1, ...))): a repeated key (the oov token also seen as a word) takes
  // the later index; index_word = {i: w for w, i in word_index.items()}.
  word_index_.clear();
  index_word_.clear();
  for (size_t i = 0; i < vocab.size(); ++i) word_index_[vocab[i]] = static_cast<int64_t>(i) + 1;
  for (const auto& [w, i] : word_index_) index_word_[i] = w;
}

std::vector<std::pair<std::string, int64_t>> KerasTokenizer::word_docs() const { return word_docs_; }

int64_t KerasTokenizer::vocab_size() const {
  const auto all = static_cast<int64_t>(word_index_.size()) + 1;
  return options_.num_words > 0 ? std::min(options_.num_words, all) : all;
}

std::vector<std::vector<int64_t>> KerasTokenizer::texts_to_sequences(const std::vector<std::string>& texts) const {
  std::optional<int64_t> oov;
  if (options_.oov_token) {
    auto it = word_index_.find(*options_.oov_token);
    if (it != word_index_.end()) oov = it->second;
  }
  const int64_t num_words = options_.num_words;
  std::vector<std::vector<int64_t>> out;
  out.reserve(texts.size());
  for (const std::string& text : texts) {
    std::vector<int64_t> ids;
    for (const std::string& w : tokenize(text)) {
      auto it = word_index_.find(w);
      if (it != word_index_.end()) {
        if (num_words > 0 && it->second >= num_words) {
          if (oov) ids.push_back(*oov);
        } else {
          ids.push_back(it->second);
        }
      } else if (options_.oov_token && oov) {
        ids.push_back(*oov);
      }
    }
    out.push_back(std::move(ids));
  }
  return out;
}

std::vector<std::string> KerasTokenizer::sequences_to_texts(const std::vector<std::vector<int64_t>>& sequences) const {
  std::optional<std::string> oov_word;
  if (options_.oov_token) {
    auto it = word_index_.find(*options_.oov_token);
    if (it != word_index_.end()) oov_word = index_word_.at(it->second);
  }
  std::vector<std::string> out;
  for (const auto& seq : sequences) {
    std::vector<std::string> words;
    for (int64_t id : seq) {
      auto it = index_word_.find(id);
      const bool keep = it != index_word_.end() && !(options_.num_words > 0 && id >= options_.num_words);
      if (keep) {
        words.push_back(it->second);
      } else if (oov_word) {
        words.push_back(*oov_word);
      }
    }
    std::string joined;
    for (size_t i = 0; i < words.size(); ++i) joined += (i ? " " : "") + words[i];
    out.push_back(std::move(joined));
  }
  return out;
}

std::string KerasTokenizer::to_json() const {
  using ordered = nlohmann::ordered_json;
  // ordered_json's operator[] searches its keys linearly (quadratic over a 30k-word vocabulary,
  // ~10 s for the fortunes corpus); the keys here are unique, so append to the vector directly.
  auto append = [](ordered& obj, std::string key, ordered value) {
    auto& items = obj.get_ref<ordered::object_t&>();
    items.Container::emplace_back(std::move(key), std::move(value));
  };
  ordered counts = ordered::object(), docs = ordered::object(), index_docs = ordered::object();
  for (const auto& [w, c] : word_counts_) append(counts, w, c);
  for (const auto& [w, c] : word_docs_) {
    append(docs, w, c);
    append(index_docs, std::to_string(word_index_.at(w)), c);
  }
  // word_index in index order (as Keras's dict is built).
  ordered word_index = ordered::object(), index_word = ordered::object();
  for (const auto& [i, w] : index_word_) append(index_word, std::to_string(i), w);
  std::vector<std::pair<int64_t, std::string>> by_index;
  for (const auto& [w, i] : word_index_) by_index.emplace_back(i, w);
  std::sort(by_index.begin(), by_index.end());
  for (const auto& [i, w] : by_index) append(word_index, w, i);
  ordered config = {{"num_words", options_.num_words > 0 ? ordered(options_.num_words) : ordered(nullptr)},
                    {"filters", options_.filters},
                    {"lower", options_.lower},
                    {"split", options_.split},
                    {"char_level", options_.char_level},
                    {"oov_token", options_.oov_token ? ordered(*options_.oov_token) : ordered(nullptr)},
                    {"document_count", document_count_},
                    {"word_counts", counts.dump()},
                    {"word_docs", docs.dump()},
                    {"index_docs", index_docs.dump()},
                    {"index_word", index_word.dump()},
                    {"word_index", word_index.dump()}};
  return ordered({{"class_name", "Tokenizer"}, {"config", config}}).dump();
}

namespace {

// SAX handler for a flat JSON object {key: scalar, ...}: keeps the pairs in file order.
// Anything else (arrays, nested objects, a top-level scalar) marks the input as not flat.
struct FlatObjectReader {
  std::vector<std::pair<std::string, nlohmann::json>> items;
  std::string pending_key, error;
  int depth = 0;
  bool nested = false, seen_object = false;

  bool flat_object() const { return seen_object && !nested; }
  bool value(nlohmann::json v) {
    if (depth != 1) return nested = true, false;
    items.emplace_back(std::move(pending_key), std::move(v));
    return true;
  }
  bool null() { return value(nullptr); }
  bool boolean(bool v) { return value(v); }
  bool number_integer(nlohmann::json::number_integer_t v) { return value(v); }
  bool number_unsigned(nlohmann::json::number_unsigned_t v) { return value(v); }
  bool number_float(nlohmann::json::number_float_t v, const std::string&) { return value(v); }
  bool string(std::string& v) { return value(std::move(v)); }
  bool binary(nlohmann::json::binary_t&) { return nested = true, false; }
  bool start_object(std::size_t) {
    if (depth++ != 0) return nested = true, false;
    return seen_object = true;
  }
  bool end_object() { return --depth, true; }
  bool start_array(std::size_t) { return nested = true, false; }
  bool end_array() { return true; }
  bool key(std::string& k) { return pending_key = std::move(k), true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) {
    error = e.what();
    return false;
  }
};

}  // namespace

KerasTokenizer KerasTokenizer::from_json(const std::string& text) {
  using ordered = nlohmann::ordered_json;
  ordered root;
  try {
    root = ordered::parse(text);
  } catch (const std::exception& e) {
    fail("[keras_tokenizer] from_json: not valid JSON: {}", e.what());
  }
  FORGE_CHECK(root.is_object() && root.contains("config") && root["config"].is_object(),
              "[keras_tokenizer] from_json: expected {{\"class_name\": \"Tokenizer\", \"config\": {{...}}}}");
  const ordered& c = root["config"];
  // The inner dicts are flat {key: scalar} objects of ~30k entries: read them as a list of
  // (key, value) pairs in file order (ordered_json's parse would search its keys per insert).
  auto inner = [&](const char* key) {
    FORGE_CHECK(c.contains(key) && c[key].is_string(), "[keras_tokenizer] from_json: config.{} must be a JSON string",
                key);
    FlatObjectReader reader;
    const bool ok = nlohmann::json::sax_parse(c[key].get<std::string>(), &reader);
    FORGE_CHECK(reader.error.empty(), "[keras_tokenizer] from_json: config.{} is not valid JSON: {}", key, reader.error);
    FORGE_CHECK(ok && reader.flat_object(), "[keras_tokenizer] from_json: config.{} must hold a JSON object of scalars",
                key);
    return std::move(reader.items);
  };
  try {
    KerasTokenizerOptions o;
    o.num_words = c.value("num_words", ordered(nullptr)).is_null() ? 0 : c["num_words"].get<int64_t>();
    o.filters = c.value("filters", o.filters);
    o.lower = c.value("lower", true);
    o.split = c.value("split", std::string(" "));
    o.char_level = c.value("char_level", false);
    if (c.contains("oov_token") && !c["oov_token"].is_null()) o.oov_token = c["oov_token"].get<std::string>();
    KerasTokenizer t(o);
    t.document_count_ = c.value("document_count", int64_t{0});
    const auto counts = inner("word_counts"), docs = inner("word_docs"), word_index = inner("word_index"),
               index_word = inner("index_word");
    for (const auto& [w, n] : counts) {
      t.count_pos_[w] = t.word_counts_.size();
      t.word_counts_.emplace_back(w, n.get<int64_t>());
    }
    for (const auto& [w, n] : docs) {
      t.docs_pos_[w] = t.word_docs_.size();
      t.word_docs_.emplace_back(w, n.get<int64_t>());
    }
    for (const auto& [w, i] : word_index) t.word_index_[w] = i.get<int64_t>();
    for (const auto& [i, w] : index_word) t.index_word_[std::stoll(i)] = w.get<std::string>();
    return t;
  } catch (const nlohmann::json::exception& e) {
    fail("[keras_tokenizer] from_json: wrong value type: {}", e.what());
  } catch (const std::invalid_argument&) {
    fail("[keras_tokenizer] from_json: index_word keys must be integers");
  }
}

Tensor pad_sequences(const std::vector<std::vector<int64_t>>& sequences, const PadOptions& options) {
  FORGE_CHECK(options.padding == "pre" || options.padding == "post",
              "[pad_sequences] padding must be \"pre\" or \"post\", got \"{}\"", options.padding);
  FORGE_CHECK(options.truncating == "pre" || options.truncating == "post",
              "[pad_sequences] truncating must be \"pre\" or \"post\", got \"{}\"", options.truncating);
  FORGE_CHECK(options.maxlen == -1 || options.maxlen > 0, "[pad_sequences] maxlen must be positive or -1, got {}",
              options.maxlen);
  int64_t maxlen = options.maxlen;
  if (maxlen < 0) {
    maxlen = 0;
    for (const auto& s : sequences) maxlen = std::max<int64_t>(maxlen, static_cast<int64_t>(s.size()));
  }
  const auto n = static_cast<int64_t>(sequences.size());
  Tensor out = empty({n, maxlen}, DType::kI64);
  int64_t* o = out.data<int64_t>();
  std::fill(o, o + n * maxlen, options.value);
  for (int64_t r = 0; r < n; ++r) {
    const auto& s = sequences[static_cast<size_t>(r)];
    const auto len = static_cast<int64_t>(s.size());
    const int64_t keep = std::min(len, maxlen);
    const int64_t from = options.truncating == "pre" ? len - keep : 0;
    const int64_t to = options.padding == "pre" ? maxlen - keep : 0;
    std::copy(s.begin() + from, s.begin() + from + keep, o + r * maxlen + to);
  }
  return out;
}

}  // namespace forge::text
