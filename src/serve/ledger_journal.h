#pragma once
// The usage ledger's journal: an append-only file beside a SQLite key store that holds the rows
// recorded since the last group commit. record_usage appends a row with one write(2) before the
// response goes out, so a row survives kill -9 of the server (it is in the kernel's page cache)
// without a SQLite commit on the request's path; the store's writer thread commits the rows
// every window and then deletes the journal file. A journal whose writer died is replayed into
// the store by the next process that opens it (see SqliteKeyStore).
//
// Files: "<db>-ledger-<token>-<generation>", <token> random per writer, <generation> counting its
// files. Each file is locked (flock) by its writer for as long as the writer lives, so a reader
// replays only the files of dead writers. Format (host byte order, x86-64: little-endian): the
// 8-byte magic "FLEDGER1", then records of u32 payload length, u32 CRC-32 of the payload, and the
// payload (time_ms, key_id, prompt_tokens, completion_tokens: i64; latency_ms: f64; status: i32;
// model and endpoint: u16 length + bytes). A torn or corrupt tail ends the file's rows.
#include <cstdint>
#include <string>
#include <vector>

#include "serve/keystore.h"

namespace forge::serve {

// One journal file, open for appending and locked by this process.
class LedgerJournalFile {
 public:
  // Creates "<db_path>-ledger-<token>-<generation>" with its magic, locked (created under a
  // temporary name and renamed once locked, so no reader ever sees it unlocked). Throws with
  // the path and errno text.
  LedgerJournalFile(const std::string& db_path, const std::string& token, int64_t generation);
  ~LedgerJournalFile();  // closes (releasing the lock) but keeps the file: see remove()
  LedgerJournalFile(const LedgerJournalFile&) = delete;
  LedgerJournalFile& operator=(const LedgerJournalFile&) = delete;

  // Appends one row with a single write(2). Throws when the write fails or is short.
  void append(const UsageRow& row);
  // Deletes the file (its rows are committed); the lock is released when this object dies.
  void remove();
  const std::string& path() const { return path_; }
  // The file's name without its folder: the key under which its commit is remembered.
  std::string name() const;

 private:
  std::string path_;
  int fd_ = -1;
};

// A journal file of a writer that is gone, locked by this process while the object lives.
struct OrphanJournal {
  std::string path;
  std::string name;  // file name without the folder
  int fd = -1;       // open and locked
  std::vector<UsageRow> rows;
  int64_t dropped_bytes = 0;  // a torn or corrupt tail (not replayed)
  OrphanJournal() = default;
  OrphanJournal(OrphanJournal&& o) noexcept;
  OrphanJournal& operator=(OrphanJournal&& o) noexcept;
  ~OrphanJournal();
};

// The journal files beside `db_path` whose writers are gone (their lock could be taken and the
// file still exists), with their rows, oldest generation first. Leftover temporary files of dead
// writers (created, never renamed, hence empty) are deleted. A file with a wrong magic is
// reported on stderr and left alone.
std::vector<OrphanJournal> take_orphan_journals(const std::string& db_path);

// A random token for a new writer's file names.
std::string new_journal_token();

}  // namespace forge::serve
