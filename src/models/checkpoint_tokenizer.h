#pragma once
// Tokenizers that come with a checkpoint: the vocabulary embedded in a GGUF file
// (tokenizer.ggml.*) or a Hugging Face directory's tokenizer.json / vocab.txt.
#include <string>

#include "formats/gguf.h"
#include "text/tokenizer.h"

namespace forge::models {

// Byte-level BPE from tokenizer.ggml.{model,pre,tokens,merges,token_type,bos/eos/...}; throws
// naming the file for a tokenizer model Forge cannot build (only "gpt2" BPE today).
text::TokenizerPtr tokenizer_from_gguf(const GgufFile& file);
// tokenizer.json in `dir` (BPE or WordPiece), else vocab.txt (WordPiece, lower-cased);
// throws naming the directory when it has neither.
text::TokenizerPtr tokenizer_from_hf_dir(const std::string& dir);

}  // namespace forge::models
