// `forge chat MODEL`: an interactive conversation with a chat-tuned checkpoint. Each line read
// from stdin is a user turn; the reply streams to stdout. The history is rendered with the
// checkpoint's chat template every turn; the KV cache is kept across turns so only the new turn's
// tokens are prefilled (llm/chat_session.h), and when the history outgrows the context the oldest
// turns are dropped with a notice on stderr. /reset forgets the history, /exit (or EOF) quits.
// Works with piped stdin (no prompt is printed then).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "llm/chat_session.h"
#include "llm/chat_template.h"
#include "llm/generate.h"
#include "llm/load.h"
#include "models/lora.h"

namespace forge::cli {

void register_chat(CLI::App& app) {
  struct Args {
    std::string lora, path, system, tmpl;
    llm::GenerateOptions gen;
    bool stats = false, no_reuse = false;
    int64_t context = 0;
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
  cmd->add_option("--context", a->context, "positions kept for the conversation (default: the model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-cache-reuse", a->no_reuse,
                "prefill the whole history every turn instead of only the new turn (for comparison)");
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
    llm::ChatSessionOptions so;
    so.generate = a->gen;
    if (!a->system.empty()) so.system = a->system;
    so.context = a->context;
    so.reuse_cache = !a->no_reuse;
    llm::ChatSession session(model, tmpl, so);
    const bool tty = isatty(STDIN_FILENO) != 0;
    if (tty)
      fmt::print(stderr, "chatting with {} ({} template); /reset clears the history, /exit quits\n", model->name(),
                 tmpl.name());
    std::string line;
    while (true) {
      if (tty) {
        std::fputs("> ", stdout);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      if (line == "/exit" || line == "/quit") break;
      if (line == "/reset") {
        session.reset();
        if (tty) std::fputs("(history cleared)\n", stdout);
        continue;
      }
      if (line.empty()) continue;
      llm::ChatTurn turn;
      try {
        turn = session.send(
            line,
            [](std::string_view piece) {
              std::fwrite(piece.data(), 1, piece.size(), stdout);
              std::fflush(stdout);
              return true;
            },
            [](const std::string& notice) { fmt::print(stderr, "{}\n", notice); });
      } catch (const Error& e) {
        fmt::print(stderr, "error: {}\n", e.what());
        continue;
      }
      std::fputs("\n", stdout);
      std::fflush(stdout);
      if (a->stats) {
        const auto& r = turn.result;
        fmt::print(stderr,
                   "[prompt {} tokens ({} reused from the cache, {} prefilled) {:.2f} s, {} new tokens {:.1f} "
                   "tokens/s, {}]\n",
                   r.prompt_tokens, turn.reused_tokens, r.prefilled_tokens, r.prefill_seconds, r.completion_tokens,
                   r.decode_seconds > 0 ? static_cast<double>(r.completion_tokens) / r.decode_seconds : 0.0,
                   r.finish_reason);
      }
    }
  });
}

}  // namespace forge::cli
