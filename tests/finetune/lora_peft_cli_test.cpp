// LoRA adapters from outside: a Python check that reads our adapter by PEFT's names and merge
// rule (tools/lora/check_peft_adapter.py, venv torch), the finetune recipe's data handling, and
// black-box CLI runs (forge finetune --max-steps 2, generate/chat --lora, lora merge).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/cli_util.h"
#include "finetune/lora_data.h"
#include "finetune/lora_test_util.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "llm/llm_test_util.h"
#include "models/lora.h"
#include "ops/reduce.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("forge_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string hf_name(const std::string& module, int64_t layer) {
  return models::lora_tensor_prefix(module, layer).substr(std::string("base_model.model.").size()) + ".weight";
}

TEST(LoraPeft, PythonReadsAdapterByPeftNamesAndMergeRule) {
  const fs::path dir = fresh_dir("lora_peft");
  const std::vector<std::string> targets = {"q_proj", "k_proj", "o_proj", "gate_proj", "down_proj"};
  const auto base = test::tiny_checkpoint(false);
  const auto adapter = test::random_adapter(base, targets);
  models::save_lora_adapter((dir / "adapter").string(), adapter);
  const auto merged = models::apply_lora(base, adapter);
  std::vector<std::pair<std::string, Tensor>> base_w, merged_w;
  for (int64_t l = 0; l < base.config.n_layer; ++l) {
    for (const auto& m : targets) {
      const std::string role = models::lora_module(m).role;
      base_w.emplace_back(hf_name(m, l), base.lookup(role, l));
      merged_w.emplace_back(hf_name(m, l), merged.lookup(role, l));
    }
  }
  save_safetensors((dir / "base.safetensors").string(), base_w);
  save_safetensors((dir / "merged.safetensors").string(), merged_w);
  const std::string cmd = std::string(FORGE_TEST_PYTHON) + " " + FORGE_TEST_DATA_DIR +
                          "/../tools/lora/check_peft_adapter.py " + (dir / "adapter").string() + " " +
                          (dir / "base.safetensors").string() + " " + (dir / "merged.safetensors").string() + " 2>&1";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "check_peft_adapter.py failed (if a module is missing: bash scripts/setup.sh --test):\n"
      << out;
  EXPECT_NE(out.find("OK 10 modules, r=2, scaling=2"), std::string::npos) << out;
  fs::remove_all(dir);
}

TEST(LoraData, InstructionRowsAndErrors) {
  auto msgs = finetune::parse_instruction_row(R"({"instruction":"Translate","input":"cat","output":"chat"})", "t:1");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].content, "Translate\n\ncat");
  EXPECT_EQ(msgs[1].role, "assistant");
  EXPECT_THROW_MSG(finetune::parse_instruction_row(R"({"instruction":"x"})", "t.jsonl:3"),
                   "[finetune] t.jsonl:3: row needs \"instruction\" and \"output\" (or \"messages\")");
  EXPECT_THROW_MSG(finetune::parse_instruction_row(R"({"instruction":"x","output":7})", "t.jsonl:4"),
                   "[finetune] t.jsonl:4: \"output\" must be a string");
  EXPECT_THROW_MSG(finetune::parse_instruction_row(R"({"messages":[{"role":"user","content":"hi"}]})", "t.jsonl:5"),
                   "[finetune] t.jsonl:5: \"messages\" has no assistant turn");
  EXPECT_THROW_MSG(finetune::parse_instruction_row(R"({"messages":[{"role":"user"}]})", "t.jsonl:6"),
                   "[finetune] t.jsonl:6: row needs \"content\"");
  EXPECT_THROW_MSG(finetune::parse_instruction_row("not json", "t.jsonl:7"), "[finetune] t.jsonl:7: not a JSON object");
}

