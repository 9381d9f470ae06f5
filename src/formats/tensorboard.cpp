#include "formats/tensorboard.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <system_error>

#include "core/error.h"
#include "formats/protobuf_wire.h"
#include "formats/tfrecord.h"

namespace forge {
namespace {

// Field numbers from tensorflow/core/util/event.proto and framework/summary.proto.
constexpr uint32_t kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5;
constexpr uint32_t kSummaryValue = 1;
constexpr uint32_t kValueTag = 1, kValueSimpleValue = 2;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& logdir) {
  namespace fs = std::filesystem;
  FORGE_CHECK(!logdir.empty(), "[tensorboard] logdir must not be empty");
  std::error_code error;
  fs::create_directories(logdir, error);
  FORGE_CHECK(!error && fs::is_directory(logdir), "[tensorboard] cannot create log directory {}: {}", logdir,
              error ? error.message() : "exists and is not a directory");
  const double wall_time = now_seconds();
  const std::string base = (fs::path(logdir) / fmt::format("events.out.tfevents.{}.{}",
                                                            static_cast<int64_t>(wall_time), hostname()))
                               .string();
  path_ = base;
  for (int n = 1; fs::exists(path_); ++n) path_ = fmt::format("{}.{}", base, n);
  out_.open(path_, std::ios::binary | std::ios::out | std::ios::trunc);
  FORGE_CHECK(out_.is_open(), "[tensorboard] cannot create event file {}", path_);

  ProtoWriter event;
  event.double_value(kEventWallTime, wall_time);
  event.int64(kEventStep, 0);
  event.bytes(kEventFileVersion, "brain.Event:2");
  write_record(event.data());
  flush();  // TensorBoard recognises the run as soon as the file has its version event
}

TensorBoardWriter::~TensorBoardWriter() {
  if (out_.is_open()) out_.flush();  // no throwing from a destructor; flush() reports errors
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  add_scalar(tag, value, step, now_seconds());
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  FORGE_CHECK(!tag.empty(), "[tensorboard] scalar tag must not be empty (step {})", step);
  ProtoWriter summary_value;
  summary_value.bytes(kValueTag, tag);
  summary_value.float_value(kValueSimpleValue, static_cast<float>(value));
  ProtoWriter summary;
  summary.message(kSummaryValue, summary_value);
  ProtoWriter event;
  event.double_value(kEventWallTime, wall_time);
  event.int64(kEventStep, step);
  event.message(kEventSummary, summary);
  write_record(event.data());
}

void TensorBoardWriter::write_record(const std::string& event) {
  const std::string record = encode_tfrecord(event);
  std::lock_guard<std::mutex> lock(mutex_);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
}

void TensorBoardWriter::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  out_.flush();
  FORGE_CHECK(out_.good(), "[tensorboard] {}: write failed", path_);
}

std::vector<TensorBoardEvent> read_tensorboard_events(const std::string& path) {
  std::vector<TensorBoardEvent> events;
  for (const std::string& record : read_tfrecord_file(path)) {
    TensorBoardEvent event;
    for (const ProtoField& f : parse_proto(record)) {
      if (f.number == kEventWallTime && f.type == WireType::kFixed64) event.wall_time = f.as_double();
      if (f.number == kEventStep && f.type == WireType::kVarint) event.step = f.as_int64();
      if (f.number == kEventFileVersion && f.type == WireType::kLengthDelimited) event.file_version = f.bytes;
      if (f.number != kEventSummary || f.type != WireType::kLengthDelimited) continue;
      for (const ProtoField& v : parse_proto(f.bytes)) {
        if (v.number != kSummaryValue || v.type != WireType::kLengthDelimited) continue;
        std::pair<std::string, float> scalar;
        for (const ProtoField& field : parse_proto(v.bytes)) {
          if (field.number == kValueTag && field.type == WireType::kLengthDelimited) scalar.first = field.bytes;
          if (field.number == kValueSimpleValue && field.type == WireType::kFixed32) scalar.second = field.as_float();
        }
        event.scalars.push_back(std::move(scalar));
      }
    }
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace forge
