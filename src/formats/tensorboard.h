#pragma once
// TensorBoard event files: a TFRecord stream of tensorflow.Event protobufs, hand-encoded.
// The first event carries file_version "brain.Event:2"; each scalar is
// Event{wall_time, step, summary{value{tag, simple_value}}}. `tensorboard --logdir LOGDIR`
// shows them under the Scalars tab.
#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace forge {

class TensorBoardWriter {
 public:
  // Creates logdir (and parents) and the file events.out.tfevents.<unix time>.<hostname>
  // in it (".1", ".2", ... appended if that name is taken), then writes the version event.
  explicit TensorBoardWriter(const std::string& logdir);
  ~TensorBoardWriter();  // flushes
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // Appends one scalar (stored as float32, TensorBoard's simple_value) at `step`, stamped with
  // the current time. Buffered: call flush() (e.g. once per epoch) to make it visible.
  void add_scalar(const std::string& tag, double value, int64_t step);
  // The same with an explicit wall time in seconds since the Unix epoch.
  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time);
  // Pushes buffered events to the file; throws "[tensorboard] PATH: write failed" on I/O errors.
  void flush();
  // The event file being written.
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);

  std::string path_;
  std::ofstream out_;
  std::mutex mutex_;
};

// One decoded event (only the fields the writer produces).
struct TensorBoardEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;                            // set on the version event
  std::vector<std::pair<std::string, float>> scalars;  // (tag, simple_value)
};
// Reads an event file, checking every TFRecord CRC; throws "[tfrecord]" / "[protobuf]" errors.
std::vector<TensorBoardEvent> read_tensorboard_events(const std::string& path);

}  // namespace forge
