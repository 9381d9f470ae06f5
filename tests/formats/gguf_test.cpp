#include "formats/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "test_util.h"

namespace forge {
namespace {

// An in-memory ByteSource so the fuzz loop needs no files.
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::vector<uint8_t> bytes) : name_("mem.gguf") {
    storage_ = Storage::allocate(std::max<size_t>(bytes.size(), 1));
    if (!bytes.empty()) std::memcpy(storage_->data(), bytes.data(), bytes.size());
    size_ = bytes.size();
  }
  const std::string& name() const override { return name_; }
  size_t size() const override { return size_; }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(storage_->data()); }
  std::shared_ptr<Storage> storage() override { return storage_; }

 private:
  std::string name_;
  size_t size_ = 0;
  std::shared_ptr<Storage> storage_;
};

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / fmt::format("forge_gguf_{}_{}", ::getpid(), name)).string();
}

std::vector<uint8_t> read_all(const std::string& path) {
  auto src = open_file(path);
  return std::vector<uint8_t>(src->data(), src->data() + src->size());
}

// A small file with every metadata kind and a few tensor types.
std::string write_sample(const std::string& name) {
  GgufValue nested;
  nested.type = GgufType::kArray;
  nested.array_type = GgufType::kArray;
  nested.array.push_back(GgufValue::from_i32s({1, 2, 3}));
  nested.array.push_back(GgufValue::from_i32s({4}));
  GgufValue u8v;
  u8v.type = GgufType::kU8;
  u8v.u = 7;
  GgufValue i64v;
  i64v.type = GgufType::kI64;
  i64v.i = -5;
  GgufValue f64v;
  f64v.type = GgufType::kF64;
  f64v.f = 2.5;
  std::vector<std::pair<std::string, GgufValue>> md = {
      {"general.architecture", GgufValue::from_string("llama")},
      {"test.u32", GgufValue::from_u32(42)},
      {"test.u8", u8v},
      {"test.i64", i64v},
      {"test.f32", GgufValue::from_f32(0.5f)},
      {"test.f64", f64v},
      {"test.bool", GgufValue::from_bool(true)},
      {"test.strings", GgufValue::from_strings({"a", "bc", ""})},
      {"test.nested", nested},
  };
  Tensor w = arange(0, 12).reshape({3, 4});
  Tensor q = empty({2, 32}, DType::kQ8_0);
  std::memset(q.raw_data(), 1, nbytes_for(DType::kQ8_0, 64));
  Tensor ids = empty({3}, DType::kI32);
  for (int k = 0; k < 3; ++k) ids.data<int32_t>()[k] = k * 10;
  const std::string path = temp_path(name);
  save_gguf(path, md, {{"w", w}, {"q", q}, {"ids", ids}});
  return path;
}

