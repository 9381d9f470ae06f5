// Placeholder replaced by the recipe's implementation in this session's merge.
#include "core/error.h"
#include "finetune/finetune.h"

namespace forge::finetune {

nlohmann::json run_classifier_finetune(const FinetuneOptions& options) {
  FORGE_CHECK(false, "[finetune] {}: this recipe is not built yet", options.config_path);
  return {};
}

}  // namespace forge::finetune
