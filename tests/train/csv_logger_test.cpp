#include "train/csv_logger.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

struct TempFile {
  fs::path path;
  TempFile() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("forge_csv_test_{}_{}.csv", getpid(), counter++);
    fs::remove(path);
  }
  ~TempFile() { fs::remove(path); }
  std::string read() const {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST(CsvLogger, HeaderOnceRowsFlushedFullPrecision) {
  TempFile file;
  CsvLogger log(file.path.string());
  log.log(0, {{"loss", 0.1}, {"accuracy", 1.0 / 3.0}});
  // Flushed per row: readable while the logger is still open.
  EXPECT_EQ(file.read(), "epoch,loss,accuracy\n0,0.1,0.3333333333333333\n");
  // Later rows: any order, missing columns empty.
  log.log(1, {{"accuracy", 0.75}, {"loss", 1e-20}});
  log.log(2, {{"loss", std::nan("")}});
  log.log(3, {{"loss", std::numeric_limits<double>::infinity()}, {"accuracy", 123456789.125}});
  EXPECT_EQ(file.read(),
            "epoch,loss,accuracy\n0,0.1,0.3333333333333333\n1,1e-20,0.75\n2,nan,\n3,inf,123456789.125\n");
  EXPECT_EQ(log.columns(), (std::vector<std::string>{"loss", "accuracy"}));
  // Full precision: the text reads back to the same double.
  EXPECT_EQ(std::strtod("0.3333333333333333", nullptr), 1.0 / 3.0);
}

TEST(CsvLogger, QuotesNamesThatNeedIt) {
  TempFile file;
  CsvLogger log(file.path.string());
  log.log(5, {{"f1,macro", 0.5}, {"say \"hi\"", 2.0}});
  EXPECT_EQ(file.read(), "epoch,\"f1,macro\",\"say \"\"hi\"\"\"\n5,0.5,2\n");
}

TEST(CsvLogger, AppendReusesTheHeader) {
  TempFile file;
  { CsvLogger(file.path.string()).log(0, {{"loss", 2.0}, {"val,loss", 3.0}}); }
  {
    CsvLogger log(file.path.string(), /*append=*/true);
    EXPECT_EQ(log.columns(), (std::vector<std::string>{"loss", "val,loss"}));
    log.log(1, {{"val,loss", 1.5}, {"loss", 1.0}});
  }
  EXPECT_EQ(file.read(), "epoch,loss,\"val,loss\"\n0,2,3\n1,1,1.5\n");
  // Without append the file starts over.
  { CsvLogger(file.path.string()).log(0, {{"acc", 0.5}}); }
  EXPECT_EQ(file.read(), "epoch,acc\n0,0.5\n");
  // A row cut off by a crash does not swallow the next one.
  { std::ofstream(file.path, std::ios::app) << "1,0.7"; }
  CsvLogger(file.path.string(), true).log(2, {{"acc", 0.9}});
  EXPECT_EQ(file.read(), "epoch,acc\n0,0.5\n1,0.7\n2,0.9\n");
}

TEST(CsvLogger, Errors) {
  TempFile file;
  CsvLogger log(file.path.string());
  EXPECT_THROW_MSG(log.log(0, {}), "[csv_logger] the first row (epoch 0) has no values");
  EXPECT_THROW_MSG(log.log(0, {{"epoch", 1.0}}), "[csv_logger] column name 'epoch' is reserved or empty");
  EXPECT_THROW_MSG(log.log(0, {{"a", 1.0}, {"a", 2.0}}), "[csv_logger] column 'a' appears twice in the row for epoch 0");
  log.log(0, {{"loss", 1.0}, {"acc", 0.5}});
  EXPECT_THROW_MSG(log.log(1, {{"loss", 1.0}, {"f1", 0.5}}),
                   "[csv_logger] column 'f1' (epoch 1) is not in the header: epoch,loss,acc");
  EXPECT_THROW_MSG(CsvLogger("/nonexistent_dir_forge/x.csv"), "[csv_logger] cannot open /nonexistent_dir_forge/x.csv");
  TempFile other;
  { std::ofstream(other.path) << "step,loss\n0,1\n"; }
  EXPECT_THROW_MSG(CsvLogger(other.path.string(), true), "header starts with 'step', not 'epoch'");
}

}  // namespace
}  // namespace forge
