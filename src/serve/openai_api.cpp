#include "serve/openai_api.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include <set>

namespace forge::serve {

using nlohmann::json;

void bad_request(const std::string& message, const std::string& param, const std::string& code) {
  throw ApiError(400, "invalid_request_error", message, code, param);
}

json error_json(const std::string& message, const std::string& type, const std::string& code,
                const std::string& param) {
  json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
  if (!param.empty()) e["param"] = param;
  if (!code.empty()) e["code"] = code;
  return json{{"error", e}};
}

namespace {

const json& require(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) bad_request(fmt::format("Missing required parameter: '{}'.", name), name);
  return *it;
}

double number(const json& v, const char* name, double lo, double hi) {
  if (!v.is_number()) bad_request(fmt::format("'{}' must be a number, got {}.", name, v.type_name()), name);
  double x = v.get<double>();
  if (!(x >= lo && x <= hi)) bad_request(fmt::format("'{}' must be in [{}, {}], got {}.", name, lo, hi, x), name);
  return x;
}

int64_t integer(const json& v, const char* name, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) bad_request(fmt::format("'{}' must be an integer, got {}.", name, v.type_name()), name);
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad_request(fmt::format("'{}' must be in [{}, {}], got {}.", name, lo, hi, x), name);
  return x;
}

bool boolean(const json& v, const char* name) {
  if (!v.is_boolean()) bad_request(fmt::format("'{}' must be a boolean, got {}.", name, v.type_name()), name);
  return v.get<bool>();
}

std::string message_content(const json& content, size_t index) {
  std::string param = fmt::format("messages[{}].content", index);
  if (content.is_string()) return content.get<std::string>();
  if (content.is_array()) {  // [{"type": "text", "text": "..."}]
    std::string out;
    for (const auto& part : content) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
          !part["text"].is_string()) {
        bad_request(fmt::format("'{}' parts must be {{\"type\": \"text\", \"text\": ...}}.", param), param);
      }
      out += part["text"].get<std::string>();
    }
    return out;
  }
  bad_request(fmt::format("'{}' must be a string or an array of text parts.", param), param);
}

}  // namespace

