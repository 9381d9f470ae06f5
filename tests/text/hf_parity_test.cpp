// Parity with the Hugging Face `tokenizers` library (pinned in tools/requirements-test.txt), run
// live through tools/text/hf_encode.py: a BPE trained here and saved as tokenizer.json, and
// MiniLM's tokenizer.json / vocab.txt.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/fortunes.h"
#include "text/bpe.h"
#include "text/wordpiece.h"
#include "text_test_util.h"

namespace forge::text {
namespace {

std::string repeated(std::initializer_list<std::pair<char, size_t>> runs) {
  std::string s;
  for (auto [c, n] : runs) s.append(n, c);
  return s;
}

const std::vector<std::string>& fixed_texts() {
  static const std::vector<std::string> texts = {
      "Hello, world! The quick brown fox jumps over the lazy dog.",
      "I'm sure you'll see they've done it; we'd LOVE it, isn't it? DON'T",
      "Numbers: 3.14159, 2024-11-23, 1,000,000 and x86_64 0xDEADBEEF 1234567",
      "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
      "日本語のテキストと한국어 텍스트 and Ünïcödé àccents, naïve café, Straße",
      "Emoji: 😀👍🏽🇫🇷 👨‍👩‍👧‍👦 ❤️ 🤖",
      "def f(x):\n    return x ** 2  # square\n\n\nprint(f(3))\r\n",
      "   leading and trailing   ",
      "tabs\tand\t\tnewlines\n\n\nand \n\n spaces\u00a0\u3000x",
      "<|im_start|>user\nhi<|im_end|><|endoftext|> <|im_start|",
      "(parens) [brackets] {braces} 'quotes' \"double\" `back`",
      "",
      " ",
      "\n",
      "[CLS] already [SEP] here [MASK] and [UNK] [PAD]",
      "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ and ligature ﬁ ﬂ and Ⅻ ½",
      std::string("a").append(150, 'b').append(" short"),  // (not "a" + ...: GCC 12 -Wrestrict false positive)
      // Long pieces take the heap merge path.
      "supercalifragilisticexpialidocious"
      "antidisestablishmentarianism"
      "pneumonoultramicroscopic"
      "thequickbrownfoxjumpsoverthelazydog",
      "床前明月光疑是地上霜举头望明月低头思故乡白日依山尽黄河入海流欲穷千里目更上一层楼",
      repeated({{' ', 300}, {'x', 1}, {'\n', 200}, {'!', 100}}),
      "1234567890123456789012345678901234567890123456789012345678901234567890",
  };
  return texts;
}

std::vector<std::string> with_random(size_t n, uint32_t seed, bool all_planes, bool assigned_only = false) {
  std::vector<std::string> texts = fixed_texts();
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) texts.push_back(test::random_utf8(rng, 30, all_planes, assigned_only));
  return texts;
}

void expect_same_ids(const Tokenizer& ours, const nlohmann::json& hf, const std::vector<std::string>& texts,
                     bool add_special_tokens) {
  ASSERT_TRUE(hf.contains("ids")) << "no output from hf_encode.py";
  ASSERT_EQ(hf["ids"].size(), texts.size());
  int mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto expected = hf["ids"][i].get<std::vector<int32_t>>();
    const auto got = ours.encode(texts[i], add_special_tokens);
    if (got != expected && ++mismatches <= 5) {
      ADD_FAILURE() << "case " << i << " text '" << texts[i] << "'\n ours: " << nlohmann::json(got).dump()
                    << "\n   hf: " << nlohmann::json(expected).dump();
    }
  }
  EXPECT_EQ(mismatches, 0);
}

class TrainedBpeParity : public ::testing::TestWithParam<PreTokenizer> {};

