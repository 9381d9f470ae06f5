#pragma once
// The sampling and length flags shared by `forge generate` and `forge chat`.
#include <CLI/CLI.hpp>

#include "llm/generate.h"

namespace forge::cli {

// Adds --max-tokens/-n, --temperature/-t, --top-k, --top-p, --min-p, --repetition-penalty
// (alias --repeat-penalty), --seed and --stop to `cmd`, writing into `options`; the values in
// `options` when this is called are the defaults shown by --help.
void add_generation_flags(CLI::App* cmd, llm::GenerateOptions& options);

}  // namespace forge::cli