CompletionParams parse_completion_request(const json& body, bool chat) {
  if (!body.is_object()) bad_request("The request body must be a JSON object.");
  static const std::set<std::string> common = {"model",
                                               "max_tokens",
                                               "temperature",
                                               "top_p",
                                               "seed",
                                               "stop",
                                               "stream",
                                               "stream_options",
                                               "n",
                                               "logprobs",
                                               "user",
                                               "frequency_penalty",
                                               "presence_penalty",
                                               "top_k",
                                               "min_p",
                                               "repetition_penalty"};
  static const std::set<std::string> chat_only = {"messages", "top_logprobs", "max_completion_tokens"};
  static const std::set<std::string> completion_only = {"prompt", "echo", "suffix", "best_of"};
  for (const auto& [k, v] : body.items()) {
    if (common.count(k) == 0 && (chat ? chat_only : completion_only).count(k) == 0) {
      bad_request(fmt::format("Unrecognized request argument supplied: {}", k), k);
    }
  }
  CompletionParams p;
  p.chat = chat;
  const json& model = require(body, "model");
  if (!model.is_string()) bad_request("'model' must be a string.", "model");
  p.model = model.get<std::string>();
  if (chat) {
    const json& messages = require(body, "messages");
    if (!messages.is_array() || messages.empty()) bad_request("'messages' must be a non-empty array.", "messages");
    for (size_t i = 0; i < messages.size(); ++i) {
      const json& m = messages[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
        bad_request(fmt::format("'messages[{}]' must be an object with a string 'role'.", i),
                    fmt::format("messages[{}]", i));
      }
      std::string role = m["role"].get<std::string>();
      if (role != "system" && role != "user" && role != "assistant" && role != "developer") {
        bad_request(fmt::format("'messages[{}].role' must be system, developer, user or assistant, got '{}'.", i, role),
                    fmt::format("messages[{}].role", i));
      }
      p.messages.push_back({role == "developer" ? "system" : role, message_content(m.value("content", json("")), i)});
    }
  } else {
    const json& prompt = require(body, "prompt");
    if (prompt.is_array() && prompt.size() == 1 && prompt[0].is_string()) {
      p.prompt = prompt[0].get<std::string>();
    } else if (prompt.is_string()) {
      p.prompt = prompt.get<std::string>();
    } else {
      bad_request("'prompt' must be a string (a list of several prompts is not supported).", "prompt");
    }
  }
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (body.contains(name) && !body[name].is_null()) p.max_tokens = integer(body[name], name, 1, 1 << 24);
  }
  if (body.contains("temperature") && !body["temperature"].is_null()) {
    p.sampling.temperature = static_cast<float>(number(body["temperature"], "temperature", 0, 2));
  }
  if (body.contains("top_p") && !body["top_p"].is_null()) {
    p.sampling.top_p = static_cast<float>(number(body["top_p"], "top_p", 0, 1));
    if (p.sampling.top_p <= 0) bad_request("'top_p' must be > 0.", "top_p");
  }
  if (body.contains("top_k") && !body["top_k"].is_null()) {
    p.sampling.top_k = static_cast<int32_t>(integer(body["top_k"], "top_k", 0, 1 << 20));
  }
  if (body.contains("min_p") && !body["min_p"].is_null()) {
    p.sampling.min_p = static_cast<float>(number(body["min_p"], "min_p", 0, 1));
  }
  if (body.contains("repetition_penalty") && !body["repetition_penalty"].is_null()) {
    p.sampling.repetition_penalty =
        static_cast<float>(number(body["repetition_penalty"], "repetition_penalty", 0.01, 10));
  }
  for (const char* name : {"frequency_penalty", "presence_penalty"}) {
    if (body.contains(name) && !body[name].is_null() && number(body[name], name, -2, 2) != 0) {
      bad_request(fmt::format("'{}' is not supported (only 0).", name), name);
    }
  }
  if (body.contains("seed") && !body["seed"].is_null()) {
    if (!body["seed"].is_number_integer()) bad_request("'seed' must be an integer.", "seed");
    p.sampling.seed = static_cast<uint64_t>(body["seed"].get<int64_t>());
  } else {
    unsigned char buf[8];
    RAND_bytes(buf, sizeof buf);
    uint64_t s = 0;
    for (unsigned char b : buf) s = (s << 8) | b;
    p.sampling.seed = s;
  }
  if (body.contains("n") && !body["n"].is_null()) p.n = static_cast<int32_t>(integer(body["n"], "n", 1, 16));
  if (body.contains("best_of") && !body["best_of"].is_null() && integer(body["best_of"], "best_of", 1, 128) != 1) {
    bad_request("Only best_of=1 is supported.", "best_of");
  }
  if (body.contains("suffix") && !body["suffix"].is_null()) bad_request("'suffix' is not supported.", "suffix");
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& stop = body["stop"];
    if (stop.is_string()) {
      p.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4) {
      for (const auto& s : stop) {
        if (!s.is_string()) bad_request("'stop' must be a string or an array of up to 4 strings.", "stop");
        p.stop.push_back(s.get<std::string>());
      }
    } else {
      bad_request("'stop' must be a string or an array of up to 4 strings.", "stop");
    }
    for (const auto& s : p.stop) {
      if (s.empty()) bad_request("'stop' strings must not be empty.", "stop");
    }
  }
  if (body.contains("stream") && !body["stream"].is_null()) p.stream = boolean(body["stream"], "stream");
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& so = body["stream_options"];
    if (!so.is_object()) bad_request("'stream_options' must be an object.", "stream_options");
    if (!p.stream) bad_request("'stream_options' is only allowed when 'stream' is true.", "stream_options");
    for (const auto& [k, v] : so.items()) {
      if (k != "include_usage") bad_request(fmt::format("Unrecognized stream option: {}", k), "stream_options");
      p.include_usage = boolean(v, "stream_options.include_usage");
    }
  }
  if (chat) {
    if (body.contains("logprobs") && !body["logprobs"].is_null()) p.logprobs = boolean(body["logprobs"], "logprobs");
    if (body.contains("top_logprobs") && !body["top_logprobs"].is_null()) {
      p.top_logprobs = static_cast<int32_t>(integer(body["top_logprobs"], "top_logprobs", 0, 20));
      if (!p.logprobs) bad_request("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
    }
  } else {
    if (body.contains("logprobs") && !body["logprobs"].is_null()) {
      p.top_logprobs = static_cast<int32_t>(integer(body["logprobs"], "logprobs", 0, 5));
      p.logprobs = true;
    }
    if (body.contains("echo") && !body["echo"].is_null()) p.echo = boolean(body["echo"], "echo");
  }
  return p;
}

