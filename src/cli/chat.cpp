// `forge chat MODEL`: an interactive conversation with a chat-tuned checkpoint. Each line read
// from stdin is a user turn; the reply streams to stdout. The history is rendered with the
// checkpoint's chat template every turn. /reset forgets the history, /exit (or EOF) quits.
// Works with piped stdin (no prompt is printed then).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "llm/chat_template.h"
#include "llm/generate.h"
#include "llm/load.h"
#include "models/lora.h"

namespace forge::cli {

void register_chat(CLI::App& app) {
  struct Args {
    std::string lora, path, system, tmpl;
    llm::GenerateOptions gen;
    bool stats = false;
  };
  auto a = std::make_shared<Args>();
  a->gen.max_tokens = 512;
  a->gen.sampling = {.temperature = 0.7f, .top_k = 40, .top_p = 0.9f, .repetition_penalty = 1.1f};
  auto* cmd =
      app.add_subcommand("chat", "Chat with a pretrained model (GGUF file or Hugging Face dir) on stdin/stdout");
  cmd->add_option("model", a->path, ".gguf file or Hugging Face model directory")->required();
  cmd->add_option("--system,-s", a->system, "system prompt (default: the template's own, if any)");
  cmd->add_option("--template", a->tmpl, "chat format: chatml, llama3, zephyr, mistral (default: from the checkpoint)");
  cmd->add_option("--lora", a->lora, "LoRA adapter dir (PEFT format, or a finetune run dir) merged at load");
  add_generation_flags(cmd, a->gen);
  cmd->add_flag("--stats", a->stats, "print token counts and speeds to stderr after each reply");
  cmd->callback([a] {
    auto model = a->lora.empty() ? llm::load_causal_lm(a->path) : models::load_llama_with_lora(a->path, a->lora);
    auto tok = model->tokenizer();
    FORGE_CHECK(tok != nullptr, "[chat] {} has no tokenizer", a->path);
    llm::ChatTemplate tmpl = llm::ChatTemplate::from_name("chatml");
    if (!a->tmpl.empty()) {
      tmpl = llm::ChatTemplate::from_name(a->tmpl);
    } else {
      const auto src = model->chat_template();
      FORGE_CHECK(src.has_value(), "[chat] {} has no chat template; pass --template chatml|llama3|zephyr|mistral",
                  a->path);
      tmpl = llm::ChatTemplate::detect(*src);
    }
    llm::GenerateOptions o = a->gen;
    for (const auto& s : tmpl.stop_strings()) {
      if (auto id = tok->token_to_id(s)) o.stop_ids.push_back(*id);
      o.stop.push_back(s);
    }
    std::vector<llm::ChatMessage> history;
    auto reset = [&] {
      history.clear();
      if (!a->system.empty()) history.push_back({"system", a->system});
    };
    reset();
    const bool tty = isatty(STDIN_FILENO) != 0;
    if (tty)
      fmt::print(stderr, "chatting with {} ({} template); /reset clears the history, /exit quits\n", model->name(),
                 tmpl.name());
    std::string line;
    uint64_t turn = 0;
    while (true) {
      if (tty) {
        std::fputs("> ", stdout);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      if (line == "/exit" || line == "/quit") break;
      if (line == "/reset") {
        reset();
        if (tty) std::fputs("(history cleared)\n", stdout);
        continue;
      }
      if (line.empty()) continue;
      history.push_back({"user", line});
      const std::vector<int32_t> prompt = tok->encode(tmpl.render(history, true), false);
      if (static_cast<int64_t>(prompt.size()) + 1 >= model->context_length()) {
        std::fputs("error: the conversation no longer fits the context; /reset\n", stderr);
        history.pop_back();
        continue;
      }
      o.sampling.seed = a->gen.sampling.seed + turn++;
      o.max_tokens = std::min(a->gen.max_tokens, model->context_length() - static_cast<int64_t>(prompt.size()));
      auto r = llm::generate(*model, prompt, o, [](std::string_view piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      std::fputs("\n", stdout);
      std::fflush(stdout);
      history.push_back({"assistant", r.text});
      if (a->stats) {
        fmt::print(stderr, "[prompt {} tokens {:.2f} s, {} new tokens {:.1f} tokens/s, {}]\n", r.prompt_tokens,
                   r.prefill_seconds, r.completion_tokens,
                   r.decode_seconds > 0 ? static_cast<double>(r.completion_tokens) / r.decode_seconds : 0.0,
                   r.finish_reason);
      }
    }
  });
}

}  // namespace forge::cli
