#pragma once
// A no-op embedding model for benchmarking the server itself (`forge serve --model NAME=noop:`):
// it tokenizes with a character tokenizer (unknown characters -> <unk>) and returns one zero
// per text, so a /v1/embeddings request costs HTTP + JSON + auth + limits + metering and
// (almost) nothing else. bench/serve_compare.py measures the per-request overhead with it.
#include "llm/embedding_model.h"

namespace forge::serve {

// dim() 1, max_tokens() 512, name() "noop".
llm::EmbeddingModelPtr make_noop_embedding_model();

}  // namespace forge::serve
