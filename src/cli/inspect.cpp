// `forge inspect FILE [--json]`: header, metadata and tensor table of a GGUF file or a
// safetensors checkpoint (single file, sharded index, or a directory holding either).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "formats/gguf.h"
#include "formats/safetensors_sharded.h"

namespace forge::cli {

namespace {

constexpr size_t kMaxArrayItems = 8;

std::string human_bytes(uint64_t b) {
  if (b >= (1ull << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(b) / (1ull << 30));
  if (b >= (1ull << 20)) return fmt::format("{:.2f} MiB", static_cast<double>(b) / (1ull << 20));
  if (b >= (1ull << 10)) return fmt::format("{:.1f} KiB", static_cast<double>(b) / (1ull << 10));
  return fmt::format("{} B", b);
}

std::string shape_text(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + ")";
}

std::string value_type(const GgufValue& v) {
  if (v.type != GgufType::kArray) return std::string(gguf_type_name(v.type));
  return fmt::format("array[{}]", gguf_type_name(v.array_type));
}

nlohmann::json value_json(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64: return v.u;
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64: return v.i;
    case GgufType::kF32: case GgufType::kF64: return v.f;
    case GgufType::kBool: return v.u != 0;
    case GgufType::kString: return v.s;
    case GgufType::kArray: {
      nlohmann::json items = nlohmann::json::array();
      const size_t shown = std::min(v.array.size(), kMaxArrayItems);
      for (size_t k = 0; k < shown; ++k) items.push_back(value_json(v.array[k]));
      if (v.array.size() <= kMaxArrayItems) return items;  // long arrays are summarized
      return {{"type", fmt::format("array[{}]", gguf_type_name(v.array_type))}, {"length", v.array.size()},
              {"head", items}};
    }
  }
  return nullptr;
}

struct Row {
  std::string name, type;
  Shape shape;
  uint64_t bytes = 0;
  uint64_t offset = 0;
};

void print_table(const std::vector<Row>& rows, bool with_offset) {
  size_t wn = 4, wt = 4, ws = 5;
  for (const Row& r : rows) {
    wn = std::max(wn, r.name.size());
    wt = std::max(wt, r.type.size());
    ws = std::max(ws, shape_text(r.shape).size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>12}{}\n", "name", wn, "type", wt, "shape", ws, "bytes",
             with_offset ? "  offset" : "");
  for (const Row& r : rows) {
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>12}{}\n", r.name, wn, r.type, wt, shape_text(r.shape), ws, r.bytes,
               with_offset ? fmt::format("  {}", r.offset) : "");
  }
}

void print_totals(const std::vector<Row>& rows) {
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  uint64_t total = 0, params = 0;
  for (const Row& r : rows) {
    auto& e = by_type[r.type];
    e.first += 1;
    e.second += r.bytes;
    total += r.bytes;
    params += static_cast<uint64_t>(numel_of(r.shape));
  }
  fmt::print("\n{} tensors, {} parameters, {} ({} bytes)\n", rows.size(), params, human_bytes(total), total);
  for (const auto& [type, e] : by_type) fmt::print("  {:<6} {:>5} tensors  {}\n", type, e.first, human_bytes(e.second));
}

nlohmann::json rows_json(const std::vector<Row>& rows, bool with_offset) {
  nlohmann::json out = nlohmann::json::array();
  for (const Row& r : rows) {
    nlohmann::json t = {{"name", r.name}, {"type", r.type}, {"shape", r.shape}, {"bytes", r.bytes}};
    if (with_offset) t["offset"] = r.offset;
    out.push_back(t);
  }
  return out;
}

nlohmann::json totals_json(const std::vector<Row>& rows) {
  uint64_t total = 0, params = 0;
  for (const Row& r : rows) {
    total += r.bytes;
    params += static_cast<uint64_t>(numel_of(r.shape));
  }
  return {{"tensors", rows.size()}, {"parameters", params}, {"bytes", total}};
}

void inspect_gguf(const std::string& path, bool json) {
  GgufFile g = load_gguf(path);
  std::vector<Row> rows;
  for (const auto& t : g.tensor_infos) rows.push_back({t.name, ggml_type_name(t.type), t.shape, t.nbytes, t.offset});
  if (json) {
    nlohmann::ordered_json md = nlohmann::ordered_json::object();
    for (const auto& [key, value] : g.metadata) md[key] = value_json(value);
    nlohmann::ordered_json out = {{"format", "gguf"},          {"file", path},
                                  {"version", g.version},      {"alignment", g.alignment},
                                  {"data_offset", g.data_offset}, {"metadata", md},
                                  {"tensors", rows_json(rows, true)}, {"totals", totals_json(rows)}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{}: GGUF v{}, {} metadata entries, {} tensors, alignment {}, data at byte {}\n\n", path, g.version,
             g.metadata.size(), g.tensor_infos.size(), g.alignment, g.data_offset);
  size_t wk = 3, wt = 4;
  for (const auto& [key, value] : g.metadata) {
    wk = std::max(wk, key.size());
    wt = std::max(wt, value_type(value).size());
  }
  fmt::print("{:<{}}  {:<{}}  {}\n", "key", wk, "type", wt, "value");
  for (const auto& [key, value] : g.metadata) {
    fmt::print("{:<{}}  {:<{}}  {}\n", key, wk, value_type(value), wt, value.to_string(kMaxArrayItems));
  }
  fmt::print("\n");
  print_table(rows, true);
  print_totals(rows);
}

void inspect_safetensors(const std::string& path, bool json) {
  const std::vector<std::string> files = safetensors_checkpoint_files(path);
  SafetensorsFile f = load_safetensors_checkpoint(path);
  std::vector<Row> rows;
  for (const auto& [name, t] : f.tensors) {
    std::string type(dtype_name(t.dtype()));
    rows.push_back({name, type, t.shape(), nbytes_for(t.dtype(), t.numel()), 0});
  }
  if (json) {
    nlohmann::ordered_json out = {{"format", "safetensors"}, {"files", files}, {"metadata", f.metadata},
                                  {"tensors", rows_json(rows, false)}, {"totals", totals_json(rows)}};
    fmt::print("{}\n", out.dump(2));
    return;
  }
  fmt::print("{}: safetensors, {} file{}, {} metadata entries, {} tensors\n\n", path, files.size(),
             files.size() == 1 ? "" : "s", f.metadata.size(), f.tensors.size());
  if (!f.metadata.empty()) {
    size_t wk = 3;
    for (const auto& [k, v] : f.metadata) wk = std::max(wk, k.size());
    fmt::print("{:<{}}  {}\n", "key", wk, "value");
    for (const auto& [k, v] : f.metadata) fmt::print("{:<{}}  {}\n", k, wk, v.size() > 80 ? v.substr(0, 77) + "..." : v);
    fmt::print("\n");
  }
  print_table(rows, false);
  print_totals(rows);
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("inspect", "Print the metadata and tensor table of a GGUF or safetensors file");
  cmd->add_option("file", *path, "a .gguf file, a .safetensors file, a model.safetensors.index.json or a directory")
      ->required();
  cmd->add_flag("--json", *json, "machine-readable output");
  cmd->callback([path, json] {
    if (!std::filesystem::is_directory(*path) && is_gguf_file(*path)) {
      inspect_gguf(*path, *json);
    } else {
      inspect_safetensors(*path, *json);
    }
  });
}

}  // namespace forge::cli
