// The quickstart run config, embedded so `forge quickstart` works from any directory.
#include "train/quickstart.h"

namespace forge::train {

const char* quickstart_config_toml() {
  return R"toml(# The seed documents' CNN on Fashion-MNIST; `forge quickstart` trains exactly this config.
# All 60000 training images (10% held out for validation), 10 epochs: about 3.5 minutes on two
# cores (see README.md).
name = "cnn_fashion"

[data]
name = "fashion-mnist"
image_shape = [1, 28, 28]   # flat 784 pixels -> NCHW
scale = "none"              # pixels are already in [0, 1]
validation_split = 0.1

[model]
layers = [
  { type = "Conv2D", filters = 32, kernel_size = 3, activation = "relu" },
  { type = "MaxPooling2D", pool_size = 2 },
  { type = "Conv2D", filters = 64, kernel_size = 3, activation = "relu" },
  { type = "MaxPooling2D", pool_size = 2 },
  { type = "Conv2D", filters = 64, kernel_size = 3, activation = "relu" },
  { type = "Flatten" },
  { type = "Dense", units = 64, activation = "relu" },
  { type = "Dense", units = 10, activation = "softmax" },
]

[train]
optimizer = "adam"
lr = 0.001
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]
epochs = 10
batch_size = 64
seed = 0
)toml";
}

RunConfig quickstart_config() { return parse_run_config(quickstart_config_toml(), "quickstart.toml"); }

}  // namespace forge::train
