#pragma once
// Shared helpers for the pretrained-model tests: paths of the test checkpoints and the committed
// reference outputs of tools/llm/gen_llm_refs.py.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace forge::test {

inline std::string models_dir() { return FORGE_TEST_MODELS_DIR; }
inline std::string smollm2_path() { return models_dir() + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"; }
inline std::string minilm_dir() { return models_dir() + "/all-minilm-l6-v2"; }

// tests/llm/data/NAME parsed as JSON (fails loudly when missing).
inline nlohmann::json llm_ref(const std::string& name) {
  const std::string path = std::string(FORGE_TEST_DATA_DIR) + "/llm/data/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing reference file " + path + " (run tools/llm/gen_llm_refs.py)");
  return nlohmann::json::parse(in);
}

// Fails with a clear message when the checkpoints have not been fetched.
inline bool have_models() {
  return std::filesystem::exists(smollm2_path()) && std::filesystem::exists(minilm_dir() + "/model.safetensors");
}
#define FORGE_REQUIRE_MODELS()                                                                             \
  ASSERT_TRUE(::forge::test::have_models())                                                                \
      << "pretrained test checkpoints missing under " << ::forge::test::models_dir()                       \
      << " (run scripts/fetch_models.sh)"

}  // namespace forge::test
