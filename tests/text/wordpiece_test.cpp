#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"
#include "text/wordpiece.h"
#include "text_test_util.h"

namespace forge::text {
namespace {

std::vector<std::string> tiny_vocab() {
  return {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", ",",
          "world", "!", "中", "cafe", "##s"};
}

TEST(WordPiece, GreedyLongestMatchWithContinuations) {
  WordPieceTokenizer t(tiny_vocab());
  EXPECT_EQ(t.encode("unaffable"), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(t.encode("Hello, WORLD!"), (std::vector<int32_t>{8, 9, 10, 11}));
  EXPECT_EQ(t.encode("hello", true), (std::vector<int32_t>{2, 8, 3}));
  EXPECT_EQ(t.encode("unknownword hello"), (std::vector<int32_t>{1, 8}));  // whole word -> [UNK]
  EXPECT_EQ(t.encode("Cafés 中"), (std::vector<int32_t>{13, 14, 12}));     // accents stripped
  EXPECT_EQ(t.encode("[CLS] hello [SEP]"), (std::vector<int32_t>{2, 8, 3}));
  EXPECT_EQ(t.special_tokens().cls, 2);
  EXPECT_EQ(t.special_tokens().unk, 1);
}

TEST(WordPiece, NormalizerSteps) {
  WordPieceTokenizer t(tiny_vocab());
  EXPECT_EQ(t.normalize("A\tB\x01\xE4\xB8\xADÉ"), "a b 中 e");
  WordPieceOptions cased;
  cased.lowercase = false;
  WordPieceTokenizer keep(tiny_vocab(), cased);
  EXPECT_EQ(keep.normalize("Éa"), "Éa");  // strip_accents follows lowercase unless set
}

TEST(WordPiece, MaxInputCharsPerWord) {
  WordPieceOptions options;
  options.max_input_chars_per_word = 4;
  WordPieceTokenizer t(tiny_vocab(), options);
  EXPECT_EQ(t.encode("hello"), (std::vector<int32_t>{1}));
  EXPECT_EQ(t.encode("cafe"), (std::vector<int32_t>{13}));
}

TEST(WordPiece, DecodeGluesContinuations) {
  WordPieceTokenizer t(tiny_vocab());
  EXPECT_EQ(t.decode({2, 5, 6, 7, 9, 10, 11, 3}), "[CLS] unaffable, world! [SEP]");
  EXPECT_EQ(t.decode({2, 5, 6, 7, 9, 10, 11, 3}, true), "unaffable, world!");
  std::string streamed;
  std::vector<int32_t> prev;
  for (int32_t id : {5, 6, 7, 9, 10}) {
    streamed += t.decode_next(prev, id);
    prev.push_back(id);
  }
  EXPECT_EQ(streamed, "unaffable, world");
}

TEST(WordPiece, Errors) {
  EXPECT_THROW_MSG(WordPieceTokenizer({}), "WordPiece vocabulary is empty");
  EXPECT_THROW_MSG(WordPieceTokenizer({"a", "b"}), "no unknown token '[UNK]'");
  WordPieceTokenizer t(tiny_vocab());
  EXPECT_THROW_MSG(t.decode({99}), "token id 99 outside the vocabulary of 15");
  EXPECT_THROW_MSG(WordPieceTokenizer::from_vocab_file("/nonexistent/vocab.txt"), "cannot open");
}

// Malformed tokenizer.json: every error names the file and the JSON path.
class TokenizerJsonErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::temp_dir("tokjson"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& text) {
    const auto path = (dir_ / "tokenizer.json").string();
    test::write_file(path, text);
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(TokenizerJsonErrors, ClearMessagesWithJsonPath) {
  EXPECT_THROW_MSG(load_tokenizer_json((dir_ / "missing.json").string()), "cannot open");
  EXPECT_THROW_MSG(load_tokenizer_json(write("{not json")), "not valid JSON");
  EXPECT_THROW_MSG(load_tokenizer_json(write("[]")), "$: expected an object");
  EXPECT_THROW_MSG(load_tokenizer_json(write("{}")), "$.model: missing");
  EXPECT_THROW_MSG(load_tokenizer_json(write(R"({"model": {"type": "Unigram"}})")),
                   "$.model.type: unsupported model type 'Unigram'");
  EXPECT_THROW_MSG(load_tokenizer_json(write(R"({"model": {"type": "BPE", "vocab": [], "merges": []}})")),
                   "$.model.vocab: expected object, got array");
  EXPECT_THROW_MSG(load_tokenizer_json(write(R"({"model": {"type": "BPE", "vocab": {"a": -1}, "merges": []}})")),
                   "$.model.vocab[\"a\"]: expected a non-negative integer id");
  const std::string bpe = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a c"]})";
  EXPECT_THROW_MSG(load_tokenizer_json(write("{" + bpe + "}")),
                   "$.model.merges[1]: merge 'a c' uses a token missing");
  const std::string ok_bpe = R"("model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]})";
  EXPECT_THROW_MSG(load_tokenizer_json(write("{" + ok_bpe + "}")), "$.pre_tokenizer: missing");
  EXPECT_THROW_MSG(load_tokenizer_json(write("{" + ok_bpe + R"(, "pre_tokenizer": {"type": "Whitespace"}})")),
                   "$.pre_tokenizer.type: unsupported pre-tokenizer 'Whitespace' for BPE");
  EXPECT_THROW_MSG(
      load_tokenizer_json(write("{" + ok_bpe +
                                R"(, "pre_tokenizer": {"type": "ByteLevel"}, "added_tokens": [{"id": "x"}]})")),
      "$.added_tokens[0].id: expected number, got string");
  EXPECT_THROW_MSG(
      load_tokenizer_json(write("{" + ok_bpe +
                                R"(, "pre_tokenizer": {"type": "ByteLevel"}, "post_processor": {"type": "Foo"}})")),
      "$.post_processor.type: unsupported post-processor 'Foo'");
  EXPECT_THROW_MSG(load_tokenizer_json(write(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})")),
                   "$.model.unk_token: '[UNK]' is not in the vocabulary");
  EXPECT_THROW_MSG(
      load_tokenizer_json(write(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "b": 0}}})")),
      "id 0 is used twice");
  EXPECT_THROW_MSG(load_tokenizer_json(write(
                       R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFC"}})")),
                   "$.normalizer.type: unsupported normalizer 'NFC'");
}

TEST_F(TokenizerJsonErrors, MinimalFilesLoad) {
  const std::string ok_bpe = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]},
                                 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}})";
  auto t = load_tokenizer_json(write(ok_bpe));
  EXPECT_EQ(t->encode("abab"), (std::vector<int32_t>{2, 2}));
  auto w = load_tokenizer_json(write(R"({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "hi": 1}}})"));
  EXPECT_EQ(w->kind(), "wordpiece");
  EXPECT_EQ(w->encode("hi HI"), (std::vector<int32_t>{1, 0}));  // no normalizer: case kept
}

}  // namespace
}  // namespace forge::text
