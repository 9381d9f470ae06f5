#pragma once
#include <CLI/CLI.hpp>

namespace forge::cli {

// `forge demo`: trains the two-layer network on Fashion-MNIST (see cli/demo.cpp).
void register_demo(CLI::App& app);

// `forge train CONFIG.toml`: a run end to end (cli/train.cpp).
void register_train(CLI::App& app);
// `forge eval MODEL_DIR`: metrics of a saved model (cli/eval.cpp).
void register_eval(CLI::App& app);
// `forge predict MODEL_DIR INPUT...` (cli/predict.cpp).
void register_predict(CLI::App& app);
// `forge summary MODEL_DIR|CONFIG` (cli/summary.cpp).
void register_summary(CLI::App& app);
// `forge quickstart`: the CNN on Fashion-MNIST in a few minutes (cli/quickstart.cpp).
void register_quickstart(CLI::App& app);
// `forge bench [WORKLOAD...]`: workload benchmarks (cli/bench.cpp, src/bench/).
void register_bench(CLI::App& app);
// `forge generate RUN_DIR|MODEL_DIR --prompt ...` (cli/generate.cpp).
void register_generate(CLI::App& app);
// `forge chat MODEL`: interactive chat with a pretrained checkpoint (cli/chat.cpp).
void register_chat(CLI::App& app);
// `forge embed MODEL --text ...`: sentence embeddings as JSON (cli/embed.cpp).
void register_embed(CLI::App& app);

// `forge inspect FILE [--json]`: GGUF / safetensors metadata and tensor table (cli/inspect.cpp).
void register_inspect(CLI::App& app);
// `forge quantize IN OUT --type q8_0|q4_0|q4_1|q4_k|q6_k` (cli/quantize.cpp).
void register_quantize(CLI::App& app);
// `forge tokenize --tokenizer PATH [--ids] TEXT...` and `forge tokenizer train ...` (cli/tokenize.cpp).
void register_tokenize(CLI::App& app);
// `forge serve`: the model server (cli/serve.cpp, src/serve).
void register_serve(CLI::App& app);
// `forge keys create|list|revoke|rotate` (cli/keys.cpp).
void register_keys(CLI::App& app);
// `forge usage`: the usage ledger for billing (cli/usage.cpp).
void register_usage(CLI::App& app);
// `forge finetune CONFIG.toml` (cli/finetune.cpp).
void register_finetune(CLI::App& app);
// `forge lora merge MODEL ADAPTER OUT.gguf` (cli/lora.cpp).
void register_lora(CLI::App& app);

}  // namespace forge::cli
