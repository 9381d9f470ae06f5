// Tokenizer throughput on the English fortunes (one thread): encode MB/s and tokens/s for a BPE
// trained here (8k) and, when given, a tokenizer.json or GGUF-free vocabulary file.
//   build/example_tokenizer_throughput [tokenizer.json|vocab.txt]
// tools/text/hf_throughput.py measures Hugging Face tokenizers on the same texts.
#include <fmt/format.h>

#include <chrono>
#include <string>

#include "data/fortunes.h"
#include "text/bpe.h"
#include "text/wordpiece.h"

using namespace forge;

static void measure(const std::string& name, const text::Tokenizer& tok, const std::vector<std::string>& texts) {
  size_t bytes = 0, tokens = 0;
  for (const auto& t : texts) bytes += t.size();
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {  // first pass warms the per-piece cache
    const auto start = std::chrono::steady_clock::now();
    tokens = 0;
    for (const auto& t : texts) tokens += tok.encode(t).size();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  fmt::print("{:<28} {:>8.1f} MB/s {:>10.0f} tokens/s ({} tokens, {:.3f} s)\n", name, bytes / best / 1e6, tokens / best,
             tokens, best);
}

int main(int argc, char** argv) {
  const auto data = load_fortunes();
  const auto start = std::chrono::steady_clock::now();
  text::BpeTrainOptions options;
  options.vocab_size = 8000;
  auto bpe = text::BpeTokenizer::train(data.texts, options);
  fmt::print("train 8000 on {} quotes: {:.2f} s\n", data.texts.size(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  measure("bpe-8k (trained here)", *bpe, data.texts);
  if (argc > 1) {
    const std::string path = argv[1];
    auto tok = path.size() > 4 && path.substr(path.size() - 4) == ".txt"
                   ? text::TokenizerPtr(text::WordPieceTokenizer::from_vocab_file(path))
                   : text::load_tokenizer_json(path);
    measure(path, *tok, data.texts);
  }
  return 0;
}
