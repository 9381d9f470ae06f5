// `forge lora merge MODEL ADAPTER OUT.gguf [--type f32|q8_0|q4_0|q4_1|q4_k|q6_k]`: writes a GGUF
// checkpoint with a LoRA adapter merged into its weights (W' = W + alpha/r B A).
#include "models/lora.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"

namespace forge::cli {

namespace {

DType merge_type(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::pair<const char*, DType> types[] = {{"f32", DType::kF32},   {"q8_0", DType::kQ8_0},
                                                 {"q4_0", DType::kQ4_0}, {"q4_1", DType::kQ4_1},
                                                 {"q4_k", DType::kQ4_K}, {"q6_k", DType::kQ6_K}};
  for (const auto& [n, t] : types) {
    if (lower == n) return t;
  }
  fail("[lora] unknown --type '{}' (choose f32, q8_0, q4_0, q4_1, q4_k or q6_k)", name);
}

}  // namespace

void register_lora(CLI::App& app) {
  struct Args {
    std::string model, adapter, out, type = "f32";
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("lora", "LoRA adapters: merge one into a checkpoint");
  cmd->require_subcommand(1);
  auto* merge = cmd->add_subcommand("merge", "Write MODEL with ADAPTER merged into its weights as a GGUF file");
  merge->add_option("model", a->model, "base checkpoint (.gguf)")->required();
  merge->add_option("adapter", a->adapter, "LoRA adapter dir (PEFT format) or a finetune run dir")->required();
  merge->add_option("output", a->out, "the .gguf file to write")->required();
  merge->add_option("--type", a->type,
                    "storage of the merged weights: f32 (exact, default), q8_0, q4_0, q4_1, q4_k, q6_k");
  merge->callback([a] {
    const DType type = merge_type(a->type);
    const auto t0 = std::chrono::steady_clock::now();
    const int64_t n = models::merge_lora_gguf(a->model, a->adapter, a->out, type);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fmt::print("merged {} weights ({}) into {} in {:.1f} s\n", n, a->type, a->out, s);
  });
}

}  // namespace forge::cli
