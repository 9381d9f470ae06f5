#!/usr/bin/env python3
"""Cross-checks Forge's TensorBoard event files with the real `tensorboard` package.

Not part of ctest (it needs PyPI's tensorboard). Set up once and run after building:
    python3 -m venv /tmp/tbvenv && /tmp/tbvenv/bin/pip install tensorboard
    /tmp/tbvenv/bin/python tools/check_tensorboard.py [--test-binary build/tests/test_formats]

It runs the C++ test TensorBoard.CrossCheckFixture with FORGE_TENSORBOARD_CHECK_DIR pointing
at a temporary log directory, then
  1. checks every TFRecord CRC with tensorboard's own masked_crc32c,
  2. parses every record with the generated protobuf class tensorboard.compat.proto.event_pb2,
  3. loads the directory with EventAccumulator (what the TensorBoard UI uses) and compares
     tags, steps and values with what the fixture wrote.
Exits non-zero with a message on the first mismatch.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# What TensorBoard.CrossCheckFixture (tests/formats/tensorboard_test.cpp) writes.
EXPECTED = {
    "loss": [(step, 1.0 / (step + 1)) for step in range(5)] + [(1 << 40, -3.25)],
    "metrics/accuracy": [(step, 0.5 + 0.1 * step) for step in range(5)],
}


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def read_records(path):
    with open(path, "rb") as f:
        data = f.read()
    pos, records = 0, []
    while pos < len(data):
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if length_crc != masked_crc32c(header):
            fail(f"record {len(records)}: length CRC {length_crc:#x} != {masked_crc32c(header):#x}")
        payload = data[pos + 12:pos + 12 + length]
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if data_crc != masked_crc32c(payload):
            fail(f"record {len(records)}: data CRC {data_crc:#x} != {masked_crc32c(payload):#x}")
        records.append(payload)
        pos += 16 + length
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--test-binary", default=os.path.join(ROOT, "build", "tests", "test_formats"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as logdir:
        env = dict(os.environ, FORGE_TENSORBOARD_CHECK_DIR=logdir)
        subprocess.run([args.test_binary, "--gtest_filter=TensorBoard.CrossCheckFixture"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        files = [f for f in os.listdir(logdir) if f.startswith("events.out.tfevents.")]
        if len(files) != 1:
            fail(f"expected one event file in {logdir}, found {files}")

        records = read_records(os.path.join(logdir, files[0]))
        events = [event_pb2.Event.FromString(r) for r in records]
        if events[0].file_version != "brain.Event:2":
            fail(f"first event has file_version {events[0].file_version!r}")
        if len(events) != 1 + sum(len(v) for v in EXPECTED.values()):
            fail(f"{len(events)} events")
        print(f"protobuf + CRC check: {len(events)} records OK ({files[0]})")

        acc = EventAccumulator(logdir)
        acc.Reload()
        tags = sorted(acc.Tags()["scalars"])
        if tags != sorted(EXPECTED):
            fail(f"scalar tags {tags}, expected {sorted(EXPECTED)}")
        for tag, expected in EXPECTED.items():
            got = [(e.step, e.value) for e in acc.Scalars(tag)]
            want = [(step, float(np.float32(value))) for step, value in expected]
            if got != want:
                fail(f"{tag}: {got} != {want}")
            print(f"EventAccumulator {tag}: {len(got)} scalars OK")
    print("PASS")


if __name__ == "__main__":
    main()
