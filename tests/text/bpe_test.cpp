#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "data/fortunes.h"
#include "formats/gguf.h"
#include "test_util.h"
#include "text/bpe.h"
#include "text_test_util.h"

namespace forge::text {
namespace {

std::vector<std::string> pieces(PreTokenizer pre, std::string_view text) {
  std::vector<std::string> out;
  for (auto [b, e] : pre_tokenize(pre, text)) out.emplace_back(text.substr(b, e - b));
  return out;
}

using V = std::vector<std::string>;

TEST(PreTokenize, Gpt2) {
  EXPECT_EQ(pieces(PreTokenizer::kGpt2, "Hello world, it's 2024!"),
            (V{"Hello", " world", ",", " it", "'s", " 2024", "!"}));
  EXPECT_EQ(pieces(PreTokenizer::kGpt2, "a   b\n\nc  "), (V{"a", "  ", " b", "\n", "\n", "c", "  "}));
  EXPECT_EQ(pieces(PreTokenizer::kGpt2, "x\tyé中文 😀"), (V{"x", "\t", "yé中文", " 😀"}));
  EXPECT_EQ(pieces(PreTokenizer::kGpt2, "''s'S"), (V{"''", "s", "'", "S"}));
}

TEST(PreTokenize, Llama3) {
  EXPECT_EQ(pieces(PreTokenizer::kLlama3, "Hello world, it'S 12345!"),
            (V{"Hello", " world", ",", " it", "'S", " ", "123", "45", "!"}));
  EXPECT_EQ(pieces(PreTokenizer::kLlama3, "(hi)\n\n  x  "), (V{"(hi", ")\n\n", " ", " x", "  "}));
  EXPECT_EQ(pieces(PreTokenizer::kLlama3, "a \n\n b"), (V{"a", " \n\n", " b"}));
}

TEST(PreTokenize, SmolLmIsolatesDigits) {
  EXPECT_EQ(pieces(PreTokenizer::kSmolLm, "abc 123x"), (V{"abc", " ", "1", "2", "3", "x"}));
}

TEST(PreTokenize, InvalidBytesAreCovered) {
  const std::string bad = "a\xFF\xFE b";
  size_t covered = 0;
  for (auto [b, e] : pre_tokenize(PreTokenizer::kGpt2, bad)) {
    EXPECT_EQ(b, covered);
    covered = e;
  }
  EXPECT_EQ(covered, bad.size());
}

TEST(PreTokenize, UnknownNameThrows) {
  EXPECT_THROW_MSG(pre_tokenizer_from_name("qwen9"), "unknown pre-tokenizer 'qwen9'");
}

TEST(ByteLevel, MappingIsGpt2s) {
  EXPECT_EQ(bytes_to_byte_level(" hello\n"), "\xC4\xA0hello\xC4\x8A");  // Ġhello Ċ
  for (int b = 0; b < 256; ++b) {
    const auto cps = utf8_decode(byte_to_unicode()[static_cast<size_t>(b)]);
    ASSERT_EQ(cps.size(), 1u);
    EXPECT_EQ(unicode_to_byte(cps[0]), b);
  }
}

// A small trained tokenizer shared by the tests below.
std::shared_ptr<BpeTokenizer> small_trained(PreTokenizer pre = PreTokenizer::kGpt2) {
  static std::map<PreTokenizer, std::shared_ptr<BpeTokenizer>> cache;
  auto& t = cache[pre];
  if (!t) {
    auto en = load_fortunes();
    std::vector<std::string> corpus(en.texts.begin(), en.texts.begin() + 3000);
    auto zh = load_fortunes_zh();
    corpus.insert(corpus.end(), zh.begin(), zh.begin() + 100);
    BpeTrainOptions options;
    options.vocab_size = 1500;
    options.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    options.pre_tokenizer = pre;
    t = BpeTokenizer::train(corpus, options);
  }
  return t;
}

TEST(BpeTrain, ReachesVocabSizeDeterministicallyWithProgress) {
  const std::vector<std::string> corpus = {"low lower lowest", "newer newest wider", "low low low"};
  BpeTrainOptions options;
  options.vocab_size = 270;
  options.min_frequency = 1;
  std::vector<int32_t> seen;
  options.progress_every = 1;
  options.progress = [&](int32_t now, int32_t target) {
    EXPECT_EQ(target, 270);
    seen.push_back(now);
  };
  auto a = BpeTokenizer::train(corpus, options);
  auto b = BpeTokenizer::train(corpus, options);
  EXPECT_EQ(a->vocab_size(), 270);
  EXPECT_EQ(a->merges(), b->merges());
  EXPECT_EQ(a->to_json(), b->to_json());
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 270);
  // The most frequent pair is learned first: "l o" (6 times) beats "o w" (6) on the tie-break.
  EXPECT_EQ(a->merges()[0], (std::pair<std::string, std::string>{"l", "o"}));
  EXPECT_EQ(a->encode("low"), a->encode("low"));
  EXPECT_EQ(a->encode("low").size(), 1u);
}

TEST(BpeTrain, StopsAtMinFrequency) {
  BpeTrainOptions options;
  options.vocab_size = 5000;
  options.min_frequency = 2;
  auto t = BpeTokenizer::train({"abc abd"}, options);
  EXPECT_LT(t->vocab_size(), 300);
}

TEST(BpeTrain, BadInputThrows) {
  BpeTrainOptions options;
  options.vocab_size = 100;
  EXPECT_THROW_MSG(BpeTokenizer::train({"abc"}, options), "vocab_size 100 is below the 256 byte tokens");
  options.vocab_size = 300;
  EXPECT_THROW_MSG(BpeTokenizer::train({}, options), "corpus is empty");
  EXPECT_THROW_MSG(BpeTokenizer::train({"", ""}, options), "has no text");
}

TEST(BpeTrain, FortunesSpeed) {
  auto en = load_fortunes();
  const auto start = std::chrono::steady_clock::now();
  BpeTrainOptions options;
  options.vocab_size = 8000;
  auto t = BpeTokenizer::train(en.texts, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(t->vocab_size(), 8000);
  std::printf("[ bpe train ] fortunes (%zu quotes) to 8000 tokens in %.2f s\n", en.texts.size(), seconds);
  EXPECT_LT(seconds, 30.0);  // seconds on an idle machine; loose for a shared 2-core box
}

TEST(Bpe, RoundTripRandomUtf8) {
  auto t = small_trained();
  std::mt19937 rng(1234);
  for (int i = 0; i < 3000; ++i) {
    const std::string s = test::random_utf8(rng, 40);
    const auto ids = t->encode(s);
    ASSERT_EQ(t->decode(ids), s) << "case " << i;
    // Streaming decode concatenates to the same text.
    std::string streamed;
    std::vector<int32_t> prev;
    for (int32_t id : ids) {
      streamed += t->decode_next(prev, id);
      prev.push_back(id);
    }
    ASSERT_EQ(streamed, s) << "case " << i;
  }
}

TEST(Bpe, SpecialTokensMatchedFirstAndSkippable) {
  auto t = small_trained();
  const auto im_start = *t->token_to_id("<|im_start|>");
  const auto ids = t->encode("<|im_start|>user hi<|im_end|>");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), im_start);
  EXPECT_EQ(ids.back(), *t->token_to_id("<|im_end|>"));
  EXPECT_EQ(t->decode(ids, /*skip_special_tokens=*/true), "user hi");
  EXPECT_EQ(t->decode(ids), "<|im_start|>user hi<|im_end|>");
  EXPECT_EQ(t->special_tokens().eos, t->token_to_id("<|endoftext|>"));
}