// Response masking on the real tokenizer and template: exactly the assistant text and its
// end-of-turn marker carry loss.
TEST(LoraData, ResponseMaskOnSmolLM2) {
  ASSERT_TRUE(fs::exists(test::smollm2_path()))
      << "run scripts/fetch_models.sh (model missing: " << test::smollm2_path() << ")";
  const GgufFile g = load_gguf(test::smollm2_path());
  const auto ck = models::open_llama_gguf(test::smollm2_path());
  const auto tmpl = llm::ChatTemplate::detect(*ck.chat_template);
  const std::vector<llm::ChatMessage> msgs = {{"user", "Hi"}, {"assistant", "ANSWER: 4"}};
  const auto ex = finetune::make_lora_example(msgs, tmpl, *ck.tokenizer, 512);
  std::vector<int32_t> resp;
  for (size_t i = 0; i < ex.ids.size(); ++i) {
    if (ex.is_response[i] != 0) resp.push_back(ex.ids[i]);
  }
  EXPECT_EQ(ck.tokenizer->decode(resp), "ANSWER: 4<|im_end|>\n");
  EXPECT_EQ(ck.tokenizer->decode(ex.ids), tmpl.render(msgs, false));
  const auto cut = finetune::make_lora_example(msgs, tmpl, *ck.tokenizer, 5);
  EXPECT_EQ(cut.ids.size(), 5u);
  EXPECT_EQ(cut.response_tokens(), 0);
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string smoke_config(const fs::path& dir, const std::string& lora_extra = "", const std::string& data = "") {
  write(dir / "train.jsonl", data.empty() ? "{\"instruction\":\"What is 2+2?\",\"output\":\"ANSWER: 4\"}\n"
                                            "{\"instruction\":\"Capital of Peru?\",\"output\":\"ANSWER: Lima\"}\n"
                                            "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
                                            "{\"role\":\"assistant\",\"content\":\"ANSWER: hello\"}]}\n"
                                          : data);
  const fs::path cfg = dir / "lora.toml";
  write(cfg,
        "name = \"smoke\"\n[model]\ntype = \"llama\"\npath = \"" + test::smollm2_path() +
            "\"\n[data]\njsonl = \"train.jsonl\"\n[lora]\n" +
            (lora_extra.empty() ? "rank = 4\nalpha = 8\ntarget_modules = [\"q_proj\", \"v_proj\"]\n" : lora_extra) +
            "[train]\nepochs = 1\nbatch_size = 2\naccumulation = 1\nlr = 1e-3\nmax_len = 48\nthreads = 2\n");
  return cfg.string();
}

TEST(LoraCli, FinetuneTwoStepsThenGenerateChatAndMerge) {
  ASSERT_TRUE(fs::exists(test::smollm2_path()))
      << "run scripts/fetch_models.sh (model missing: " << test::smollm2_path() << ")";
  const fs::path dir = fresh_dir("lora_cli");
  const std::string cfg = smoke_config(dir);
  const fs::path run = dir / "run";
  auto r = test::run_forge("finetune " + cfg + " --max-steps 2 --out " + run.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step 2/2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tokens/s"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::exists(run / "adapter" / "adapter_model.safetensors"));
  ASSERT_TRUE(fs::exists(run / "adapter" / "adapter_config.json"));
  std::ifstream mf(run / "metrics.json");
  const auto m = nlohmann::json::parse(mf);
  EXPECT_EQ(m["steps"], 2);
  EXPECT_TRUE(m["final_loss"].is_number());
  const auto adapter = models::load_lora_adapter((run / "adapter").string());
  EXPECT_EQ(adapter.weights.size(), 2u * 30u);  // q_proj and v_proj in 30 layers
  // The trained B is no longer zero.
  double bmax = 0;
  for (const auto& [k, p] : adapter.weights) bmax = std::max(bmax, max(abs(p.b)).item());
  EXPECT_GT(bmax, 0.0);

  r = test::run_forge("generate " + test::smollm2_path() + " --lora " + run.string() +
                      " -p Hello -n 4 -t 0 --no-prompt");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = test::run_forge("chat " + test::smollm2_path() + " --lora " + (run / "adapter").string() +
                      " -n 4 -t 0 < /dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.output;

  const fs::path merged = dir / "merged.gguf";
  r = test::run_forge("lora merge " + test::smollm2_path() + " " + run.string() + " " + merged.string() +
                      " --type q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("merged 60 weights"), std::string::npos) << r.output;
  const GgufFile g = load_gguf(merged.string());
  EXPECT_EQ(g.info("blk.0.attn_q.weight").dtype, DType::kQ8_0);
  EXPECT_EQ(g.info("blk.0.attn_k.weight").type, load_gguf(test::smollm2_path()).info("blk.0.attn_k.weight").type);
  r = test::run_forge("generate " + merged.string() + " -p Hello -n 2 -t 0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  fs::remove_all(dir);
}

// Step 1's loss and (pre-clip) gradient norm, from history.csv.
std::pair<double, double> first_step(const fs::path& run) {
  std::ifstream in(run / "history.csv");
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  EXPECT_EQ(f.size(), 6u) << line;
  return f.size() == 6 ? std::make_pair(std::stod(f[2]), std::stod(f[4])) : std::make_pair(0.0, 0.0);
}

// batch_size 1 x accumulation 2 computes the same step as batch_size 2: the loss is normalized
// over the response tokens of the whole window (rows of different lengths make a per-batch mean
// differ).
TEST(LoraCli, AccumulationEqualsLargeBatch) {
  ASSERT_TRUE(fs::exists(test::smollm2_path()))
      << "run scripts/fetch_models.sh (model missing: " << test::smollm2_path() << ")";
  const fs::path dir = fresh_dir("lora_accum");
  const std::string data =
      "{\"instruction\":\"Say hi\",\"output\":\"hi\"}\n"
      "{\"instruction\":\"Count to five\",\"output\":\"one two three four five, and that is all\"}\n";
  std::pair<double, double> res[2];
  for (int k = 0; k < 2; ++k) {
    const std::string cfg = smoke_config(dir, "rank = 4\ndropout = 0.0\ntarget_modules = [\"v_proj\"]\n", data);
    std::string text;
    {
      std::ifstream in(cfg);
      std::stringstream ss;
      ss << in.rdbuf();
      text = ss.str();
    }
    const std::string from = "batch_size = 2\naccumulation = 1";
    text.replace(text.find(from), from.size(), k == 0 ? from : "batch_size = 1\naccumulation = 2");
    write(cfg, text);
    const fs::path run = dir / ("run" + std::to_string(k));
    auto r = test::run_forge("finetune " + cfg + " --max-steps 1 --quiet --out " + run.string());
    ASSERT_EQ(r.exit_code, 0) << r.output;
    res[k] = first_step(run);
  }
  EXPECT_NEAR(res[0].first, res[1].first, 1e-5 * std::abs(res[0].first));
  EXPECT_NEAR(res[0].second, res[1].second, 1e-4 * res[0].second);
  EXPECT_GT(res[0].second, 0.0);
  fs::remove_all(dir);
}

TEST(LoraCli, BadInputFailsClearly) {
  ASSERT_TRUE(fs::exists(test::smollm2_path()))
      << "run scripts/fetch_models.sh (model missing: " << test::smollm2_path() << ")";
  const fs::path dir = fresh_dir("lora_cli_bad");
  auto r = test::run_forge("finetune " + smoke_config(dir, "rank = 4\ntarget_modules = [\"q_proj\", \"qkv\"]\n"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("unknown target module 'qkv'"), std::string::npos) << r.output;
  r = test::run_forge("finetune " + smoke_config(dir, "rank = 0\n"));
  EXPECT_NE(r.output.find("[lora] rank must be > 0, got 0"), std::string::npos) << r.output;
  r = test::run_forge("finetune " + smoke_config(dir, "", "{\"instruction\":\"x\",\"answer\":\"y\"}\n"));
  EXPECT_NE(r.output.find("train.jsonl:1: row needs \"instruction\" and \"output\""), std::string::npos) << r.output;
  r = test::run_forge("finetune " + smoke_config(dir, "rank = 4\nranks = 3\n"));
  EXPECT_NE(r.output.find("unknown key 'ranks' in [lora]"), std::string::npos) << r.output;
  // An adapter whose shapes do not fit the base.
  const auto tiny = test::random_adapter(test::tiny_checkpoint(false), {"q_proj"});
  models::save_lora_adapter((dir / "tiny").string(), tiny);
  r = test::run_forge("generate " + test::smollm2_path() + " --lora " + (dir / "tiny").string() + " -p Hi -n 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("error: [lora] adapter/base shape mismatch: q_proj layer 0"), std::string::npos) << r.output;
  r = test::run_forge("lora merge " + test::smollm2_path() + " " + (dir / "nothing").string() + " " +
                      (dir / "o.gguf").string());
  EXPECT_NE(r.output.find("not a LoRA adapter"), std::string::npos) << r.output;
  r = test::run_forge("lora merge " + test::smollm2_path() + " " + (dir / "tiny").string() + " " +
                      (dir / "o.gguf").string() + " --type q5_9");
  EXPECT_NE(r.output.find("unknown --type 'q5_9'"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace forge
