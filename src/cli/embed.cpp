// `forge embed MODEL --text ...` (or one text per stdin line): sentence embeddings as JSON
// {"model": ..., "dim": N, "data": [{"index": i, "text": ..., "embedding": [...]}, ...]}.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "models/pretrained.h"

namespace forge::cli {

void register_embed(CLI::App& app) {
  struct Args {
    std::string path;
    std::vector<std::string> texts;
    int64_t batch = 32;
    bool no_text = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("embed", "Sentence embeddings with a BERT-family model (JSON to stdout)");
  cmd->add_option("model", a->path, "Hugging Face / sentence-transformers directory (e.g. all-MiniLM-L6-v2)")->required();
  cmd->add_option("--text", a->texts, "text to embed (repeatable); default: one text per stdin line");
  cmd->add_option("--batch", a->batch, "texts per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--no-text", a->no_text, "leave the texts out of the output");
  cmd->callback([a] {
    auto model = models::load_embedding_model(a->path);
    std::vector<std::string> texts = a->texts;
    if (texts.empty()) {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (!line.empty()) texts.push_back(line);
      }
    }
    FORGE_CHECK(!texts.empty(), "[embed] no input: pass --text or lines on stdin");
    nlohmann::json out = {{"model", model->name()}, {"dim", model->dim()}, {"data", nlohmann::json::array()}};
    for (size_t start = 0; start < texts.size(); start += static_cast<size_t>(a->batch)) {
      const size_t end = std::min(texts.size(), start + static_cast<size_t>(a->batch));
      const std::vector<std::string> chunk(texts.begin() + static_cast<std::ptrdiff_t>(start),
                                           texts.begin() + static_cast<std::ptrdiff_t>(end));
      const auto vecs = model->embed(chunk);
      for (size_t i = 0; i < vecs.size(); ++i) {
        nlohmann::json item = {{"index", start + i}, {"embedding", vecs[i]}};
        if (!a->no_text) item["text"] = chunk[i];
        out["data"].push_back(std::move(item));
      }
    }
    std::cout << out.dump() << "\n";
  });
}

}  // namespace forge::cli
