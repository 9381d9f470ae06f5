#pragma once
// PNG plots of a training run, drawn by gnuplot (Debian package gnuplot-nox), which runs as a
// child process fed a script on stdin. Without gnuplot every function returns a one-line
// warning and writes nothing; plotting never throws for a missing or failing gnuplot.
#include <string>
#include <vector>

#include "core/tensor.h"
#include "train/model.h"

namespace forge::train {

struct PlotResult {
  std::vector<std::string> files;  // PNGs written
  std::string warning;             // "" when everything was drawn
};

// True when `gnuplot` is on PATH (checked once).
bool gnuplot_available();

// One PNG per quantity in the history: DIR/loss.png (train vs validation), DIR/<metric>.png.
PlotResult plot_history(const History& history, const std::string& dir);
// Confusion matrix int64 [C, C] (rows = true class) as an annotated heatmap.
PlotResult plot_confusion(const Tensor& confusion, const std::vector<std::string>& labels, const std::string& path);
// Scatter of (x, y) with the line y = w x + b.
PlotResult plot_scatter_fit(const std::vector<double>& x, const std::vector<double>& y, double w, double b,
                            const std::string& path);

}  // namespace forge::train
