// gnuplot-driven PNG plots: a script with inline data blocks is piped into `gnuplot`.
#include "train/plots.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace forge::train {

namespace {

constexpr const char* kMissing =
    "gnuplot not found: no plots drawn (install it with: sudo apt-get install gnuplot-nox)";

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '_') {
      out += "\\\\_";  // no subscript in enhanced text
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// A file path for `set output` (no enhanced-text escapes).
std::string quote_path(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "1e308" : "-1e308";
  return fmt::format("{:.9g}", v);
}

// Runs gnuplot on `script`; returns "" on success, else a warning.
std::string run_gnuplot(const std::string& script) {
  if (!gnuplot_available()) return kMissing;
  std::FILE* pipe = ::popen("gnuplot 2>/dev/null", "w");
  if (pipe == nullptr) return "gnuplot could not be started: no plots drawn";
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int status = ::pclose(pipe);
  if (status != 0) return fmt::format("gnuplot failed (status {}): some plots may be missing", status);
  return "";
}

std::string header(const std::string& path, int width, int height) {
  return fmt::format("set terminal pngcairo size {},{} font 'sans,10'\nset output {}\n", width, height,
                     quote_path(path));
}

}  // namespace

bool gnuplot_available() {
  static const bool available = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  return available;
}

PlotResult plot_history(const History& history, const std::string& dir) {
  PlotResult result;
  if (!gnuplot_available()) {
    result.warning = kMissing;
    return result;
  }
  if (history.epochs.empty()) return result;
  std::set<std::string> keys;
  for (const auto& row : history.epochs) {
    for (const auto& [k, v] : row) keys.insert(k);
  }
  for (const std::string& key : keys) {
    if (key.rfind("val_", 0) == 0 || key == "lr" || key == "epoch") continue;
    const bool has_val = keys.count("val_" + key) > 0;
    const std::string path = dir + "/" + key + ".png";
    std::string script = header(path, 800, 500);
    script += "$d << EOD\n";
    for (size_t e = 0; e < history.epochs.size(); ++e) {
      const auto& row = history.epochs[e];
      auto get = [&](const std::string& k) {
        auto it = row.find(k);
        return it == row.end() ? std::string("NaN") : number(it->second);
      };
      script += fmt::format("{} {} {}\n", e + 1, get(key), has_val ? get("val_" + key) : "NaN");
    }
    script += "EOD\n";
    script += fmt::format("set title {}\nset xlabel 'epoch'\nset ylabel {}\nset grid\nset key top right\n",
                          quote(key + (has_val ? ": train vs validation" : "")), quote(key));
    if (history.epochs.size() < 12) script += "set xtics 1\n";
    script += fmt::format("set xrange [0.5:{}.5]\n", history.epochs.size());
    script += "plot $d using 1:2 with linespoints lw 2 pt 7 title 'train'";
    if (has_val) script += ", $d using 1:3 with linespoints lw 2 pt 5 title 'validation'";
    script += "\n";
    const std::string warning = run_gnuplot(script);
    if (!warning.empty()) {
      result.warning = warning;
      return result;
    }
    result.files.push_back(path);
  }
  return result;
}

PlotResult plot_confusion(const Tensor& confusion, const std::vector<std::string>& labels, const std::string& path) {
  PlotResult result;
  const Tensor cm = confusion.to(DType::kI64).contiguous();
  const int64_t c = cm.size(0);
  const int64_t* v = cm.data<int64_t>();
  std::string script = header(path, 150 + 60 * static_cast<int>(c), 100 + 55 * static_cast<int>(c));
  script += "$m << EOD\n";
  int64_t max_count = 1;
  for (int64_t i = 0; i < c * c; ++i) max_count = std::max(max_count, v[i]);
  for (int64_t i = 0; i < c; ++i) {
    for (int64_t j = 0; j < c; ++j) script += fmt::format("{} {} {}\n", j, i, v[i * c + j]);
    script += "\n";
  }
  script += "EOD\n";
  std::string tics;
  for (int64_t i = 0; i < c; ++i) {
    const std::string name = i < static_cast<int64_t>(labels.size()) ? labels[i] : std::to_string(i);
    tics += fmt::format("{}{} {}", i ? ", " : "", quote(name), i);
  }
  script += fmt::format(
      "set title 'confusion matrix (rows: true class, columns: predicted)'\n"
      "set xlabel 'predicted'\nset ylabel 'true'\n"
      "set xrange [-0.5:{0}.5]\nset yrange [{0}.5:-0.5]\n"
      "set xtics ({1}) rotate by 45 right\nset ytics ({1})\n"
      "set palette defined (0 'white', 1 '#08306b')\nset cbrange [0:{2}]\nset size ratio -1\n"
      "plot $m using 1:2:3 with image notitle, "
      "$m using 1:2:(sprintf('%d', $3)):($3 > {3} ? 0xffffff : 0x000000) with labels tc rgb variable notitle\n",
      c - 1, tics, max_count, max_count / 2);
  result.warning = run_gnuplot(script);
  if (result.warning.empty()) result.files.push_back(path);
  return result;
}

PlotResult plot_scatter_fit(const std::vector<double>& x, const std::vector<double>& y, double w, double b,
                            const std::string& path) {
  PlotResult result;
  std::string script = header(path, 800, 500);
  script += "$p << EOD\n";
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) script += fmt::format("{} {}\n", number(x[i]), number(y[i]));
  script += "EOD\n";
  script += fmt::format(
      "set title {}\nset xlabel 'x'\nset ylabel 'y'\nset grid\nset key top left\n"
      "plot $p using 1:2 with points pt 7 ps 0.5 lc rgb '#1f77b4' title 'data', "
      "{} * x + {} with lines lw 2 lc rgb '#d62728' title {}\n",
      quote(fmt::format("fit: y = {:.4f} x + {:.4f}", w, b)), number(w), number(b),
      quote(fmt::format("y = {:.3f} x + {:.3f}", w, b)));
  result.warning = run_gnuplot(script);
  if (result.warning.empty()) result.files.push_back(path);
  return result;
}

}  // namespace forge::train
