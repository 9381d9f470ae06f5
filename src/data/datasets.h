#pragma once
// Built-in real data sets, read from the files Debian packages install (no downloads):
//   iris, wine, breast-cancer, diabetes, digits   python3-sklearn  (sklearn/datasets/data/)
//   fashion-mnist                                 dataset-fashion-mnist (/usr/share/datasets/)
//     x: [60000, 784] float32 in [0, 1] (28x28 images, row-major), x_test/y_test: the 10000
//     official test images
// A missing package gives an error with the exact install line, e.g.
//   "[datasets] iris needs the Debian package python3-sklearn: apt-get install python3-sklearn"
#include <string>
#include <vector>

#include "core/tensor.h"

namespace forge {

struct BuiltinDataset {
  std::string name;
  Tensor x;               // [N, F] float32 (the training split when the data set has an official test split)
  Tensor y;               // [N] int64 class ids (classification) or float32 values (regression: diabetes)
  Tensor x_test, y_test;  // the official test split, undefined when there is none
  std::vector<std::string> feature_names;  // F names
  std::vector<std::string> label_names;    // class names (empty for regression)
  bool classification = true;
};

// Names accepted by load_dataset(), sorted.
std::vector<std::string> builtin_dataset_names();

// Loads a built-in data set. `directory` replaces the Debian install directory (tests).
// Values are as shipped (diabetes is NOT pre-scaled as sklearn's default; digits are 0..16):
// scale them with a StandardScaler fitted on the training split.
BuiltinDataset load_dataset(const std::string& name, const std::string& directory = "");

// The directory a data set is read from and the Debian package that installs it.
struct DatasetSource {
  std::string directory;
  std::string package;
};
DatasetSource dataset_source(const std::string& name);

}  // namespace forge