TEST(Gguf, RoundTripMetadataAndTensors) {
  const std::string path = write_sample("rt.gguf");
  GgufFile g = load_gguf(path);
  EXPECT_EQ(g.version, 3u);
  EXPECT_EQ(g.alignment, 32u);
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(g.at("test.u32").as_int(), 42);
  EXPECT_EQ(g.at("test.u8").as_int(), 7);
  EXPECT_EQ(g.at("test.i64").as_int(), -5);
  EXPECT_FLOAT_EQ(static_cast<float>(g.at("test.f32").as_float()), 0.5f);
  EXPECT_DOUBLE_EQ(g.at("test.f64").as_float(), 2.5);
  EXPECT_TRUE(g.at("test.bool").as_bool());
  EXPECT_EQ(g.at("test.strings").as_strings(), (std::vector<std::string>{"a", "bc", ""}));
  const auto& nested = g.at("test.nested").as_array();
  ASSERT_EQ(nested.size(), 2u);
  EXPECT_EQ(nested[0].as_ints(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(nested[1].as_ints(), (std::vector<int64_t>{4}));
  EXPECT_EQ(g.get_int("missing", 9), 9);
  EXPECT_THROW_MSG(g.at("missing"), "metadata key 'missing' is missing");
  EXPECT_THROW_MSG(g.at("test.u32").as_string("test.u32"), "metadata 'test.u32' is u32, expected string");

  ASSERT_EQ(g.tensor_infos.size(), 3u);
  Tensor w = g.tensor("w");
  EXPECT_EQ(w.shape(), (Shape{3, 4}));
  EXPECT_EQ(g.info("w").ne, (std::vector<uint64_t>{4, 3}));
  EXPECT_EQ(w.dtype(), DType::kF32);
  for (int k = 0; k < 12; ++k) EXPECT_EQ(w.data<float>()[k], static_cast<float>(k));
  // zero-copy: the tensor's bytes lie inside the mapping
  EXPECT_EQ(static_cast<const uint8_t*>(w.raw_data()), g.source->data() + g.data_offset + g.info("w").offset);
  Tensor q = g.tensor("q");
  EXPECT_EQ(q.dtype(), DType::kQ8_0);
  EXPECT_EQ(q.shape(), (Shape{2, 32}));
  EXPECT_EQ(static_cast<const uint8_t*>(q.raw_data())[5], 1);
  Tensor ids = g.tensor("ids");
  EXPECT_EQ(ids.data<int32_t>()[2], 20);
  EXPECT_EQ(g.info("q").offset % 32, 0u);
  EXPECT_THROW_MSG(g.tensor("nope"), "no tensor named 'nope'");
  std::filesystem::remove(path);
}

TEST(Gguf, CustomAlignment) {
  const std::string path = temp_path("align.gguf");
  save_gguf(path, {{"general.architecture", GgufValue::from_string("x")}},
            {{"a", ones({3})}, {"b", ones({5})}}, 64);
  GgufFile g = load_gguf(path);
  EXPECT_EQ(g.alignment, 64u);
  EXPECT_EQ(g.data_offset % 64, 0u);
  EXPECT_EQ(g.info("b").offset % 64, 0u);
  EXPECT_EQ(g.tensor("b").numel(), 5);
  std::filesystem::remove(path);
}

TEST(Gguf, SmolLM2Checkpoint) {
  const std::string path = std::string(FORGE_TEST_MODELS_DIR) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch_models.sh";
  GgufFile g = load_gguf(path);
  EXPECT_EQ(g.version, 3u);
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(g.metadata.size(), 33u);  // gguf-py lists 36 fields including the 3 header fields
  EXPECT_EQ(g.tensor_infos.size(), 272u);
  EXPECT_EQ(g.get_int("llama.embedding_length", 0), 576);
  EXPECT_EQ(g.get_int("llama.attention.head_count_kv", 0), 3);
  EXPECT_EQ(g.at("tokenizer.ggml.tokens").as_strings().size(), 49152u);
  const auto& emb = g.info("token_embd.weight");
  EXPECT_EQ(emb.shape, (Shape{49152, 576}));
  EXPECT_EQ(emb.dtype, DType::kQ8_0);
  EXPECT_EQ(g.data_offset + emb.offset, 1785664u);  // gguf-py's data_offset
  Tensor down = g.tensor("blk.0.ffn_down.weight");
  EXPECT_EQ(down.dtype(), DType::kQ4_1);
  EXPECT_EQ(down.shape(), (Shape{576, 1536}));
  EXPECT_EQ(g.data_offset + g.info("blk.0.ffn_down.weight").offset, 31868992u);
}

std::vector<uint8_t> patched(std::vector<uint8_t> b, size_t at, const void* p, size_t n) {
  std::memcpy(b.data() + at, p, n);
  return b;
}

TEST(Gguf, MalformedHeadersThrowClearErrors) {
  const std::string path = write_sample("bad.gguf");
  const auto good = read_all(path);
  std::filesystem::remove(path);
  auto load = [](std::vector<uint8_t> b) { return load_gguf(std::make_shared<MemorySource>(std::move(b))); };
  EXPECT_THROW_MSG(load({1, 2, 3}), "too short for a GGUF header");
  EXPECT_THROW_MSG(load(patched(good, 0, "GGUX", 4)), "not a GGUF file");
  const uint32_t v1 = 1, v9 = 9;
  EXPECT_THROW_MSG(load(patched(good, 4, &v1, 4)), "version 1 is not supported");
  EXPECT_THROW_MSG(load(patched(good, 4, &v9, 4)), "unsupported GGUF version 9");
  const uint64_t huge = uint64_t{1} << 60;
  EXPECT_THROW_MSG(load(patched(good, 8, &huge, 8)), "claims 1152921504606846976 tensors");
  EXPECT_THROW_MSG(load(patched(good, 16, &huge, 8)), "metadata entries");
  // first key length
  EXPECT_THROW_MSG(load(patched(good, 24, &huge, 8)), "has length 1152921504606846976");
  std::vector<uint8_t> truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() - 8));
  EXPECT_THROW_MSG(load(truncated), "runs past the end of the file");
}

