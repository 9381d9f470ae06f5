// Language-model endpoints: /v1/completions, /v1/chat/completions (plain and SSE streams),
// /tokenize, /detokenize.
#include <fmt/format.h>

#include "core/error.h"
#include "serve/server_impl.h"

namespace forge::serve {

using nlohmann::json;

namespace {

// Stop tokens: the tokenizer's EOS, and the chat end markers a ChatML/GPT-2 vocabulary has.
std::vector<int32_t> stop_ids_of(const text::Tokenizer& tok) {
  std::vector<int32_t> ids;
  if (tok.special_tokens().eos) ids.push_back(*tok.special_tokens().eos);
  for (const char* t : {"<|im_end|>", "<|endoftext|>", "<|eot_id|>"}) {
    if (auto id = tok.token_to_id(t); id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
  return ids;
}

std::string sse(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

// State of one SSE stream, shared by the content provider and the releaser.
struct StreamState {
  CompletionParams params;
  std::vector<GenerationTaskPtr> tasks;  // one per choice (n)
  text::TokenizerPtr tok;
  RequestRecord rec;
  std::string id;
  int64_t created = 0;
  std::vector<bool> first, done;  // per choice: no chunk sent yet / finish chunk sent
  bool finished = false;
  std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
};

// The prompt text of a chat request: the checkpoint's own template when it is a known format,
// else ChatML.
std::string render_chat(const LlmEntry& entry, const std::vector<ChatMessage>& messages) {
  if (!entry.chat_template) return render_chatml(messages);
  std::vector<llm::ChatMessage> m;
  for (const auto& x : messages) m.push_back({x.role, x.content});
  try {
    return entry.chat_template->render(m, true);
  } catch (const Error& e) {
    bad_request(e.what(), "messages");
  }
}

}  // namespace

void Server::Impl::register_llm_routes() {
  auto completion = [this](bool chat) {
    return [this, chat](const httplib::Request& req, httplib::Response& res) {
      handle(req, res, chat ? "/v1/chat/completions" : "/v1/completions", [&, chat](RequestRecord& rec) {
        rec.key = authorize(req, kScopeInference);
        rec.metered = true;
        CompletionParams p = parse_completion_request(parse_body(req), chat);
        rec.model = p.model;
        LlmEntry& entry = llm(p.model);
        text::TokenizerPtr tok = entry.model->tokenizer();
        std::string prompt_text = chat ? render_chat(entry, p.messages) : p.prompt;
        std::vector<int32_t> prompt = tok->encode(prompt_text, true);
        rec.prompt_tokens = static_cast<int64_t>(prompt.size());
        const int64_t context = entry.engine->max_sequence_tokens();
        if (prompt.empty()) bad_request("The prompt is empty (0 tokens).", chat ? "messages" : "prompt");
        if (rec.prompt_tokens >= context || (p.max_tokens && rec.prompt_tokens + *p.max_tokens > context)) {
          bad_request(fmt::format("This model's maximum context length is {} tokens. However, you requested {} tokens "
                                  "({} in the {}, {} for the completion). Please reduce the length of the {} or "
                                  "completion.",
                                  context, rec.prompt_tokens + p.max_tokens.value_or(1), rec.prompt_tokens,
                                  chat ? "messages" : "prompt", p.max_tokens.value_or(1), chat ? "messages" : "prompt"),
                      chat ? "messages" : "prompt", "context_length_exceeded");
        }
        try {
          llm::Sampler check(p.sampling);  // validates the sampling parameters
        } catch (const Error& e) {
          bad_request(e.what());
        }
        admit(rec, rec.prompt_tokens);

        GenerationRequest g;
        g.prompt = std::move(prompt);
        g.max_tokens = p.max_tokens.value_or(chat ? context - rec.prompt_tokens
                                                  : std::min<int64_t>(16, context - rec.prompt_tokens));
        g.sampling = p.sampling;
        g.stop = p.stop;
        g.stop_ids = stop_ids_of(*tok);
        if (chat && entry.chat_template) {
          for (const auto& st : entry.chat_template->stop_strings()) {
            auto sid = tok->token_to_id(st);
            if (sid && std::find(g.stop_ids.begin(), g.stop_ids.end(), *sid) == g.stop_ids.end()) {
              g.stop_ids.push_back(*sid);
            }
          }
        }
        g.logprobs = p.logprobs;
        g.top_logprobs = p.top_logprobs;
        g.deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                            std::chrono::duration<double>(options.request_timeout_s));
        // n choices: n tasks, choice i sampling with seed + i (each its own stream).
        std::vector<GenerationTaskPtr> tasks;
        for (int32_t i = 0; i < p.n; ++i) {
          GenerationRequest gi = g;
          gi.sampling.seed = p.sampling.seed + static_cast<uint64_t>(i);
          tasks.push_back(std::make_shared<GenerationTask>(std::move(gi)));
          if (!entry.engine->submit(tasks.back())) {
            for (auto& t : tasks) t->cancel();
            for (size_t k = 0; k + 1 < tasks.size(); ++k) (void)tasks[k]->wait_result();
            throw ApiError(429, "server_overloaded",
                           fmt::format("The model '{}' is busy (queue full); retry shortly.", p.model), "queue_full",
                           "", 1);
          }
        }
        std::string id = random_id(chat ? "chatcmpl-" : "cmpl-");
        int64_t created = now_ms() / 1000;

        if (!p.stream) {
          std::vector<std::vector<TokenPiece>> pieces(tasks.size());
          std::vector<const GenerationResult*> results;
          rec.completion_tokens = 0;
          for (size_t i = 0; i < tasks.size(); ++i) {
            while (!tasks[i]->wait(pieces[i], std::chrono::milliseconds(200))) {
            }
            results.push_back(&tasks[i]->result());
            rec.completion_tokens += results.back()->completion_tokens;
            const double ttft = results.back()->time_to_first_token_s;
            if (ttft > 0 && (rec.ttft_s <= 0 || ttft < rec.ttft_s)) rec.ttft_s = ttft;
          }
          for (const GenerationResult* r : results) {
            if (r->finish_reason == "error") throw ApiError(500, "server_error", "Generation failed: " + r->error);
            if (r->finish_reason == "timeout") {
              throw ApiError(408, "timeout_error",
                             fmt::format("The request took longer than {} s.", options.request_timeout_s), "timeout");
            }
            if (r->finish_reason == "cancelled") {
              throw ApiError(503, "server_error", "The request was cancelled (server shutting down).", "cancelled",
                             "", 1);
            }
          }
          send_json(res, 200, completion_response(p, id, created, results, pieces, *tok));
          return true;
        }

        auto st = std::make_shared<StreamState>();
        st->params = p;
        st->tasks = tasks;
        st->tok = tok;
        st->rec = rec;
        st->id = id;
        st->created = created;
        st->first.assign(tasks.size(), true);
        st->done.assign(tasks.size(), false);
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Accel-Buffering", "no");
        res.set_chunked_content_provider(
            "text/event-stream",
            [st](size_t, httplib::DataSink& sink) {
              auto cancel_all = [&] {
                for (auto& t : st->tasks) t->cancel();
              };
              auto write = [&](const std::string& s) {
                if (!sink.write(s.data(), s.size())) {
                  cancel_all();  // client gone
                  return false;
                }
                st->last_write = std::chrono::steady_clock::now();
                return true;
              };
              const size_t n = st->tasks.size();
              // One wait per unfinished choice; with several choices each waits less so that
              // every stream keeps flowing.
              const auto wait_for = std::chrono::milliseconds(n == 1 ? 250 : 50);
              bool wrote = false;
              for (size_t i = 0; i < n; ++i) {
                if (st->done[i]) continue;
                auto& task = st->tasks[i];
                std::vector<TokenPiece> pieces;
                const bool done = task->wait(pieces, wait_for);
                std::string text;
                for (const auto& piece : pieces) text += piece.text;
                const bool has_logprobs = st->params.logprobs && std::any_of(pieces.begin(), pieces.end(), [](const TokenPiece& x) {
                                            return x.id >= 0;
                                          });
                const int index = static_cast<int>(i);
                if (!text.empty() || has_logprobs || (st->first[i] && !pieces.empty())) {
                  if (!write(sse(stream_chunk(st->params, st->id, st->created, text, pieces, *st->tok, std::nullopt,
                                              st->first[i], index)))) {
                    return false;
                  }
                  st->first[i] = false;
                  wrote = true;
                }
                if (!done) continue;
                const GenerationResult& r = task->result();
                if (r.finish_reason == "error" || r.finish_reason == "timeout" || r.finish_reason == "cancelled") {
                  cancel_all();
                  st->rec.status = r.finish_reason == "error" ? 500 : r.finish_reason == "timeout" ? 408 : 499;
                  std::string msg = r.finish_reason == "error"     ? "Generation failed: " + r.error
                                    : r.finish_reason == "timeout" ? std::string("The request timed out.")
                                                                   : std::string("The request was cancelled.");
                  write(sse(error_json(msg, r.finish_reason == "error" ? "server_error" : "timeout_error",
                                       r.finish_reason)));
                  for (auto& t : st->tasks) st->rec.completion_tokens += t->wait_result().completion_tokens;
                  write("data: [DONE]\n\n");
                  st->finished = true;
                  sink.done();
                  return true;
                }
                if (!write(sse(stream_chunk(st->params, st->id, st->created, "", {}, *st->tok, r.finish_reason,
                                            st->first[i], index)))) {
                  return false;
                }
                st->first[i] = false;
                st->done[i] = true;
                wrote = true;
              }
              if (std::find(st->done.begin(), st->done.end(), false) != st->done.end()) {
                if (!wrote && std::chrono::steady_clock::now() - st->last_write > std::chrono::seconds(1)) {
                  // An SSE comment: clients ignore it; a failed write tells us the client left.
                  if (!write(": keep-alive\n\n")) return false;
                }
                return true;
              }
              int64_t prompt_tokens = 0, completion_tokens = 0;
              for (auto& t : st->tasks) {
                const GenerationResult& r = t->result();
                prompt_tokens = r.prompt_tokens;
                completion_tokens += r.completion_tokens;
                if (r.time_to_first_token_s > 0 && (st->rec.ttft_s <= 0 || r.time_to_first_token_s < st->rec.ttft_s)) {
                  st->rec.ttft_s = r.time_to_first_token_s;
                }
              }
              st->rec.completion_tokens = completion_tokens;
              if (st->params.include_usage) {
                json u = {{"id", st->id},
                          {"object", st->params.chat ? "chat.completion.chunk" : "text_completion"},
                          {"created", st->created},
                          {"model", st->params.model},
                          {"system_fingerprint", "forge"},
                          {"choices", json::array()},
                          {"usage", usage_json(prompt_tokens, completion_tokens)}};
                if (!write(sse(u))) return false;
              }
              write("data: [DONE]\n\n");
              st->finished = true;
              sink.done();
              return true;
            },
            [this, st](bool) {
              if (!st->finished) {
                for (auto& t : st->tasks) t->cancel();
                st->rec.status = 499;  // client closed the connection
                st->rec.completion_tokens = 0;
                for (auto& t : st->tasks) st->rec.completion_tokens += t->wait_result().completion_tokens;
              }
              in_flight.fetch_sub(1);
              finish(st->rec);
            });
        return false;
      });
    };
  };
  http->Post("/v1/completions", completion(false));
  http->Post("/v1/chat/completions", completion(true));

  http->Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/tokenize", [&](RequestRecord& rec) {
      rec.key = authorize(req, kScopeInference);
      json body = parse_body(req);
      if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
        bad_request("'model' (a string) is required.", "model");
      }
      rec.model = body["model"].get<std::string>();
      LlmEntry& entry = llm(rec.model);
      const json& text = body.contains("prompt") ? body["prompt"] : body.value("text", json());
      if (!text.is_string()) bad_request("'prompt' (a string) is required.", "prompt");
      bool special = body.value("add_special_tokens", true);
      auto ids = entry.model->tokenizer()->encode(text.get<std::string>(), special);
      send_json(res, 200,
                {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", entry.engine->max_sequence_tokens()}});
      return true;
    });
  });
  http->Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/detokenize", [&](RequestRecord& rec) {
      rec.key = authorize(req, kScopeInference);
      json body = parse_body(req);
      if (!body.is_object() || !body.contains("model") || !body["model"].is_string()) {
        bad_request("'model' (a string) is required.", "model");
      }
      rec.model = body["model"].get<std::string>();
      LlmEntry& entry = llm(rec.model);
      if (!body.contains("tokens") || !body["tokens"].is_array())
        bad_request("'tokens' (an array) is required.", "tokens");
      std::vector<int32_t> ids;
      auto tok = entry.model->tokenizer();
      for (const auto& t : body["tokens"]) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok->vocab_size()) {
          bad_request(fmt::format("'tokens' must be integers in [0, {}).", tok->vocab_size()), "tokens");
        }
        ids.push_back(t.get<int32_t>());
      }
      send_json(res, 200, {{"prompt", tok->decode(ids)}});
      return true;
    });
  });
}

}  // namespace forge::serve
