// Secret generation, salted hashing and constant-time comparison (see key_secret.h).
#include "serve/key_secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/error.h"

namespace forge::serve::key_secret {
namespace {

std::string to_hex(const unsigned char* data, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

constexpr size_t kPublicIdHex = 12;

}  // namespace

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  FORGE_CHECK(RAND_bytes(buf.data(), static_cast<int>(bytes)) == 1, "[keys] OpenSSL RAND_bytes failed");
  return to_hex(buf.data(), bytes);
}

std::vector<unsigned char> salted_hash(const std::string& salt, const std::string& secret) {
  std::string message = salt + secret;
  std::vector<unsigned char> digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up again on every call (~1 us
  // of each authenticated request).
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  FORGE_CHECK(sha256 != nullptr, "[keys] OpenSSL has no SHA-256");
  FORGE_CHECK(EVP_Digest(message.data(), message.size(), digest.data(), &length, sha256, nullptr) == 1,
              "[keys] OpenSSL SHA-256 failed");
  digest.resize(length);
  return digest;
}

std::pair<std::string, std::string> new_secret() {
  std::string public_id = "fk_" + random_hex(kPublicIdHex / 2);
  return {public_id, public_id + "_" + random_hex(24)};
}

std::string new_salt() { return random_hex(16); }

std::optional<std::string> public_id_of(const std::string& secret) {
  if (secret.size() < 3 + kPublicIdHex + 2 || secret.compare(0, 3, "fk_") != 0 || secret[3 + kPublicIdHex] != '_') {
    return std::nullopt;
  }
  return secret.substr(0, 3 + kPublicIdHex);
}

bool matches(const std::string& salt, const std::vector<unsigned char>& stored_hash, const std::string& secret) {
  std::vector<unsigned char> got = salted_hash(salt, secret);
  return stored_hash.size() == got.size() && CRYPTO_memcmp(stored_hash.data(), got.data(), got.size()) == 0;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& p : scopes) out += (out.empty() ? "" : ",") + p;
  return out;
}

std::vector<std::string> split_scopes(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

void validate_new_key(const NewKey& spec) {
  FORGE_CHECK(!spec.name.empty(), "[keys] a key needs a name");
  FORGE_CHECK(spec.rpm >= 0 && spec.tpm >= 0 && spec.monthly_tokens >= 0,
              "[keys] limits must be >= 0 (0 = unlimited), got rpm={} tpm={} monthly_tokens={}", spec.rpm, spec.tpm,
              spec.monthly_tokens);
}

}  // namespace forge::serve::key_secret