TEST(Gguf, DuplicateAndInvalidTensors) {
  EXPECT_THROW_MSG(save_gguf(temp_path("dup.gguf"), {}, {{"a", ones({2})}, {"a", ones({2})}}),
                   "duplicate tensor name 'a'");
  EXPECT_THROW_MSG(save_gguf(temp_path("al.gguf"), {}, {{"a", ones({2})}}, 24), "alignment 24 must be a power of two");
  // Hand-made duplicate: write two tensors then rename the second to the first.
  const std::string path = temp_path("dup2.gguf");
  save_gguf(path, {}, {{"aa", ones({2})}, {"ab", ones({2})}});
  auto bytes = read_all(path);
  std::filesystem::remove(path);
  for (size_t k = 0; k + 2 <= bytes.size(); ++k) {
    if (bytes[k] == 'a' && bytes[k + 1] == 'b') {
      bytes[k + 1] = 'a';
      break;
    }
  }
  EXPECT_THROW_MSG(load_gguf(std::make_shared<MemorySource>(bytes)), "duplicate tensor name 'aa'");
}

// Fuzz-style: thousands of random byte edits and truncations of a valid file must each either
// load (and then every tensor view must lie inside the buffer) or throw forge::Error.
TEST(Gguf, FuzzMutationsNeverCrash) {
  const std::string path = write_sample("fuzz.gguf");
  const auto good = read_all(path);
  std::filesystem::remove(path);
  std::mt19937 rng(1234);
  int loaded = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> b = good;
    const int kind = iter % 4;
    if (kind == 0) {
      b.resize(rng() % b.size());
    } else {
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % b.size();
        if (kind == 1) {
          b[at] = static_cast<uint8_t>(rng());
        } else if (kind == 2) {
          b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        } else if (at + 8 <= b.size()) {  // plant an extreme 64-bit value
          const uint64_t vals[] = {0, 1, 0xffffffffffffffffull, 0x8000000000000000ull, 0xffffffffull, 1ull << 40};
          const uint64_t v = vals[rng() % 6];
          std::memcpy(b.data() + at, &v, 8);
        }
      }
    }
    auto src = std::make_shared<MemorySource>(b);
    try {
      GgufFile g = load_gguf(src);
      ++loaded;
      for (const auto& ti : g.tensor_infos) {
        EXPECT_LE(g.data_offset + ti.offset + ti.nbytes, b.size());
        if (!ti.supported) continue;
        Tensor t = g.tensor(ti.name);
        EXPECT_EQ(nbytes_for(t.dtype(), t.numel()), ti.nbytes);
      }
      for (const auto& [key, value] : g.metadata) (void)value.to_string();
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(loaded, 100);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace forge
