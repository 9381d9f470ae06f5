// The Llama LoRA recipe of `forge finetune` ([model] type = "llama"): instruction JSONL rendered
// with the checkpoint's chat template, loss on response tokens only, AdamW on the LoRA matrices,
// linear warmup then linear decay, gradient accumulation with the loss normalized over the
// response tokens of the whole accumulation window, global-norm clipping. Writes
// <run>/adapter (PEFT directory), metrics.json, history.csv and a copy of the config.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/parallel.h"
#include "core/random.h"
#include "finetune/finetune.h"
#include "finetune/lora_data.h"
#include "formats/byte_source.h"
#include "models/llama_train.h"
#include "nn/loss.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/view.h"
#include "optim/clip.h"
#include "optim/optimizers.h"
#include "optim/schedule.h"

namespace forge::finetune {

namespace fs = std::filesystem;

namespace {

struct LoraRecipe {
  std::string name = "lora";
  std::string model_path, jsonl;
  models::LoraConfig lora;
  int64_t epochs = 3, batch_size = 4, accumulation = 1, warmup = 0, max_len = 256, threads = 0;
  double lr = 2e-4, clip_norm = 1.0, weight_decay = 0.0;
  uint64_t seed = 0;
};

void check_keys(const toml::table& t, const std::string& table, const std::set<std::string>& valid,
                const std::string& path) {
  for (const auto& [k, v] : t) {
    if (valid.count(std::string(k.str())) != 0) continue;
    std::string list;
    for (const auto& s : valid) list += (list.empty() ? "" : ", ") + s;
    fail("[finetune] {}:{}: unknown key '{}' in [{}] (valid: {})", path, k.source().begin.line, k.str(), table, list);
  }
}

// A path from the config: as given when it exists (relative to the working directory), else
// relative to the config file's directory.
std::string resolve(const std::string& p, const std::string& config_path) {
  if (p.empty() || fs::path(p).is_absolute() || fs::exists(p)) return p;
  const fs::path alt = fs::path(config_path).parent_path() / p;
  return fs::exists(alt) ? alt.string() : p;
}

LoraRecipe parse_recipe(const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail("[finetune] {}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, e.description());
  }
  check_keys(t, "top level", {"name", "model", "data", "lora", "train"}, path);
  LoraRecipe r;
  r.name = t["name"].value_or(r.name);
  auto table = [&](const char* name, const std::set<std::string>& keys) {
    const toml::table* sub = t[name].as_table();
    if (sub != nullptr) check_keys(*sub, name, keys, path);
    return t[name];
  };
  auto m = table("model", {"type", "path"});
  r.model_path = m["path"].value_or(std::string());
  FORGE_CHECK(!r.model_path.empty(), "[finetune] {}: [model] path is required (a .gguf file or Hugging Face dir)",
              path);
  r.model_path = resolve(r.model_path, path);
  auto d = table("data", {"jsonl"});
  r.jsonl = d["jsonl"].value_or(std::string());
  FORGE_CHECK(!r.jsonl.empty(), "[finetune] {}: [data] jsonl is required (the instruction file)", path);
  r.jsonl = resolve(r.jsonl, path);
  auto l = table("lora", {"rank", "alpha", "dropout", "target_modules"});
  r.lora.rank = l["rank"].value_or(r.lora.rank);
  r.lora.alpha = l["alpha"].value_or(r.lora.alpha);
  r.lora.dropout = l["dropout"].value_or(r.lora.dropout);
  if (const toml::array* tm = l["target_modules"].as_array()) {
    r.lora.target_modules.clear();
    for (const auto& e : *tm) {
      const auto s = e.value<std::string>();
      FORGE_CHECK(s.has_value(), "[finetune] {}: [lora] target_modules must be strings", path);
      r.lora.target_modules.push_back(*s);
    }
  }
  models::check_lora_config(r.lora);
  auto tr = table("train", {"epochs", "batch_size", "accumulation", "lr", "warmup", "clip_norm", "seed", "threads",
                            "max_len", "weight_decay"});
  r.epochs = tr["epochs"].value_or(r.epochs);
  r.batch_size = tr["batch_size"].value_or(r.batch_size);
  r.accumulation = tr["accumulation"].value_or(r.accumulation);
  r.lr = tr["lr"].value_or(r.lr);
  r.warmup = tr["warmup"].value_or(r.warmup);
  r.clip_norm = tr["clip_norm"].value_or(r.clip_norm);
  r.seed = static_cast<uint64_t>(tr["seed"].value_or(int64_t{0}));
  r.threads = tr["threads"].value_or(r.threads);
  r.max_len = tr["max_len"].value_or(r.max_len);
  r.weight_decay = tr["weight_decay"].value_or(r.weight_decay);
  FORGE_CHECK(r.epochs > 0 && r.batch_size > 0 && r.accumulation > 0 && r.max_len > 1 && r.warmup >= 0,
              "[finetune] {}: [train] epochs {}, batch_size {}, accumulation {} must be > 0, max_len {} > 1, warmup "
              "{} >= 0",
              path, r.epochs, r.batch_size, r.accumulation, r.max_len, r.warmup);
  FORGE_CHECK(r.lr > 0 && std::isfinite(r.lr), "[finetune] {}: [train] lr must be > 0, got {}", path, r.lr);
  return r;
}

// Right-padded ids [B, T] plus the flat row indices (b * (T - 1) + t) of positions whose next
// token is a response token, and those targets.
struct Batch {
  Tensor ids, rows, targets;
  int64_t tokens = 0;  // response tokens (loss terms)
  int64_t total = 0;   // all tokens
};

Batch make_batch(const std::vector<LoraExample>& data, const std::vector<size_t>& order, size_t lo, size_t hi) {
  int64_t T = 0;
  for (size_t i = lo; i < hi; ++i) T = std::max<int64_t>(T, static_cast<int64_t>(data[order[i]].ids.size()));
  const auto B = static_cast<int64_t>(hi - lo);
  Batch b;
  std::vector<int64_t> ids(static_cast<size_t>(B * T), 0), rows, targets;
  for (int64_t r = 0; r < B; ++r) {
    const LoraExample& ex = data[order[lo + static_cast<size_t>(r)]];
    const auto n = static_cast<int64_t>(ex.ids.size());
    for (int64_t t = 0; t < n; ++t) ids[static_cast<size_t>(r * T + t)] = ex.ids[static_cast<size_t>(t)];
    for (int64_t t = 0; t + 1 < n; ++t) {
      if (ex.is_response[static_cast<size_t>(t + 1)] == 0) continue;
      rows.push_back(r * T + t);
      targets.push_back(ex.ids[static_cast<size_t>(t + 1)]);
    }
    b.total += n;
  }
  b.tokens = static_cast<int64_t>(rows.size());
  b.ids = from_vector<int64_t>(ids, {B, T});
  b.rows = from_vector<int64_t>(rows, {b.tokens});
  b.targets = from_vector<int64_t>(targets, {b.tokens});
  return b;
}

}  // namespace

// Sum of the cross-entropy over a batch's response tokens (graph recorded).
static Tensor response_loss_sum(models::LlamaLoraModel& model, const Batch& b) {
  const Tensor h = model.hidden(b.ids);
  const Tensor flat = h.reshape({-1, model.config().d_model});
  const Tensor picked = index_select(flat, 0, b.rows);  // only response rows reach the vocab head
  return sparse_categorical_cross_entropy_with_logits(model.head(picked), b.targets, Reduction::kSum);
}

nlohmann::json run_lora_finetune(const FinetuneOptions& options) {
  const auto t_start = std::chrono::steady_clock::now();
  LoraRecipe r = parse_recipe(options.config_path);
  if (options.epochs > 0) r.epochs = options.epochs;
  if (options.threads > 0) r.threads = options.threads;
  if (r.threads > 0) set_num_threads(static_cast<int>(r.threads));
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  const std::string run_dir = options.out_dir.empty() ? (fs::path("runs") / r.name).string() : options.out_dir;

  models::LlamaCheckpoint base = models::open_llama_checkpoint(r.model_path);
  FORGE_CHECK(base.tokenizer != nullptr, "[finetune] {}: the checkpoint has no tokenizer", r.model_path);
  const llm::ChatTemplate tmpl =
      base.chat_template ? llm::ChatTemplate::detect(*base.chat_template) : llm::ChatTemplate::from_name("chatml");
  int64_t dropped = 0;
  const std::vector<LoraExample> data = load_lora_examples(r.jsonl, tmpl, *base.tokenizer, r.max_len, &dropped);
  models::LlamaLoraModel model(base, r.lora, r.seed);
  const NamedTensors params = model.parameters();
  int64_t n_params = 0;
  for (const auto& p : params) n_params += p.tensor.numel();
  log(fmt::format("lora: {} ({} layers), rank {}, alpha {}, targets [{}], {} trainable parameters", base.config.name,
                  base.config.n_layer, r.lora.rank, r.lora.alpha, fmt::join(r.lora.target_modules, ", "), n_params));
  log(fmt::format("data: {} rows from {} ({} dropped), template {}", data.size(), r.jsonl, dropped, tmpl.name()));

  AdamWOptions ao;
  ao.lr = r.lr;
  ao.weight_decay = r.weight_decay;
  AdamW opt(params, ao);
  const auto n = static_cast<int64_t>(data.size());
  const int64_t batches_per_epoch = (n + r.batch_size - 1) / r.batch_size;
  const int64_t steps_per_epoch = (batches_per_epoch + r.accumulation - 1) / r.accumulation;
  int64_t total_steps = steps_per_epoch * r.epochs;
  if (options.max_steps > 0) total_steps = std::min(total_steps, options.max_steps);
  // A --max-steps run shorter than the warmup keeps warming up (warmup clamped below the total).
  const int64_t total_for_schedule = std::max<int64_t>(total_steps, 1) + 1;
  const WarmupLinear schedule(r.lr, std::min(r.warmup, total_for_schedule - 1), total_for_schedule);

  fs::create_directories(run_dir);
  std::ofstream history(fs::path(run_dir) / "history.csv");
  history << "step,epoch,loss,lr,grad_norm,tokens_per_second\n";
  Generator shuffle_gen(r.seed + 1);
  model.train(true);
  int64_t step = 0, trained_tokens = 0;
  double last_loss = NAN, first_loss = NAN, epoch_loss = NAN;
  nlohmann::json epochs = nlohmann::json::array();
  for (int64_t epoch = 1; epoch <= r.epochs && step < total_steps; ++epoch) {
    std::vector<size_t> order(data.size());
    std::iota(order.begin(), order.end(), size_t{0});
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_gen.below(i)]);
    double loss_sum = 0;
    int64_t loss_tokens = 0;
    for (int64_t b0 = 0; b0 < batches_per_epoch && step < total_steps; b0 += r.accumulation) {
      const auto t0 = std::chrono::steady_clock::now();
      std::vector<Batch> window;
      int64_t window_tokens = 0, window_total = 0;
      for (int64_t k = b0; k < std::min(b0 + r.accumulation, batches_per_epoch); ++k) {
        const auto lo = static_cast<size_t>(k * r.batch_size);
        const auto hi = std::min(data.size(), lo + static_cast<size_t>(r.batch_size));
        window.push_back(make_batch(data, order, lo, hi));
        window_tokens += window.back().tokens;
        window_total += window.back().total;
      }
      opt.zero_grad();
      double step_loss = 0;
      for (const Batch& b : window) {
        if (b.tokens == 0) continue;
        // Normalized over the response tokens of the whole window, so accumulation equals one
        // large batch.
        Tensor loss = response_loss_sum(model, b) / static_cast<double>(window_tokens);
        step_loss += loss.item();
        loss.backward();
      }
      const double gnorm = r.clip_norm > 0 ? clip_grad_norm(params, r.clip_norm) : NAN;
      schedule.apply(opt, step + 1);  // warmup counts from the first step, which gets lr / warmup
      opt.step();
      ++step;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double tps = static_cast<double>(window_total) / std::max(secs, 1e-9);
      trained_tokens += window_total;
      loss_sum += step_loss * static_cast<double>(window_tokens);
      loss_tokens += window_tokens;
      last_loss = step_loss;
      if (std::isnan(first_loss)) first_loss = step_loss;
      history << fmt::format("{},{},{:.6f},{:.6g},{:.6g},{:.1f}\n", step, epoch, step_loss, opt.lr(), gnorm, tps);
      history.flush();
      if (options.json) {
        log(nlohmann::json{{"step", step},
                           {"total_steps", total_steps},
                           {"epoch", epoch},
                           {"loss", step_loss},
                           {"lr", opt.lr()},
                           {"grad_norm", gnorm},
                           {"tokens_per_second", tps}}
                .dump());
      } else {
        log(fmt::format("step {}/{} epoch {} loss {:.4f} lr {:.3g} grad_norm {:.3f} {:.0f} tokens/s", step, total_steps,
                        epoch, step_loss, opt.lr(), gnorm, tps));
      }
    }
    epoch_loss = loss_tokens > 0 ? loss_sum / static_cast<double>(loss_tokens) : NAN;
    epochs.push_back({{"epoch", epoch}, {"loss", epoch_loss}});
    log(fmt::format("epoch {} mean loss {:.4f}", epoch, epoch_loss));
  }
  const std::string adapter_dir = (fs::path(run_dir) / "adapter").string();
  models::save_lora_adapter(adapter_dir, model.adapter(fs::absolute(r.model_path).string()));
  std::error_code ec;
  fs::copy_file(options.config_path, fs::path(run_dir) / "config.toml", fs::copy_options::overwrite_existing, ec);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  nlohmann::json m = {{"run_dir", run_dir},
                      {"adapter_dir", adapter_dir},
                      {"recipe", "lora"},
                      {"model", r.model_path},
                      {"steps", step},
                      {"rows", n},
                      {"first_loss", first_loss},
                      {"final_loss", last_loss},
                      {"epochs", epochs},
                      {"trainable_parameters", n_params},
                      {"trained_tokens", trained_tokens},
                      {"seconds", seconds}};
  const std::string text = m.dump(2) + "\n";
  write_file_atomic((fs::path(run_dir) / "metrics.json").string(),
                    [&](std::FILE* f) { std::fwrite(text.data(), 1, text.size(), f); });
  log(fmt::format("adapter saved to {}", adapter_dir));
  return m;
}

}  // namespace forge::finetune
