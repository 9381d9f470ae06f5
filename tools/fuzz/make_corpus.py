#!/usr/bin/env python3
"""Writes the committed seed corpus for the safetensors fuzz target (tools/fuzz/corpus/safetensors)
and a few broken GGUF seeds derived from corpus/gguf/seed_small.gguf. No third-party packages.

Names say what the reader must do: valid_* load, broken_* are rejected with forge::Error
(tests/formats/fuzz_corpus_test.cpp checks both). Inputs starting with '{' are sharded
checkpoints: index JSON, then each shard after the separator b"\\n#shard\\n" (fuzz_targets.h).
    /usr/bin/python3 tools/fuzz/make_corpus.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\n#shard\n"


def safetensors(tensors, metadata=None, pad_to=8, raw_header=None, data_extra=b""):
    """tensors: list of (name, dtype, shape, bytes). Offsets are laid out back to back."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    while (8 + len(text)) % pad_to:
        text += b" "
    return struct.pack("<Q", len(text)) + text + data + data_extra


def f32(*vals):
    return struct.pack(f"<{len(vals)}f", *vals)


def write(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def main():
    st = os.path.join(HERE, "corpus", "safetensors")
    two = [("w", "F32", [2, 2], f32(1, 2, 3, 4)), ("b", "F16", [2], struct.pack("<2e", 0.5, -1.0))]
    write(st, "valid_f32_f16.safetensors", safetensors(two, {"format": "pt"}))
    write(st, "valid_bf16_i64_u8.safetensors",
          safetensors([("x", "BF16", [3], b"\x80\x3f\x00\x40\x40\x40"), ("n", "I64", [1], struct.pack("<q", -7)),
                       ("m", "U8", [2, 0], b"")]))
    # Header padded to an odd length: data starts misaligned, the reader copies instead of viewing.
    write(st, "valid_misaligned.safetensors", safetensors([("w", "F32", [2], f32(1, 2))], pad_to=1))
    write(st, "valid_empty.safetensors", safetensors([]))
    good = safetensors(two)
    write(st, "broken_truncated.safetensors", good[:-3])
    write(st, "broken_short.safetensors", good[:5])
    write(st, "broken_header_length.safetensors", struct.pack("<Q", 2**63) + good[8:])
    write(st, "broken_not_json.safetensors", safetensors([], raw_header=b"{\"w\": [1, 2"))
    write(st, "broken_overlap.safetensors",
          safetensors([], raw_header=json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                 "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode(),
                      data_extra=f32(1, 2, 3)))
    write(st, "broken_dtype.safetensors",
          safetensors([], raw_header=json.dumps({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}).encode(),
                      data_extra=f32(1)))
    write(st, "broken_shape_overflow.safetensors",
          safetensors([], raw_header=json.dumps({"a": {"dtype": "F32", "shape": [2**40, 2**40],
                                                       "data_offsets": [0, 4]}}).encode(), data_extra=f32(1)))
    write(st, "broken_size_mismatch.safetensors",
          safetensors([], raw_header=json.dumps({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode(),
                      data_extra=f32(1, 2)))

    def index(weight_map, metadata=None):
        body = {"weight_map": weight_map}
        if metadata is not None:
            body["metadata"] = metadata
        return json.dumps(body).encode()

    s1 = safetensors([("a", "F32", [2], f32(1, 2))])
    s2 = safetensors([("b", "F32", [1], f32(3)), ("c", "F16", [1], struct.pack("<e", 1.0))])
    wm = {"a": "shard-1.safetensors", "b": "shard-2.safetensors", "c": "shard-2.safetensors"}
    write(st, "valid_index_two_shards", index(wm, {"total_size": 14}) + SEP + s1 + SEP + s2)
    write(st, "broken_index_missing_tensor", index(dict(wm, d="shard-1.safetensors")) + SEP + s1 + SEP + s2)
    write(st, "broken_index_wrong_shard", index(dict(wm, a="shard-2.safetensors")) + SEP + s1 + SEP + s2)
    write(st, "broken_index_path_escape", index({"a": "../shard-1.safetensors"}) + SEP + s1)
    write(st, "broken_index_missing_shard", index({"a": "shard-3.safetensors"}) + SEP + s1)
    s2a = safetensors([("a", "F32", [2], f32(5, 6)), ("b", "F32", [1], f32(3))])
    write(st, "broken_index_duplicate", index({"a": "shard-1.safetensors", "b": "shard-2.safetensors"}) + SEP + s1 + SEP + s2a)
    # Found by the fuzzer: a shard name longer than the OS allows made std::filesystem throw.
    write(st, "broken_index_long_shard_name", index({"a": "x" * 300}) + SEP + s1)
    write(st, "broken_index_no_weight_map", b'{"metadata": {}}' + SEP + s1)
    write(st, "broken_index_bad_shard", index({"a": "shard-1.safetensors"}) + SEP + s1[:-2])

    gg = os.path.join(HERE, "corpus", "gguf")
    with open(os.path.join(gg, "seed_small.gguf"), "rb") as f:
        small = f.read()
    write(gg, "broken_truncated.gguf", small[: len(small) // 2])
    write(gg, "broken_version.gguf", small[:4] + struct.pack("<I", 1) + small[8:])
    write(gg, "broken_tensor_count.gguf", small[:8] + struct.pack("<Q", 2**62) + small[16:])


if __name__ == "__main__":
    main()
