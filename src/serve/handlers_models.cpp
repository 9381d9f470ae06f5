// /v1/embeddings and /v1/predict/{model} (Forge-trained classifiers and regressors).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "serve/server_impl.h"
#include "train/run.h"

namespace forge::serve {

using nlohmann::json;

namespace {

std::string base64_decode(const std::string& in, const std::string& param) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s = in;
  if (s.rfind("data:", 0) == 0) {  // data URL: "data:image/png;base64,...."
    size_t comma = s.find(',');
    if (comma == std::string::npos) bad_request(fmt::format("'{}' is a data URL without ','.", param), param);
    s = s.substr(comma + 1);
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    size_t v = alphabet.find(c == '-' ? '+' : c == '_' ? '/' : c);
    if (v == std::string::npos) bad_request(fmt::format("'{}' is not valid base64.", param), param);
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// A temporary file holding `bytes`, removed when this goes out of scope.
struct TempFile {
  std::string path;
  TempFile(const std::string& bytes, const std::string& suffix) {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/forge-serve-XXXXXX" + suffix;
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    int fd = mkstemps(buf.data(), static_cast<int>(suffix.size()));
    FORGE_CHECK(fd >= 0, "[serve] cannot create a temporary file");
    close(fd);
    path = buf.data();
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ~TempFile() { std::remove(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

}  // namespace

void Server::Impl::register_model_routes() {
  http->Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/v1/embeddings", [&](RequestRecord& rec) {
      rec.key = authorize(req, kScopeInference);
      rec.metered = true;
      json body = parse_body(req);
      if (!body.is_object()) bad_request("The request body must be a JSON object.");
      for (const auto& [k, v] : body.items()) {
        if (k != "model" && k != "input" && k != "encoding_format" && k != "user" && k != "dimensions") {
          bad_request(fmt::format("Unrecognized request argument supplied: {}", k), k);
        }
      }
      if (!body.contains("model") || !body["model"].is_string())
        bad_request("'model' (a string) is required.", "model");
      rec.model = body["model"].get<std::string>();
      auto it = embeddings.find(rec.model);
      if (it == embeddings.end()) {
        throw ApiError(404, "invalid_request_error",
                       fmt::format("The model '{}' does not exist or is not an embedding model.", rec.model),
                       "model_not_found", "model");
      }
      std::vector<std::string> texts;
      const json& input = body.value("input", json());
      if (input.is_string()) {
        texts.push_back(input.get<std::string>());
      } else if (input.is_array() && !input.empty()) {
        for (const auto& t : input) {
          if (!t.is_string()) bad_request("'input' must be a string or an array of strings.", "input");
          texts.push_back(t.get<std::string>());
        }
      } else {
        bad_request("'input' must be a string or a non-empty array of strings.", "input");
      }
      std::string format = body.value("encoding_format", "float");
      if (format != "float" && format != "base64")
        bad_request("'encoding_format' must be float or base64.", "encoding_format");
      EmbeddingEntry& e = it->second;
      auto tok = e.model->tokenizer();
      for (size_t i = 0; i < texts.size(); ++i) {
        int64_t n = static_cast<int64_t>(tok->encode(texts[i], true).size());
        if (n > e.model->max_tokens()) {
          bad_request(fmt::format("input[{}] has {} tokens; this model's maximum is {}.", i, n, e.model->max_tokens()),
                      "input", "context_length_exceeded");
        }
        rec.prompt_tokens += n;
      }
      if (body.contains("dimensions") && !body["dimensions"].is_null() &&
          (!body["dimensions"].is_number_integer() || body["dimensions"].get<int64_t>() != e.model->dim())) {
        bad_request(fmt::format("'dimensions' must be {} for this model.", e.model->dim()), "dimensions");
      }
      admit(rec, rec.prompt_tokens);
      std::vector<std::vector<float>> vectors;
      {
        std::lock_guard lock(*e.mu);
        vectors = e.model->embed(texts);
      }
      json data = json::array();
      for (size_t i = 0; i < vectors.size(); ++i) {
        json emb;
        if (format == "base64") {
          static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
          const auto* b = reinterpret_cast<const unsigned char*>(vectors[i].data());
          size_t n = vectors[i].size() * sizeof(float);
          std::string s;
          for (size_t j = 0; j < n; j += 3) {
            uint32_t v = static_cast<uint32_t>(b[j]) << 16;
            if (j + 1 < n) v |= static_cast<uint32_t>(b[j + 1]) << 8;
            if (j + 2 < n) v |= b[j + 2];
            s += a[(v >> 18) & 63];
            s += a[(v >> 12) & 63];
            s += j + 1 < n ? a[(v >> 6) & 63] : '=';
            s += j + 2 < n ? a[v & 63] : '=';
          }
          emb = s;
        } else {
          emb = vectors[i];
        }
        data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", emb}});
      }
      send_json(res, 200,
                {{"object", "list"},
                 {"data", data},
                 {"model", rec.model},
                 {"usage", {{"prompt_tokens", rec.prompt_tokens}, {"total_tokens", rec.prompt_tokens}}}});
      return true;
    });
  });

  http->Post(R"(/v1/predict/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/v1/predict", [&](RequestRecord& rec) {
      rec.key = authorize(req, kScopeInference);
      rec.metered = true;
      rec.model = req.matches[1];
      auto it = predictors.find(rec.model);
      if (it == predictors.end()) {
        throw ApiError(404, "invalid_request_error",
                       fmt::format("The model '{}' does not exist or is not a Forge-trained model.", rec.model),
                       "model_not_found", "model");
      }
      json body = parse_body(req);
      if (!body.is_object()) bad_request("The request body must be a JSON object.");
      std::vector<std::string> inputs, sources;
      std::vector<std::unique_ptr<TempFile>> files;
      for (const auto& [k, v] : body.items()) {
        if (k != "inputs" && k != "images" && k != "texts") {
          bad_request(fmt::format("Unrecognized request argument supplied: {} (use inputs, images or texts)", k), k);
        }
        if (!v.is_array()) bad_request(fmt::format("'{}' must be an array.", k), k);
      }
      for (size_t i = 0; body.contains("inputs") && i < body["inputs"].size(); ++i) {
        const json& row = body["inputs"][i];
        std::string param = fmt::format("inputs[{}]", i);
        if (!row.is_array() || row.empty())
          bad_request(fmt::format("'{}' must be a non-empty array of numbers.", param), param);
        std::string line;
        for (const auto& x : row) {
          if (!x.is_number()) bad_request(fmt::format("'{}' must contain only numbers.", param), param);
          line += fmt::format("{}{}", line.empty() ? "" : ",", x.get<double>());
        }
        inputs.push_back(line);
        sources.push_back(param);
      }
      for (size_t i = 0; body.contains("images") && i < body["images"].size(); ++i) {
        std::string param = fmt::format("images[{}]", i);
        if (!body["images"][i].is_string()) bad_request(fmt::format("'{}' must be a base64 string.", param), param);
        std::string bytes = base64_decode(body["images"][i].get<std::string>(), param);
        std::string suffix;
        if (bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) suffix = ".png";
        if (bytes.size() > 3 && bytes.compare(0, 3, "\xff\xd8\xff") == 0) suffix = ".jpg";
        if (suffix.empty()) bad_request(fmt::format("'{}' is neither a PNG nor a JPEG image.", param), param);
        files.push_back(std::make_unique<TempFile>(bytes, suffix));
        inputs.push_back(files.back()->path);
        sources.push_back(param);
      }
      for (size_t i = 0; body.contains("texts") && i < body["texts"].size(); ++i) {
        std::string param = fmt::format("texts[{}]", i);
        if (!body["texts"][i].is_string()) bad_request(fmt::format("'{}' must be a string.", param), param);
        files.push_back(std::make_unique<TempFile>(body["texts"][i].get<std::string>() + "\n", ".txt"));
        inputs.push_back(files.back()->path);
        sources.push_back(param);
      }
      if (inputs.empty()) bad_request("Give 'inputs' (rows of numbers), 'images' (base64 PNG/JPEG) or 'texts'.");
      admit(rec, 0);
      std::vector<train::Prediction> predictions;
      {
        std::lock_guard lock(*it->second.mu);
        predictions = train::predict_inputs(it->second.dir, inputs);
      }
      FORGE_CHECK(predictions.size() == inputs.size(), "[serve] predict returned {} results for {} inputs",
                  predictions.size(), inputs.size());
      json out = json::array();
      for (size_t i = 0; i < predictions.size(); ++i) {
        predictions[i].source = sources[i];
        out.push_back(train::prediction_json(predictions[i]));
      }
      rec.prompt_tokens = static_cast<int64_t>(inputs.size());  // billed per input
      send_json(res, 200, {{"object", "list"}, {"model", rec.model}, {"predictions", out}});
      return true;
    });
  });
}

}  // namespace forge::serve
