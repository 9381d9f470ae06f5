// `forge tokenize` (text -> ids/tokens with a tokenizer.json or BERT vocab.txt) and
// `forge tokenizer train` (byte-level BPE on text files or the fortunes corpora).
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "data/fortunes.h"
#include "text/bpe.h"
#include "text/wordpiece.h"

namespace forge::cli {

namespace {

text::TokenizerPtr open_tokenizer(const std::string& path, bool cased) {
  FORGE_CHECK(std::filesystem::exists(path), "[tokenize] no such tokenizer file '{}'", path);
  if (std::filesystem::path(path).extension() == ".txt") {
    text::WordPieceOptions options;
    options.lowercase = !cased;
    return text::WordPieceTokenizer::from_vocab_file(path, options);
  }
  return text::load_tokenizer_json(path);
}

// A token for display: printable, with control characters escaped.
std::string shown(const std::string& token) {
  std::string out;
  for (char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7F) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out;
}

// Texts of the training corpus: each file's lines (newlines kept), or a fortunes corpus.
std::vector<std::string> corpus_texts(const std::vector<std::string>& sources) {
  std::vector<std::string> texts;
  for (const auto& source : sources) {
    if (source == "fortunes") {
      auto data = load_fortunes();
      texts.insert(texts.end(), data.texts.begin(), data.texts.end());
      continue;
    }
    if (source == "fortunes-zh") {
      auto poems = load_fortunes_zh();
      texts.insert(texts.end(), poems.begin(), poems.end());
      continue;
    }
    std::ifstream in(source, std::ios::binary);
    FORGE_CHECK(in.good(), "[tokenizer train] cannot open '{}' (a text file, 'fortunes' or 'fortunes-zh')", source);
    std::string line;
    while (std::getline(in, line)) texts.push_back(line + "\n");
  }
  return texts;
}

}  // namespace

void register_tokenize(CLI::App& app) {
  struct Options {
    std::string tokenizer;
    bool ids_only = false, special = false, cased = false;
    std::vector<std::string> texts;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids (and tokens) of texts");
  cmd->add_option("--tokenizer,-t", o->tokenizer, "tokenizer.json, or a BERT vocab.txt")->required();
  cmd->add_flag("--ids", o->ids_only, "print only the ids, one line per text");
  cmd->add_flag("--special", o->special, "add the post-processor's special tokens ([CLS] ... [SEP], BOS)");
  cmd->add_flag("--cased", o->cased, "vocab.txt: keep case and accents (default: lowercase, strip accents)");
  cmd->add_option("text", o->texts, "texts to tokenize (default: one per line from stdin)");
  cmd->callback([o] {
    auto tok = open_tokenizer(o->tokenizer, o->cased);
    std::vector<std::string> texts = o->texts;
    if (texts.empty()) {
      std::string line;
      while (std::getline(std::cin, line)) texts.push_back(line);
    }
    for (const auto& t : texts) {
      const auto ids = tok->encode(t, o->special);
      if (o->ids_only) {
        fmt::print("{}\n", fmt::join(ids, " "));
        continue;
      }
      fmt::print("{} tokens\n", ids.size());
      for (int32_t id : ids) fmt::print("{:>8}  {}\n", id, shown(tok->id_to_token(id)));
    }
  });

  struct TrainOptions {
    int32_t vocab_size = 8000;
    int64_t min_frequency = 2;
    std::string out, pre = "gpt2";
    std::vector<std::string> special = {"<|endoftext|>"};
    std::vector<std::string> files;
  };
  auto t = std::make_shared<TrainOptions>();
  auto* group = app.add_subcommand("tokenizer", "Tokenizer tools");
  group->require_subcommand(1);
  auto* train = group->add_subcommand("train", "Train a byte-level BPE tokenizer and save tokenizer.json");
  train->add_option("--vocab-size", t->vocab_size, "target vocabulary size (special and byte tokens included)")
      ->capture_default_str();
  train->add_option("--min-frequency", t->min_frequency, "stop when the best pair is rarer")->capture_default_str();
  train->add_option("--pre", t->pre, "pre-tokenizer: gpt2, llama-bpe or smollm")->capture_default_str();
  train->add_option("--special", t->special, "special tokens (ids 0, 1, ...)")->capture_default_str();
  train->add_option("--out,-o", t->out, "output tokenizer.json")->required();
  train->add_option("files", t->files, "text files, or 'fortunes' / 'fortunes-zh'")->required();
  train->callback([t] {
    const auto start = std::chrono::steady_clock::now();
    const auto texts = corpus_texts(t->files);
    text::BpeTrainOptions options;
    options.vocab_size = t->vocab_size;
    options.min_frequency = t->min_frequency;
    options.special_tokens = t->special;
    options.pre_tokenizer = text::pre_tokenizer_from_name(t->pre);
    options.progress = [](int32_t now, int32_t target) { fmt::print(stderr, "\r{} / {} tokens", now, target); };
    auto tok = text::BpeTokenizer::train(texts, options);
    fmt::print(stderr, "\n");
    tok->save(t->out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("trained {} tokens ({} merges) on {} texts in {:.2f} s -> {}\n", tok->vocab_size(), tok->merges().size(),
               texts.size(), seconds, t->out);
  });
}

}  // namespace forge::cli