TEST(Bpe, OutOfRangeIdsThrow) {
  auto t = small_trained();
  EXPECT_THROW_MSG(t->decode({t->vocab_size()}), "outside the vocabulary");
  EXPECT_THROW_MSG(t->id_to_token(-1), "token id -1 outside the vocabulary");
}

TEST(Bpe, SaveLoadRoundTrip) {
  auto t = small_trained(PreTokenizer::kSmolLm);
  const auto dir = test::temp_dir("bpe_save");
  const auto path = (dir / "tokenizer.json").string();
  t->save(path);
  auto loaded = load_tokenizer_json(path);
  EXPECT_EQ(loaded->kind(), "bpe");
  EXPECT_EQ(loaded->vocab_size(), t->vocab_size());
  const std::string text = "Chinese 床前明月光 and 42 emoji 😀 <|im_end|>";
  EXPECT_EQ(loaded->encode(text), t->encode(text));
  EXPECT_EQ(dynamic_cast<const BpeTokenizer&>(*loaded).pre_tokenizer(), PreTokenizer::kSmolLm);
  std::filesystem::remove_all(dir);
}

TEST(Bpe, FromVocabAndMergesErrors) {
  EXPECT_THROW_MSG(BpeTokenizer({}, {}, {}, "gpt2", {}), "vocabulary is empty");
  EXPECT_THROW_MSG(BpeTokenizer({"a", "b"}, {"a c"}, {}, "gpt2", {}), "merge 0 'a c' uses a token missing");
  EXPECT_THROW_MSG(BpeTokenizer({"a", "b", "ab"}, {"ab"}, {}, "gpt2", {}), "is not 'left right'");
  EXPECT_THROW_MSG(BpeTokenizer({"a"}, {}, {1, 1}, "gpt2", {}), "2 token types for 1 tokens");
  EXPECT_THROW_MSG(BpeTokenizer({"a"}, {}, {}, "nope", {}), "unknown pre-tokenizer 'nope'");
  SpecialTokens special;
  special.eos = 7;
  EXPECT_THROW_MSG(BpeTokenizer({"a"}, {}, {}, "gpt2", special), "eos token id 7 outside");
  // A byte with no token and no unknown token is dropped (as HF tokenizers does).
  BpeTokenizer tiny({"a"}, {}, {}, "gpt2", {});
  EXPECT_EQ(tiny.encode("bab"), (std::vector<int32_t>{0}));
}

