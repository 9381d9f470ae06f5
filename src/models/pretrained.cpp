#include "models/pretrained.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "formats/gguf.h"
#include "models/bert.h"
#include "models/gpt2.h"
#include "models/hf_checkpoint.h"
#include "models/llama.h"

namespace forge::models {

namespace fs = std::filesystem;

bool is_pretrained_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return is_gguf_file(path);
  return is_hf_dir(path);
}

llm::CausalLMPtr load_pretrained_lm(const std::string& path) {
  std::error_code ec;
  FORGE_CHECK(fs::exists(path, ec), "[pretrained] {} does not exist", path);
  if (fs::is_regular_file(path, ec)) {
    FORGE_CHECK(is_gguf_file(path), "[pretrained] {} is not a GGUF file (no GGUF magic)", path);
    const std::string arch = load_gguf(path).architecture();
    FORGE_CHECK(arch == "llama", "[pretrained] {}: GGUF architecture '{}' is not supported (supported: llama)", path,
                arch);
    return load_llama_gguf(path);
  }
  FORGE_CHECK(is_hf_dir(path), "[pretrained] {}: expected a .gguf file or a Hugging Face directory with config.json",
              path);
  std::ifstream in(fs::path(path) / "config.json");
  const auto cfg = nlohmann::json::parse(in, nullptr, false);
  FORGE_CHECK(!cfg.is_discarded() && cfg.is_object(), "[pretrained] {}/config.json: invalid JSON", path);
  const std::string type = cfg.value("model_type", "");
  if (type == "llama" || type == "mistral") return load_llama_hf(path);
  if (type == "gpt2") return load_gpt2(path);
  FORGE_CHECK(false, "[pretrained] {}: model_type '{}' is not a supported causal LM (llama, mistral, gpt2)", path, type);
  return nullptr;
}

llm::EmbeddingModelPtr load_embedding_model(const std::string& path) {
  return load_bert(path);
}

}  // namespace forge::models
