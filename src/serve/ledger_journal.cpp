// The ledger journal (see ledger_journal.h).
#include "serve/ledger_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "serve/key_secret.h"

namespace forge::serve {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'F', 'L', 'E', 'D', 'G', 'E', 'R', '1'};
constexpr size_t kMaxPayload = 1 << 16;  // two u16-length strings plus fixed fields stay well below

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_text(std::string& out, const std::string& s) {
  // Model names and endpoints are short; a longer one is cut (the ledger row is still written).
  const auto n = static_cast<uint16_t>(std::min<size_t>(s.size(), std::numeric_limits<uint16_t>::max()));
  put(out, n);
  out.append(s.data(), n);
}

// Reads fixed fields and strings from one payload; false when it runs past the end.
class PayloadReader {
 public:
  PayloadReader(const char* p, size_t n) : p_(p), end_(p + n) {}
  template <class T>
  bool get(T& v) {
    if (static_cast<size_t>(end_ - p_) < sizeof v) return false;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return true;
  }
  bool get_text(std::string& s) {
    uint16_t n = 0;
    if (!get(n) || static_cast<size_t>(end_ - p_) < n) return false;
    s.assign(p_, n);
    p_ += n;
    return true;
  }
  bool at_end() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

uint32_t checksum(const char* p, size_t n) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

std::string errno_text() { return std::strerror(errno); }

// Parses a journal's bytes after the magic into rows; stops at the first torn or corrupt record.
std::vector<UsageRow> parse_records(const std::string& data, size_t start, int64_t& dropped) {
  std::vector<UsageRow> rows;
  size_t at = start;
  while (data.size() - at >= 8) {
    uint32_t n = 0, crc = 0;
    std::memcpy(&n, data.data() + at, 4);
    std::memcpy(&crc, data.data() + at + 4, 4);
    if (n > kMaxPayload || data.size() - at - 8 < n || checksum(data.data() + at + 8, n) != crc) break;
    PayloadReader r(data.data() + at + 8, n);
    UsageRow row;
    int32_t status = 0;
    if (!(r.get(row.time_ms) && r.get(row.key_id) && r.get(row.prompt_tokens) && r.get(row.completion_tokens) &&
          r.get(row.latency_ms) && r.get(status) && r.get_text(row.model) && r.get_text(row.endpoint) && r.at_end())) {
      break;
    }
    row.status = status;
    rows.push_back(std::move(row));
    at += 8 + n;
  }
  dropped = static_cast<int64_t>(data.size() - at);
  return rows;
}

bool read_all(int fd, std::string& out) {
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(buf, static_cast<size_t>(n));
  }
}

// "<token>-<generation>" after the prefix: the generation, or -1 when the rest has another shape.
int64_t generation_of(const std::string& rest) {
  size_t dash = rest.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == rest.size()) return -1;
  if (rest.find_first_not_of("0123456789abcdef") != dash) return -1;
  const std::string gen = rest.substr(dash + 1);
  if (gen.size() > 18 || gen.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(gen);
}

}  // namespace

LedgerJournalFile::LedgerJournalFile(const std::string& db_path, const std::string& token, int64_t generation) {
  const std::string suffix = token + "-" + std::to_string(generation);
  path_ = db_path + "-ledger-" + suffix;
  const std::string tmp = db_path + "-ledgertmp-" + suffix;
  fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  FORGE_CHECK(fd_ >= 0, "[keys] cannot create the ledger journal '{}': {}", tmp, errno_text());
  bool ok = ::flock(fd_, LOCK_EX | LOCK_NB) == 0 && ::write(fd_, kMagic, sizeof kMagic) == sizeof kMagic &&
            ::rename(tmp.c_str(), path_.c_str()) == 0;
  if (!ok) {
    std::string why = errno_text();
    ::unlink(tmp.c_str());
    ::close(fd_);
    fd_ = -1;
    fail("[keys] cannot create the ledger journal '{}': {}", path_, why);
  }
}

LedgerJournalFile::~LedgerJournalFile() {
  if (fd_ >= 0) ::close(fd_);
}

