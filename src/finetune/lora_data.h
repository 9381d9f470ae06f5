#pragma once
// Instruction data for LoRA fine-tuning: JSONL rows rendered with the checkpoint's chat template
// and tokenized, with a mask marking the response tokens (the only ones the loss counts).
// Row formats:
//   {"instruction": "...", "input": "..." (optional), "output": "..."}
//     -> user: instruction (+ "\n\n" + input), assistant: output
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
//     -> every assistant turn is a response (its text and end-of-turn marker)
#include <cstdint>
#include <string>
#include <vector>

#include "llm/chat_template.h"
#include "text/tokenizer.h"

namespace forge::finetune {

struct LoraExample {
  std::vector<int32_t> ids;
  std::vector<uint8_t> is_response;  // 1 where ids[i] belongs to an assistant response
  int64_t response_tokens() const;
};

// Parses one JSONL row into a conversation; `where` ("train.jsonl:12") prefixes errors such as
// "[finetune] train.jsonl:12: row needs \"output\" (or \"messages\")".
std::vector<llm::ChatMessage> parse_instruction_row(const std::string& line, const std::string& where);

// Renders and tokenizes one conversation; sequences longer than max_len are cut at max_len.
LoraExample make_lora_example(const std::vector<llm::ChatMessage>& messages, const llm::ChatTemplate& tmpl,
                              const text::Tokenizer& tokenizer, int64_t max_len);

// Reads a JSONL file (blank lines skipped). Rows left without response tokens after truncation
// are dropped and counted in *dropped.
std::vector<LoraExample> load_lora_examples(const std::string& path, const llm::ChatTemplate& tmpl,
                                            const text::Tokenizer& tokenizer, int64_t max_len, int64_t* dropped);

}  // namespace forge::finetune