TEST_P(TrainedBpeParity, SavedTokenizerJsonEncodesIdenticallyInHuggingFace) {
  auto en = load_fortunes();
  std::vector<std::string> corpus(en.texts.begin(), en.texts.begin() + 4000);
  auto zh = load_fortunes_zh();
  corpus.insert(corpus.end(), zh.begin(), zh.begin() + 150);
  corpus.push_back("def f(x):\n    return x ** 2\n\n\n" + std::string(20, ' ') + "1234567890");
  BpeTrainOptions options;
  options.vocab_size = 2000;
  options.special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  options.pre_tokenizer = GetParam();
  auto ours = BpeTokenizer::train(corpus, options);
  const auto dir = test::temp_dir("bpe_parity_" + pre_tokenizer_name(GetParam()));
  const auto path = (dir / "tokenizer.json").string();
  ours->save(path);
  const auto texts = with_random(1500, 7, /*all_planes=*/true);
  const auto hf = test::hf_encode({{"kind", "json"}, {"path", path}, {"texts", texts}}, "bpe_hf");
  expect_same_ids(*ours, hf, texts, false);
  // HF decodes our ids back to the original text, too (lossless byte-level BPE).
  for (size_t i = 0; i < texts.size() && hf.contains("decoded"); ++i) {
    ASSERT_EQ(hf["decoded"][i].get<std::string>(), texts[i]) << "case " << i;
  }
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(PreTokenizers, TrainedBpeParity,
                         ::testing::Values(PreTokenizer::kGpt2, PreTokenizer::kLlama3, PreTokenizer::kSmolLm),
                         [](const auto& info) {
                           std::string name = pre_tokenizer_name(info.param);
                           return name == "llama-bpe" ? std::string("llama3") : name;
                         });

// The GGUF path: a vocabulary rebuilt from tokens + "left right" merges + token types with the
// "llama-bpe" pre-tokenizer (which also turns on Llama-3's ignore_merges), saved and compared.
TEST(GgufStyleBpeParity, Llama3VocabularyFromTokensAndMerges) {
  auto en = load_fortunes();
  std::vector<std::string> corpus(en.texts.begin(), en.texts.begin() + 3000);
  BpeTrainOptions options;
  options.vocab_size = 1500;
  options.special_tokens = {"<|begin_of_text|>", "<|end_of_text|>"};
  options.pre_tokenizer = PreTokenizer::kLlama3;
  auto trained = BpeTokenizer::train(corpus, options);
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int32_t id = 0; id < trained->vocab_size(); ++id) {
    tokens.push_back(trained->id_to_token(id));
    types.push_back(id < 2 ? 3 : 1);
  }
  std::vector<std::string> merges;
  for (const auto& [l, r] : trained->merges()) {
    std::string m = l;  // (not l + " " + r: GCC 12 warns falsely on that, -Wrestrict)
    m += ' ';
    m += r;
    merges.push_back(std::move(m));
  }
  SpecialTokens special;
  special.bos = 0;
  special.eos = 1;
  BpeTokenizer ours(tokens, merges, types, "llama-bpe", special, /*add_bos=*/true);
  EXPECT_EQ(ours.encode("hi", true).front(), 0);
  const auto dir = test::temp_dir("llama3_parity");
  const auto path = (dir / "tokenizer.json").string();
  ours.save(path);
  const auto texts = with_random(1000, 21, /*all_planes=*/true);
  for (bool add : {false, true}) {
    const auto hf =
        test::hf_encode({{"kind", "json"}, {"path", path}, {"texts", texts}, {"add_special_tokens", add}}, "llama3_hf");
    expect_same_ids(ours, hf, texts, add);
  }
  std::filesystem::remove_all(dir);
}

std::string minilm_dir() { return test::models_dir() + "/all-minilm-l6-v2"; }

TEST(WordPieceParity, MiniLmTokenizerJson) {
  const std::string path = minilm_dir() + "/tokenizer.json";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; run scripts/fetch_models.sh";
  auto ours = load_tokenizer_json(path);
  EXPECT_EQ(ours->kind(), "wordpiece");
  // The BERT normalizer drops unassigned (Cn) characters and accents (Mn): our tables are
  // Unicode 14 (Python's unicodedata) while HF mixes older (unicode_categories: Mn, P, C) and
  // newer (Rust std) tables, so random text stays within the BMP, emoji and characters assigned
  // in Unicode 14 (e.g. U+1E003, Mn since Unicode 9, is kept by HF's strip_accents).
  const auto texts = with_random(800, 11, /*all_planes=*/false, /*assigned_only=*/true);
  for (bool add : {false, true}) {
    const auto hf = test::hf_encode({{"kind", "json"}, {"path", path}, {"texts", texts}, {"add_special_tokens", add}},
                                    "minilm_json");
    expect_same_ids(*ours, hf, texts, add);
  }
}

TEST(WordPieceParity, MiniLmVocabTxt) {
  const std::string path = minilm_dir() + "/vocab.txt";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; run scripts/fetch_models.sh";
  auto ours = WordPieceTokenizer::from_vocab_file(path);
  const auto texts = with_random(400, 12, /*all_planes=*/false, /*assigned_only=*/true);
  const auto hf = test::hf_encode(
      {{"kind", "vocab"}, {"path", path}, {"lowercase", true}, {"texts", texts}, {"add_special_tokens", true}},
      "minilm_vocab");
  expect_same_ids(*ours, hf, texts, true);
  // Decoding matches HF's WordPiece decoder on ordinary text.
  const auto ids = ours->encode(fixed_texts()[0], true);
  EXPECT_EQ(ours->decode(ids, true), "hello, world! the quick brown fox jumps over the lazy dog.");
}

}  // namespace
}  // namespace forge::text