void LedgerJournalFile::append(const UsageRow& row) {
  std::string rec(8, '\0');
  put(rec, row.time_ms);
  put(rec, row.key_id);
  put(rec, row.prompt_tokens);
  put(rec, row.completion_tokens);
  put(rec, row.latency_ms);
  put(rec, static_cast<int32_t>(row.status));
  put_text(rec, row.model);
  put_text(rec, row.endpoint);
  const auto n = static_cast<uint32_t>(rec.size() - 8);
  const uint32_t crc = checksum(rec.data() + 8, n);
  std::memcpy(rec.data(), &n, 4);
  std::memcpy(rec.data() + 4, &crc, 4);
  ssize_t w;
  do {
    w = ::write(fd_, rec.data(), rec.size());
  } while (w < 0 && errno == EINTR);
  // A short write leaves a torn record that replay skips (with everything after it), so the
  // caller must know this row is not journaled.
  FORGE_CHECK(w == static_cast<ssize_t>(rec.size()), "[keys] cannot append to the ledger journal '{}': {}", path_,
              w < 0 ? errno_text() : "short write");
}

void LedgerJournalFile::remove() { ::unlink(path_.c_str()); }

std::string LedgerJournalFile::name() const { return fs::path(path_).filename().string(); }

OrphanJournal::OrphanJournal(OrphanJournal&& o) noexcept
    : path(std::move(o.path)),
      name(std::move(o.name)),
      fd(o.fd),
      rows(std::move(o.rows)),
      dropped_bytes(o.dropped_bytes) {
  o.fd = -1;
}

OrphanJournal& OrphanJournal::operator=(OrphanJournal&& o) noexcept {
  if (this != &o) {
    if (fd >= 0) ::close(fd);
    path = std::move(o.path);
    name = std::move(o.name);
    fd = o.fd;
    rows = std::move(o.rows);
    dropped_bytes = o.dropped_bytes;
    o.fd = -1;
  }
  return *this;
}

OrphanJournal::~OrphanJournal() {
  if (fd >= 0) ::close(fd);
}

std::vector<OrphanJournal> take_orphan_journals(const std::string& db_path) {
  const fs::path db(db_path);
  const fs::path dir = db.has_parent_path() ? db.parent_path() : fs::path(".");
  const std::string base = db.filename().string();
  const std::string journal_prefix = base + "-ledger-", tmp_prefix = base + "-ledgertmp-";
  std::vector<std::pair<int64_t, OrphanJournal>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const bool is_tmp = name.rfind(tmp_prefix, 0) == 0;
    if (!is_tmp && name.rfind(journal_prefix, 0) != 0) continue;
    const int64_t gen = generation_of(name.substr(is_tmp ? tmp_prefix.size() : journal_prefix.size()));
    if (gen < 0) continue;
    OrphanJournal j;
    j.path = entry.path().string();
    j.name = name;
    j.fd = ::open(j.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (j.fd < 0) continue;                               // removed meanwhile
    if (::flock(j.fd, LOCK_EX | LOCK_NB) != 0) continue;  // its writer is alive
    struct stat st {};
    // Another reader may have replayed and removed it between our open and our lock.
    if (::fstat(j.fd, &st) != 0 || st.st_nlink == 0) continue;
    if (is_tmp) {  // a writer died between create and rename: no rows were ever appended
      ::unlink(j.path.c_str());
      continue;
    }
    std::string data;
    if (!read_all(j.fd, data)) {
      fmt::print(stderr, "forge: cannot read the ledger journal '{}': {}\n", j.path, errno_text());
      continue;
    }
    if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
      fmt::print(stderr, "forge: '{}' is not a ledger journal (bad magic); left alone\n", j.path);
      continue;
    }
    j.rows = parse_records(data, sizeof kMagic, j.dropped_bytes);
    found.emplace_back(gen, std::move(j));
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.name < b.second.name;
  });
  std::vector<OrphanJournal> out;
  out.reserve(found.size());
  for (auto& [gen, j] : found) out.push_back(std::move(j));
  return out;
}

std::string new_journal_token() { return key_secret::random_hex(6); }

}  // namespace forge::serve
