#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "formats/hf_config.h"
#include "formats/safetensors_sharded.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("forge_hf_{}_{}", ::getpid(), name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(HfConfig, TypedAccessAndErrors) {
  HfConfig c = HfConfig::parse(R"({"model_type": "llama", "hidden_size": 576, "rms_norm_eps": 1e-5,
      "tie_word_embeddings": true, "rope_scaling": null, "name": 3, "architectures": ["LlamaForCausalLM"],
      "sub": {"factor": 2.0}})");
  EXPECT_EQ(c.model_type(), "llama");
  EXPECT_EQ(c.get_int("hidden_size"), 576);
  EXPECT_DOUBLE_EQ(c.get_float("rms_norm_eps"), 1e-5);
  EXPECT_DOUBLE_EQ(c.get_float("hidden_size"), 576.0);
  EXPECT_TRUE(c.get_bool("tie_word_embeddings"));
  EXPECT_FALSE(c.has("rope_scaling"));
  EXPECT_FALSE(c.get_object("rope_scaling").has_value());
  EXPECT_DOUBLE_EQ(c.get_object("sub")->get_float("factor"), 2.0);
  EXPECT_EQ(c.get_int("num_layers", 12), 12);
  EXPECT_EQ(c.architectures(), (std::vector<std::string>{"LlamaForCausalLM"}));
  EXPECT_THROW_MSG(c.get_int("rms_norm_eps"), "'rms_norm_eps' must be an integer, got float");
  EXPECT_THROW_MSG(c.get_string("name", "x"), "config.json: 'name' must be a string, got integer");
  EXPECT_THROW_MSG(c.get_int("vocab_size"), "required key 'vocab_size' is missing");
  EXPECT_THROW_MSG(HfConfig::parse("[1]"), "expected a JSON object, got array");
  EXPECT_THROW_MSG(HfConfig::parse("{oops"), "not valid JSON");
}

TEST(HfConfig, MiniLMConfig) {
  HfConfig c = HfConfig::load(std::string(FORGE_TEST_MODELS_DIR) + "/all-minilm-l6-v2");
  EXPECT_EQ(c.model_type(), "bert");
  EXPECT_EQ(c.get_int("hidden_size"), 384);
  EXPECT_EQ(c.get_int("num_hidden_layers"), 6);
}

TEST(SafetensorsSharded, IndexSingleAndErrors) {
  const fs::path d = temp_dir("shards");
  save_safetensors((d / "a.safetensors").string(), {{"x", ones({2})}, {"y", zeros({3})}});
  save_safetensors((d / "b.safetensors").string(), {{"z", full({2, 2}, 4.0)}});
  write_text(d / "model.safetensors.index.json",
             R"({"metadata": {"total_size": 36}, "weight_map": {"x": "a.safetensors", "y": "a.safetensors",
                 "z": "b.safetensors"}})");
  SafetensorsFile f = load_safetensors_checkpoint(d.string());
  EXPECT_EQ(f.tensors.size(), 3u);
  EXPECT_EQ(f.at("z").shape(), (Shape{2, 2}));
  EXPECT_EQ(f.at("z").data<float>()[3], 4.0f);
  EXPECT_EQ(f.metadata.at("total_size"), "36");
  EXPECT_EQ(safetensors_checkpoint_files(d.string()).size(), 2u);

  write_text(d / "model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors", "w": "b.safetensors"}})");
  EXPECT_THROW_MSG(load_safetensors_checkpoint(d.string()), "tensor 'w' is listed in the index but missing");
  write_text(d / "model.safetensors.index.json", R"({"weight_map": {"x": "../a.safetensors"}})");
  EXPECT_THROW_MSG(load_safetensors_checkpoint(d.string()), "must be a plain file name");
  write_text(d / "model.safetensors.index.json", R"({"weight_map": {"x": "c.safetensors"}})");
  EXPECT_THROW_MSG(load_safetensors_checkpoint(d.string()), "shard");
  save_safetensors((d / "c.safetensors").string(), {{"x", ones({2})}});
  write_text(d / "model.safetensors.index.json", R"({"weight_map": {"x": "a.safetensors", "q": "c.safetensors"}})");
  EXPECT_THROW_MSG(load_safetensors_checkpoint(d.string()), "tensor 'x' appears in both");

  const fs::path single = temp_dir("single");
  save_safetensors((single / "model.safetensors").string(), {{"w", ones({4})}});
  EXPECT_EQ(load_safetensors_checkpoint(single.string()).at("w").numel(), 4);
  EXPECT_THROW_MSG(load_safetensors_checkpoint(temp_dir("empty").string()), "no model.safetensors");
  fs::remove_all(d);
  fs::remove_all(single);
}

TEST(SafetensorsSharded, MiniLMSingleFile) {
  SafetensorsFile f = load_safetensors_checkpoint(std::string(FORGE_TEST_MODELS_DIR) + "/all-minilm-l6-v2");
  EXPECT_GT(f.tensors.size(), 100u);
}

}  // namespace
}  // namespace forge