std::string render_chatml(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  out += "<|im_start|>assistant\n";
  return out;
}

json usage_json(int64_t prompt_tokens, int64_t completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json logprobs_json(const std::vector<TokenPiece>& pieces, const text::Tokenizer& tok, bool chat) {
  auto token_text = [&](int32_t id) { return tok.decode({id}); };
  if (chat) {
    json content = json::array();
    for (const auto& p : pieces) {
      if (p.id < 0) continue;
      json top = json::array();
      for (const auto& [id, lp] : p.top)
        top.push_back({{"token", token_text(id)}, {"logprob", lp}, {"bytes", nullptr}});
      content.push_back(
          {{"token", token_text(p.id)}, {"logprob", p.logprob}, {"bytes", nullptr}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  int64_t offset = 0;
  for (const auto& p : pieces) {
    if (p.id < 0) continue;
    std::string t = token_text(p.id);
    tokens.push_back(t);
    lps.push_back(p.logprob);
    json top = json::object();
    for (const auto& [id, lp] : p.top) top[token_text(id)] = lp;
    tops.push_back(top);
    offsets.push_back(offset);
    offset += static_cast<int64_t>(t.size());
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json completion_response(const CompletionParams& p, const std::string& id, int64_t created, const GenerationResult& r,
                         const std::vector<TokenPiece>& pieces, const text::Tokenizer& tok) {
  return completion_response(p, id, created, std::vector<const GenerationResult*>{&r},
                             std::vector<std::vector<TokenPiece>>{pieces}, tok);
}

json completion_response(const CompletionParams& p, const std::string& id, int64_t created,
                         const std::vector<const GenerationResult*>& results,
                         const std::vector<std::vector<TokenPiece>>& pieces, const text::Tokenizer& tok) {
  json choices = json::array();
  int64_t completion_tokens = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const GenerationResult& r = *results[i];
    json choice = {{"index", i}, {"finish_reason", r.finish_reason}};
    choice["logprobs"] = p.logprobs ? logprobs_json(pieces[i], tok, p.chat) : json(nullptr);
    if (p.chat) {
      choice["message"] = {{"role", "assistant"}, {"content", r.text}};
    } else {
      choice["text"] = p.echo ? p.prompt + r.text : r.text;
    }
    choices.push_back(choice);
    completion_tokens += r.completion_tokens;
  }
  return {{"id", id},
          {"object", p.chat ? "chat.completion" : "text_completion"},
          {"created", created},
          {"model", p.model},
          {"system_fingerprint", "forge"},
          {"choices", choices},
          {"usage", usage_json(results.empty() ? 0 : results[0]->prompt_tokens, completion_tokens)}};
}

json stream_chunk(const CompletionParams& p, const std::string& id, int64_t created, const std::string& text,
                  const std::vector<TokenPiece>& pieces, const text::Tokenizer& tok,
                  const std::optional<std::string>& finish_reason, bool first, int index) {
  json choice = {{"index", index}};
  choice["finish_reason"] = finish_reason ? json(*finish_reason) : json(nullptr);
  choice["logprobs"] = p.logprobs && !pieces.empty() ? logprobs_json(pieces, tok, p.chat) : json(nullptr);
  if (p.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && !finish_reason)) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  json chunk = {{"id", id},
                {"object", p.chat ? "chat.completion.chunk" : "text_completion"},
                {"created", created},
                {"model", p.model},
                {"system_fingerprint", "forge"},
                {"choices", json::array({choice})}};
  if (p.include_usage) chunk["usage"] = nullptr;
  return chunk;
}

std::string random_id(const std::string& prefix) {
  unsigned char buf[12];
  RAND_bytes(buf, sizeof buf);
  std::string out = prefix;
  for (unsigned char b : buf) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace forge::serve
