#include <toml++/toml.h>

#include "core/error.h"
#include "finetune/finetune.h"

namespace forge::finetune {

std::string finetune_model_type(const std::string& config_path) {
  toml::table t;
  try {
    t = toml::parse_file(config_path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    FORGE_CHECK(false, "[finetune] {}:{}:{}: {}", config_path, b.line, b.column, e.description());
  }
  const auto type = t["model"]["type"].value<std::string>();
  FORGE_CHECK(type.has_value(), "[finetune] {}: [model] type is required (\"bert\" or \"llama\")", config_path);
  FORGE_CHECK(*type == "bert" || *type == "llama",
              "[finetune] {}: [model] type '{}' is not a fine-tuning recipe (valid: bert, llama)", config_path, *type);
  return *type;
}

}  // namespace forge::finetune
