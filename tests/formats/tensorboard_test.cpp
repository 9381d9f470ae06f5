// TensorBoard event files: CRC32C, protobuf wire encoding, TFRecord framing, and the writer's
// files parsed back. tools/check_tensorboard.py reads the CrossCheckFixture output with the
// real `tensorboard` package (outside ctest).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include "formats/protobuf_wire.h"
#include "formats/tensorboard.h"
#include "formats/tfrecord.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / fmt::format("forge_tb_test_{}_{}", getpid(), counter++);
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string bytes_of(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the CRC-32C check value
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4: 32 bytes of zeros
  const uint32_t crc = crc32c("123456789");
  EXPECT_EQ(masked_crc32c("123456789"), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

TEST(Protobuf, EncodesAndParsesEveryWireType) {
  ProtoWriter w;
  w.varint(1, 300);  // the protobuf docs' example: 08 ac 02
  EXPECT_EQ(w.data(), bytes_of({0x08, 0xac, 0x02}));
  w.int64(2, -1);  // ten bytes, like protobuf's int64
  w.double_value(3, 1.5);
  w.float_value(4, 0.25f);
  w.bytes(5, "hi");
  ProtoWriter nested;
  nested.varint(1, 7);
  w.message(6, nested);
  const auto fields = parse_proto(w.data());
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[0].value, 300u);
  EXPECT_EQ(fields[1].as_int64(), -1);
  EXPECT_EQ(fields[2].type, WireType::kFixed64);
  EXPECT_EQ(fields[2].as_double(), 1.5);
  EXPECT_EQ(fields[3].as_float(), 0.25f);
  EXPECT_EQ(fields[4].bytes, "hi");
  EXPECT_EQ(parse_proto(fields[5].bytes)[0].value, 7u);
  EXPECT_EQ(w.data().size(), 3u + 11 + 9 + 5 + 4 + 4);

  EXPECT_THROW_MSG(parse_proto(bytes_of({0x08, 0xac})), "[protobuf] truncated varint");
  EXPECT_THROW_MSG(parse_proto(bytes_of({0x2a, 0x05, 'a'})), "[protobuf] field 5 at byte 0 claims 5 bytes, 1 left");
  EXPECT_THROW_MSG(parse_proto(bytes_of({0x0b})), "[protobuf] unsupported wire type 3");
  EXPECT_THROW_MSG(w.varint(0, 1), "[protobuf] field number must be in [1, 2^29), got 0");
}

TEST(TfRecord, FramingAndCrcChecks) {
  const std::string record = encode_tfrecord("abc");
  ASSERT_EQ(record.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(record.substr(0, 8), bytes_of({3, 0, 0, 0, 0, 0, 0, 0}));
  const std::string two = record + encode_tfrecord("");
  EXPECT_EQ(decode_tfrecords(two), (std::vector<std::string>{"abc", ""}));

  std::string bad_data = record;
  bad_data[13] ^= 1;
  EXPECT_THROW_MSG(decode_tfrecords(bad_data, "f"), "[tfrecord] f: record 0 data CRC mismatch");
  std::string bad_length = two;
  bad_length[record.size()] = 9;
  EXPECT_THROW_MSG(decode_tfrecords(bad_length, "f"), "[tfrecord] f: record 1 length CRC mismatch");
  EXPECT_THROW_MSG(decode_tfrecords(record.substr(0, 17), "f"), "[tfrecord] f: record 0 needs 3 data bytes");
  EXPECT_THROW_MSG(decode_tfrecords(record.substr(0, 5), "f"), "[tfrecord] f: record 0 truncated in its 12-byte header");
}

TEST(TensorBoard, WritesEventsThatParseBack) {
  TempDir dir;
  const std::string logdir = (dir.path / "runs" / "exp1").string();  // parents are created
  std::string path;
  {
    TensorBoardWriter writer(logdir);
    path = writer.path();
    for (int64_t step = 0; step < 3; ++step) {
      writer.add_scalar("train/loss", 1.0 / static_cast<double>(step + 1), step);
      writer.add_scalar("val/accuracy", 0.5 + 0.125 * static_cast<double>(step), step);
    }
    writer.flush();
    EXPECT_EQ(read_tensorboard_events(path).size(), 7u);  // visible after flush, before close
  }
  EXPECT_EQ(fs::path(path).parent_path(), fs::path(logdir));
  const std::regex name(R"(events\.out\.tfevents\.\d{10}\..+)");
  EXPECT_TRUE(std::regex_match(fs::path(path).filename().string(), name)) << path;

  const auto events = read_tensorboard_events(path);
  ASSERT_EQ(events.size(), 7u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_TRUE(events[0].scalars.empty());
  const double now = static_cast<double>(std::time(nullptr));
  for (size_t i = 0; i < events.size(); ++i) EXPECT_NEAR(events[i].wall_time, now, 60.0) << i;
  for (int64_t step = 0; step < 3; ++step) {
    const auto& loss = events[static_cast<size_t>(1 + 2 * step)];
    const auto& acc = events[static_cast<size_t>(2 + 2 * step)];
    EXPECT_EQ(loss.step, step);
    ASSERT_EQ(loss.scalars.size(), 1u);
    EXPECT_EQ(loss.scalars[0].first, "train/loss");
    EXPECT_EQ(loss.scalars[0].second, static_cast<float>(1.0 / static_cast<double>(step + 1)));
    EXPECT_EQ(acc.scalars[0].first, "val/accuracy");
    EXPECT_EQ(acc.scalars[0].second, static_cast<float>(0.5 + 0.125 * static_cast<double>(step)));
  }
}

TEST(TensorBoard, EventBytesMatchTheProtoByHand) {
  TempDir dir;
  TensorBoardWriter writer(dir.path.string());
  writer.add_scalar("loss", 0.25, 3, 1.5);
  writer.flush();
  const auto records = read_tfrecord_file(writer.path());
  ASSERT_EQ(records.size(), 2u);
  // Event{wall_time(1, fixed64) = 1.5, step(2, varint) = 3,
  //       summary(5) = Summary{value(1) = Value{tag(1) = "loss", simple_value(2, fixed32) = 0.25}}}
  const std::string expected = bytes_of({0x09, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,  //
                                         0x10, 0x03,                           //
                                         0x2a, 0x0d, 0x0a, 0x0b,               //
                                         0x0a, 0x04, 'l', 'o', 's', 's',       //
                                         0x15, 0x00, 0x00, 0x80, 0x3e});
  EXPECT_EQ(records[1], expected);
  // The version event: wall_time, step 0, file_version(3) = "brain.Event:2".
  EXPECT_EQ(records[0].substr(9), bytes_of({0x10, 0x00, 0x1a, 0x0d}) + "brain.Event:2");
}

TEST(TensorBoard, SecondWriterInTheSameSecondGetsItsOwnFile) {
  TempDir dir;
  TensorBoardWriter a(dir.path.string());
  TensorBoardWriter b(dir.path.string());
  EXPECT_NE(a.path(), b.path());
  EXPECT_EQ(read_tensorboard_events(b.path()).size(), 1u);
}

TEST(TensorBoard, Errors) {
  TempDir dir;
  fs::create_directories(dir.path);
  const std::string file = (dir.path / "plain_file").string();
  std::ofstream(file) << "x";
  EXPECT_THROW_MSG(TensorBoardWriter{file}, "[tensorboard] cannot create log directory");
  EXPECT_THROW_MSG(TensorBoardWriter{""}, "[tensorboard] logdir must not be empty");
  TensorBoardWriter writer(dir.path.string());
  EXPECT_THROW_MSG(writer.add_scalar("", 1.0, 4), "[tensorboard] scalar tag must not be empty (step 4)");
  EXPECT_THROW_MSG(read_tensorboard_events((dir.path / "missing").string()), "[tfrecord] cannot open");
}

// Writes a fixed set of scalars for tools/check_tensorboard.py, which sets
// FORGE_TENSORBOARD_CHECK_DIR and reads them with TensorBoard's EventAccumulator.
TEST(TensorBoard, CrossCheckFixture) {
  const char* target = std::getenv("FORGE_TENSORBOARD_CHECK_DIR");
  TempDir dir;
  const std::string logdir = target != nullptr ? std::string(target) : dir.path.string();
  TensorBoardWriter writer(logdir);
  for (int64_t step = 0; step < 5; ++step) {
    writer.add_scalar("loss", 1.0 / static_cast<double>(step + 1), step);
    writer.add_scalar("metrics/accuracy", 0.5 + 0.1 * static_cast<double>(step), step);
  }
  writer.add_scalar("loss", -3.25, int64_t{1} << 40);
  writer.flush();
  EXPECT_EQ(read_tensorboard_events(writer.path()).size(), 12u);
}

}  // namespace
}  // namespace forge
