#pragma once
// Per-epoch CSV log (like Keras' CSVLogger): a header "epoch,<metric>,..." written once, then
// one row per epoch, flushed as it is written so a crash loses at most the current row.
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace forge {

class CsvLogger {
 public:
  // append = false starts a new file (truncating); append = true continues an existing file,
  // taking its columns from its header (a missing or empty file starts fresh).
  explicit CsvLogger(const std::string& path, bool append = false);

  // Writes one row. The first row fixes the columns, in the order given; later rows may list
  // them in any order and may leave some out (empty cells) but may not add new ones. Values
  // are written with full precision (shortest text that reads back to the same double; nan,
  // inf, -inf for non-finite values).
  void log(int64_t epoch, const std::vector<std::pair<std::string, double>>& values);

  const std::string& path() const { return path_; }
  // The metric columns, without the leading "epoch" (empty until the header exists).
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  void write_line(const std::string& line);

  std::string path_;
  std::vector<std::string> columns_;
  std::ofstream out_;
};

}  // namespace forge