// SmolLM2's GGUF-embedded vocabulary against references from Hugging Face tokenizers
// (tools/text/gen_tokenizer_refs.py).
std::shared_ptr<BpeTokenizer> smollm2() {
  static std::shared_ptr<BpeTokenizer> t;
  if (t) return t;
  std::string path;
  for (const auto& e : std::filesystem::directory_iterator(test::models_dir() + "/smollm2-135m-instruct")) {
    if (e.path().extension() == ".gguf") path = e.path().string();
  }
  if (path.empty()) {
    ADD_FAILURE() << "no SmolLM2 GGUF under " << test::models_dir() << "; run scripts/fetch_models.sh";
    return nullptr;
  }
  const GgufFile file = load_gguf(path);
  std::vector<int32_t> types;
  for (int64_t v : file.at("tokenizer.ggml.token_type").as_ints()) types.push_back(static_cast<int32_t>(v));
  SpecialTokens special;
  special.bos = static_cast<int32_t>(file.get_int("tokenizer.ggml.bos_token_id", -1));
  special.eos = static_cast<int32_t>(file.get_int("tokenizer.ggml.eos_token_id", -1));
  t = std::make_shared<BpeTokenizer>(file.at("tokenizer.ggml.tokens").as_strings(),
                                     file.at("tokenizer.ggml.merges").as_strings(), types,
                                     file.get_string("tokenizer.ggml.pre", "gpt2"), special,
                                     file.get_int("tokenizer.ggml.add_bos_token", 0) != 0);
  return t;
}

TEST(BpeGguf, SmolLm2MatchesHuggingFace) {
  auto t = smollm2();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->vocab_size(), 49152);
  EXPECT_EQ(t->pre_tokenizer(), PreTokenizer::kSmolLm);
  const auto refs = nlohmann::json::parse(test::read_file(std::string(FORGE_TEST_DATA_DIR) +
                                                          "/text/data/smollm2_tokenizer_refs.json"));
  ASSERT_GT(refs["cases"].size(), 20u);
  for (const auto& c : refs["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(t->encode(text), c["ids"].get<std::vector<int32_t>>()) << "text: " << text;
    EXPECT_EQ(t->decode(t->encode(text)), text);
  }
  EXPECT_EQ(t->encode("<|im_start|>")[0], 1);
  EXPECT_EQ(t->decode(t->encode("<|im_start|>hi<|im_end|>"), true), "hi");
}

TEST(BpeGguf, SmolLm2RoundTripRandomUtf8) {
  auto t = smollm2();
  ASSERT_TRUE(t);
  std::mt19937 rng(99);
  for (int i = 0; i < 2000; ++i) {
    // SmolLM2 lacks 21 byte tokens (F1-F7 leads among them): stay off the rare planes.
    const std::string s = test::random_utf8(rng, 30, /*all_planes=*/false);
    ASSERT_EQ(t->decode(t->encode(s)), s) << "case " << i;
  }
}

}  // namespace
}  // namespace forge::text
