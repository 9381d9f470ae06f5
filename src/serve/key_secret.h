#pragma once
// Secret handling shared by every KeyStore backend (SQLite, PostgreSQL), so both store and check
// keys the same way: secrets look like "fk_<12 hex public id>_<48 hex random>", the public id
// finds the row, and only SHA-256(salt || secret) with a random per-key salt is stored and
// compared in constant time.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "serve/keystore.h"

namespace forge::serve::key_secret {

// Lowercase hex of random bytes from OpenSSL's generator.
std::string random_hex(size_t bytes);
// SHA-256(salt || secret).
std::vector<unsigned char> salted_hash(const std::string& salt, const std::string& secret);
// A fresh (public id, secret) pair.
std::pair<std::string, std::string> new_secret();
// A fresh random salt for a key.
std::string new_salt();
// The public id ("fk_" + 12 hex) a secret starts with; nullopt when it is not shaped like one.
std::optional<std::string> public_id_of(const std::string& secret);
// Constant-time check of `secret` against a stored (salt, hash).
bool matches(const std::string& salt, const std::vector<unsigned char>& stored_hash, const std::string& secret);

// The key table's columns in the order both stores read a KeyInfo from.
inline constexpr const char* kKeyColumns =
    "id, public_id, name, scopes, rpm, tpm, monthly_tokens, created_ms, revoked_ms";

// "a,b" <-> {"a", "b"} as scopes are stored.
std::string join_scopes(const std::vector<std::string>& scopes);
std::vector<std::string> split_scopes(const std::string& text);
// Checks the name and limits of a key to create (the same errors for every backend).
void validate_new_key(const NewKey& spec);

}  // namespace forge::serve::key_secret
