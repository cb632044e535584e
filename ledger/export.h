// A portable, self-contained export that an evaluator carries away and
// verifies without RocksDB (docs/FORMATS.md, "Export").
//
//   DIR/entries.bin          every entry, in index order, as a stream of
//                            standard Cap'n Proto messages (8-byte segment
//                            table + one segment); each segment is exactly the
//                            canonical Entry = the Merkle leaf data
//   DIR/checkpoints/<size>.note   every checkpoint, a C2SP signed note
//   DIR/entries.jsonl        the same entries as JSON lines, for people
//   DIR/manifest.json        origin, size, root, operator verifier key, file
//                            digests; written last, so an export without it is
//                            incomplete. Verify trusts only the genesis key and
//                            the signed checkpoints, and then requires the
//                            manifest to describe what it verified.
#ifndef ELDERCARE_LEDGER_EXPORT_H_
#define ELDERCARE_LEDGER_EXPORT_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/verifier.h"

namespace eldercare {

constexpr char kExportFormat[] = "eldercare-ledger-export/1";
constexpr size_t kMaxEntryBytes = 1u << 20;

struct ExportSummary {
  uint64_t size = 0;
  Hash root{};
  size_t checkpoints = 0;
  uint64_t entry_bytes = 0;
};

// The line of entries.jsonl for one entry's leaf bytes (without its newline).
Result<std::string> EntryJsonLine(std::string_view leaf);

// Writes an export of the ledger's first Size() entries (as of the call) and
// of every checkpoint at or below that size. `out_dir` must not exist or be empty.
Result<ExportSummary> WriteExport(const Ledger& ledger, const std::string& out_dir, const ProgressFn& progress = {});

// One record's bytes where they lie in the block the reader read them into:
// valid while `block` is held, so a verifier parses them in place instead of
// copying each (their offset in the file, and so in the block, is a whole
// number of words).
struct ExportRecord {
  std::shared_ptr<const char[]> block;
  std::string_view bytes;
};

// Reads DIR/entries.bin one record at a time, in blocks of 1 MiB.
class ExportReader {
 public:
  static Result<std::unique_ptr<ExportReader>> Open(const std::string& dir);
  // Reads records of entries.bin from any stream (no checkpoints): for tools
  // that receive the file some other way, and for the fuzzer.
  static std::unique_ptr<ExportReader> FromStream(std::unique_ptr<std::istream> in);
  // Next leaf's bytes into *leaf; false at a clean end of file. Errors name
  // the record index and what is wrong (truncated, several segments, too big).
  Result<bool> Next(std::string* leaf);
  // The same, without a copy.
  Result<bool> Next(ExportRecord* record);
  // The checkpoint notes of DIR/checkpoints/, by increasing size.
  const std::vector<std::string>& checkpoints() const { return checkpoints_; }
  // Bytes of entries.bin handed out so far (segment tables included).
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  // Makes `need` bytes from pos_ readable in block_ (moving what is left to
  // a new block if they do not fit: a block handed out is never written
  // again); returns how many are, fewer only at the end of the stream.
  size_t Available(size_t need);

  std::unique_ptr<std::istream> in_;
  std::shared_ptr<char[]> block_;  // not zero-filled: only the bytes read are used
  size_t pos_ = 0;  // next record's offset in block_
  size_t end_ = 0;  // bytes of block_ read from the stream
  bool ended_ = false;
  uint64_t record_ = 0;
  uint64_t bytes_read_ = 0;
  std::vector<std::string> checkpoints_;
};

// Verifies every entry and checkpoint of the export (LogVerifier), then
// that DIR/manifest.json describes what was verified: its format, origin,
// operator key, size, root, checkpoint sizes and entries.bin's length. A
// missing or unreadable manifest fails at once (the export is incomplete).
// With options.export_jsonl, last, that entries.jsonl holds exactly the
// line WriteExport writes for each verified entry (on all cores).
VerifyReport VerifyExportDir(const std::string& dir, const VerifyOptions& options);

// Verifies the export, then recreates the ledger it came from in
// `ledger_dir` (Ledger::Restore): same entries, same root, derived stores
// and projections rebuilt, so every query answers offline. A failed
// verification is Corruption naming the first bad index.
Result<std::unique_ptr<Ledger>> RestoreExport(const std::string& export_dir, const std::string& ledger_dir,
                                              LedgerOptions options = {});

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_EXPORT_H_
