#pragma once
// The config `forge quickstart` trains: the seed documents' CNN on Fashion-MNIST, sized to
// finish in minutes on two cores. Identical to examples/cnn_fashion/config.toml (a test checks).
#include "train/config.h"

namespace forge::train {

// The TOML text of the quickstart run.
const char* quickstart_config_toml();
// The parsed quickstart config.
RunConfig quickstart_config();

}  // namespace forge::train
