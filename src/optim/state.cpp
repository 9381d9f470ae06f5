#include "optim/state.h"

#include <nlohmann/json.hpp>

#include "formats/safetensors.h"

namespace forge {

namespace {
constexpr const char* kKindKey = "forge.optimizer";
constexpr const char* kScalarsKey = "forge.optimizer.scalars";
}  // namespace

void save_optimizer_state(const std::string& path, const Optimizer& optimizer) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const NamedTensor& t : optimizer.state_tensors()) tensors.emplace_back(t.name, t.tensor);
  nlohmann::json scalars = nlohmann::json::object();
  for (const auto& [key, value] : optimizer.state_scalars()) scalars[key] = value;
  save_safetensors(path, tensors, {{kKindKey, optimizer.name()}, {kScalarsKey, scalars.dump()}});
}

void load_optimizer_state(const std::string& path, Optimizer& optimizer) {
  SafetensorsFile file = load_safetensors(path);
  auto kind = file.metadata.find(kKindKey);
  auto scalars_text = file.metadata.find(kScalarsKey);
  FORGE_CHECK(kind != file.metadata.end() && scalars_text != file.metadata.end(),
              "[load_optimizer_state] {}: not an optimizer state file (no '{}' metadata)", path, kKindKey);
  FORGE_CHECK(kind->second == optimizer.name(), "[load_optimizer_state] {}: holds {} state, the optimizer is {}", path,
              kind->second, optimizer.name());
  std::map<std::string, double> scalars;
  try {
    const nlohmann::json parsed = nlohmann::json::parse(scalars_text->second);
    FORGE_CHECK(parsed.is_object(), "[load_optimizer_state] {}: '{}' metadata must be a JSON object", path,
                kScalarsKey);
    for (const auto& [key, value] : parsed.items()) scalars[key] = value.get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail("[load_optimizer_state] {}: bad '{}' metadata: {}", path, kScalarsKey, e.what());
  }
  NamedTensors tensors;
  for (const auto& [name, t] : file.tensors) tensors.push_back({name, t});
  try {
    // Scalars are validated before anything is written: load_state_scalars only changes the
    // optimizer once every check passed, and likewise load_state_tensors.
    const auto previous = optimizer.state_scalars();
    optimizer.load_state_scalars(scalars);
    try {
      optimizer.load_state_tensors(tensors);
    } catch (...) {
      optimizer.load_state_scalars(previous);
      throw;
    }
  } catch (const Error& e) {
    fail("[load_optimizer_state] {}: {}", path, e.what());
  }
}

}  // namespace forge
