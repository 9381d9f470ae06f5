// `forge quantize IN OUT --type q8_0|q4_0|q4_1|q4_k|q5_k|q6_k`: converts a GGUF file, a Forge model
// directory or a Hugging Face safetensors checkpoint (single or sharded; f32/f16/bf16) into a
// quantized GGUF file. 1-d tensors and norm weights stay f32; rows whose length is not a
// multiple of the block size fall back as in llama.cpp
// (q4_k -> q5_0, q5_k -> q5_1, q6_k -> q8_0) or to f32. GGUF metadata is carried over.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "formats/safetensors_sharded.h"
#include "ops/quant.h"

namespace forge::cli {

namespace {

struct QuantType {
  const char* name;
  DType dtype;
  uint32_t file_type;  // llama.cpp's general.file_type (LLAMA_FTYPE_MOSTLY_*)
};
constexpr QuantType kTypes[] = {{"q8_0", DType::kQ8_0, 7},
                                {"q4_0", DType::kQ4_0, 2},
                                {"q4_1", DType::kQ4_1, 3},
                                {"q4_k", DType::kQ4_K, 14},
                                {"q5_k", DType::kQ5_K, 16},
                                {"q6_k", DType::kQ6_K, 18}};

const QuantType& parse_type(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& t : kTypes) {
    if (lower == t.name) return t;
  }
  fail("[quantize] unknown --type '{}' (choose q8_0, q4_0, q4_1, q4_k, q5_k or q6_k)", name);
}

// The dtype one tensor is stored in.
DType choose(const std::string& name, const Tensor& t, DType target) {
  if (!is_floating(t.dtype())) return t.dtype();  // integer tensors are copied
  if (t.dim() < 2 || name.find("norm") != std::string::npos) return DType::kF32;
  const int64_t inner = t.shape().back();
  if (inner % block_size(target) == 0) return target;
  // llama.cpp's fallbacks for rows that are not a multiple of 256 (K-quants)
  const DType fallback = target == DType::kQ4_K   ? DType::kQ5_0
                         : target == DType::kQ5_K ? DType::kQ5_1
                                                  : DType::kQ8_0;
  if (inner % block_size(fallback) == 0) return fallback;
  return DType::kF32;
}

struct Input {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::vector<std::pair<std::string, GgufValue>> metadata;
  std::string kind;
};

Input read_input(const std::string& path) {
  Input in;
  if (!std::filesystem::is_directory(path) && is_gguf_file(path)) {
    GgufFile g = load_gguf(path);
    in.kind = "GGUF";
    for (const auto& [key, value] : g.metadata) {
      if (key == "general.alignment" || key == "general.file_type" || key == "general.quantization_version") continue;
      in.metadata.emplace_back(key, value);
    }
    for (const auto& ti : g.tensor_infos) in.tensors.emplace_back(ti.name, g.tensor(ti.name));
    return in;
  }
  SafetensorsFile f = load_safetensors_checkpoint(path);
  in.kind = "safetensors";
  const std::filesystem::path dir = std::filesystem::is_directory(path)
                                        ? std::filesystem::path(path)
                                        : std::filesystem::path(path).parent_path();
  std::string arch = "forge";
  if (std::filesystem::exists(dir / "config.json")) {
    HfConfig config = HfConfig::load((dir / "config.json").string());
    if (config.has("model_type")) arch = config.model_type();
    std::ifstream cf(dir / "config.json");
    std::stringstream ss;
    ss << cf.rdbuf();
    in.metadata.emplace_back("forge.hf_config", GgufValue::from_string(ss.str()));
  }
  in.metadata.insert(in.metadata.begin(), {"general.architecture", GgufValue::from_string(arch)});
  for (const auto& [k, v] : f.metadata) in.metadata.emplace_back("safetensors." + k, GgufValue::from_string(v));
  for (auto& [name, t] : f.tensors) in.tensors.emplace_back(name, t);
  return in;
}

void run_quantize(const std::string& in_path, const std::string& out_path, const std::string& type_name) {
  const QuantType& qt = parse_type(type_name);
  const auto start = std::chrono::steady_clock::now();
  Input in = read_input(in_path);
  FORGE_CHECK(!in.tensors.empty(), "[quantize] {} holds no tensors", in_path);
  fmt::print("quantizing {} ({}, {} tensors) to {} -> {}\n", in_path, in.kind, in.tensors.size(), qt.name, out_path);
  std::vector<std::pair<std::string, Tensor>> out;
  uint64_t in_bytes = 0, out_bytes = 0;
  const size_t n = in.tensors.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& [name, t] = in.tensors[i];
    const DType to = choose(name, t, qt.dtype);
    Tensor q;
    if (t.dtype() == to) {
      q = t;
    } else if (to == DType::kF32) {
      q = dequantize(t);
    } else {
      q = quantize(is_quantized(t.dtype()) ? dequantize(t) : t, to);
    }
    in_bytes += nbytes_for(t.dtype(), t.numel());
    out_bytes += nbytes_for(q.dtype(), q.numel());
    fmt::print("[{:>{}}/{}] {:<40} {:<9} -> {:<9} {}\n", i + 1, std::to_string(n).size(), n, name,
               dtype_name(t.dtype()), dtype_name(q.dtype()), shape_str(t.shape()));
    std::fflush(stdout);
    out.emplace_back(name, q);
  }
  in.metadata.emplace_back("general.file_type", GgufValue::from_u32(qt.file_type));
  in.metadata.emplace_back("general.quantization_version", GgufValue::from_u32(2));
  save_gguf(out_path, in.metadata, out);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("wrote {}: {:.1f} MiB -> {:.1f} MiB in {:.1f} s\n", out_path, static_cast<double>(in_bytes) / (1 << 20),
             static_cast<double>(out_bytes) / (1 << 20), secs);
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>("q8_0");
  auto* cmd = app.add_subcommand("quantize", "Quantize a GGUF file or a safetensors checkpoint into a GGUF file");
  cmd->add_option("input", *in, "a .gguf file, a Forge model directory, a .safetensors file or a HF checkpoint")
      ->required();
  cmd->add_option("output", *out, "the .gguf file to write")->required();
  cmd->add_option("--type", *type, "q8_0 (default), q4_0, q4_1, q4_k, q5_k or q6_k");
  cmd->callback([in, out, type] { run_quantize(*in, *out, *type); });
}

}  // namespace forge::cli
