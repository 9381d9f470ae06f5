#pragma once
// Registration functions of the built-in workload families (one per src/bench/*.cpp file).
#include "bench/bench.h"

namespace forge::bench {

// mlp_train, mlp_latency (Fashion-MNIST 784-128-10; src/bench/mlp_workloads.cpp)
void register_mlp_workloads(Registry& registry);
// cnn_train, cnn_latency, cnn_peak_rss (the seed CNN; src/bench/cnn_workloads.cpp)
void register_cnn_workloads(Registry& registry);
// sgemm_256 ... sgemm_4096, op_overhead, op_overhead_nograd (src/bench/kernel_workloads.cpp)
void register_kernel_workloads(Registry& registry);
// textcnn_train, lstm_train, gpt_char_train, gpt_char_train_bf16, gpt_generate (src/bench/lm_workloads.cpp)
void register_lm_workloads(Registry& registry);
// llm_decode, llm_prefill_512, mem_bandwidth, minilm_embed (pretrained models; src/bench/llm_workloads.cpp)
void register_llm_workloads(Registry& registry);

}  // namespace forge::bench
