#pragma once
// Printing helpers shared by the training subcommands (formatting only, no logic).
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "train/run.h"

namespace forge::cli {

// "accuracy 0.9123  loss 0.2511" in a stable order (loss first).
std::string format_metrics(const std::map<std::string, double>& metrics);
// The confusion matrix as an aligned text table with the class names.
std::string format_confusion(const Tensor& confusion, const std::vector<std::string>& labels);

// Test metrics, confusion matrix, timing, run directory and plots of a finished run
// (or its metrics.json as one line with json = true). Defined in cli/train.cpp.
void print_run_result(const train::RunResult& result, bool json);

}  // namespace forge::cli
