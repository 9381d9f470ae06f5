#include "train/callback_state.h"

#include <map>
#include <string>

#include "core/error.h"

namespace forge::train {
namespace {

// Key of each callback (empty for stateless ones), numbering repeated names.
std::vector<std::string> keys_of(const std::vector<CallbackPtr>& callbacks) {
  std::map<std::string, int> seen;
  std::vector<std::string> keys;
  for (const auto& cb : callbacks) {
    std::string name = cb->state_name();
    if (name.empty()) {
      keys.emplace_back();
      continue;
    }
    const int n = ++seen[name];
    keys.push_back(n == 1 ? name : name + "#" + std::to_string(n));
  }
  return keys;
}

}  // namespace

nlohmann::json callback_states(const std::vector<CallbackPtr>& callbacks, NamedTensors* tensors) {
  nlohmann::json out = nlohmann::json::object();
  const auto keys = keys_of(callbacks);
  for (size_t i = 0; i < callbacks.size(); ++i) {
    if (keys[i].empty()) continue;
    out[keys[i]] = callbacks[i]->state();
    for (const auto& t : callbacks[i]->state_tensors()) tensors->push_back({keys[i] + "/" + t.name, t.tensor});
  }
  return out;
}

void restore_callback_states(const std::vector<CallbackPtr>& callbacks, const nlohmann::json& states,
                             const NamedTensors& tensors) {
  if (!states.is_object()) return;
  const auto keys = keys_of(callbacks);
  for (size_t i = 0; i < callbacks.size(); ++i) {
    if (keys[i].empty() || !states.contains(keys[i])) continue;
    const std::string prefix = keys[i] + "/";
    NamedTensors mine;
    for (const auto& t : tensors)
      if (t.name.rfind(prefix, 0) == 0) mine.push_back({t.name.substr(prefix.size()), t.tensor});
    try {
      callbacks[i]->load_state(states[keys[i]], mine);
    } catch (const nlohmann::json::exception& e) {
      fail("[load_checkpoint] callback {}: corrupt state: {}", keys[i], e.what());
    }
  }
}

}  // namespace forge::train
