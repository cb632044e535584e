// Full, independent verification of a log: what a third-party evaluator runs.
//
// Fed the leaf data of every entry in index order (from a ledger directory or
// an export), it re-derives everything and trusts nothing but the genesis
// entry's operator key:
//   - each entry is canonical Cap'n Proto and sits at the index it claims;
//   - entries of one submission are contiguous and agree on writer, id,
//     signature, count and time; recording times never go backwards;
//   - every body satisfies the schema rules; genesis is entry 0 and only there;
//   - the writer had a registered, unrevoked, already-valid key at that
//     position, its role may write each event type, and the Ed25519 signature
//     over the submission's signed header verifies (checked on all cores);
//   - the RFC 9162 root recomputed at every checkpoint's size equals the
//     checkpoint's root, and each checkpoint is signed by the operator key;
//   - optionally, every stored Merkle node equals the recomputed one;
//   - optionally, checkpoints kept elsewhere are extended by this log.
// It reports the first bad index and what is wrong there.
#ifndef ELDERCARE_LEDGER_VERIFIER_H_
#define ELDERCARE_LEDGER_VERIFIER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace eldercare {

struct VerifyOptions {
  unsigned threads = 0;  // signature workers; 0 = all cores
  // Signed checkpoint notes kept outside the ledger (an evaluator's own copy).
  std::vector<std::string> external_checkpoints;
  // Ledger directories only: after the log, also recompute the derived
  // stores (submission index, actors, metadata and, with a projector, the
  // projection state) and compare them with the stored ones. They are
  // recomputed into a scratch ledger in a new directory under `scratch`
  // (default: $TMPDIR or /tmp), removed afterwards.
  bool derived = false;
  std::string scratch;
  const Projector* projector = nullptr;
  // Exports only: also check entries.jsonl, the entries as people read them,
  // line by line against the verified entries (each rendered again: several
  // times the cost of the rest of verify).
  bool export_jsonl = false;
  // Where the verification (and the recomputation of --derived) reports its
  // progress; none by default.
  ProgressFn progress;
};

struct VerifyReport {
  bool ok = false;
  uint64_t size = 0;                 // entries read
  Hash root{};                       // recomputed root at `size`
  uint64_t submissions = 0;
  uint64_t signatures_checked = 0;
  uint64_t checkpoints_checked = 0;
  uint64_t merkle_nodes_checked = 0;
  std::optional<uint64_t> first_bad_index;
  std::string error;                 // what is wrong, for people
  std::vector<std::string> facts;    // what was established ("extends your checkpoint at 100")
  std::string origin;                // the genesis entry's origin
  std::string operator_key;          // the genesis entry's operator key (base64)
};

class LogVerifier {
 public:
  // Opens a cursor on the merkle column family at `from`.
  using NodeCursors = std::function<std::unique_ptr<KvCursor>(std::string_view from)>;
  // How the merkle column family stores nodes: in tiles (format 3), or one
  // key per node (format 2, which a writer upgrades on open; a verifier
  // reads it as it is).
  enum class NodeLayout { kTiles, kOneKeyPerNode };
  // `checkpoints`: the notes stored with the log. `stored_nodes`: cursors on
  // the merkle column family of a ledger directory (one per band of levels,
  // see store_layout.h), or empty for an export.
  LogVerifier(std::vector<std::string> checkpoints, NodeCursors stored_nodes, VerifyOptions options,
              NodeLayout layout = NodeLayout::kTiles);
  ~LogVerifier();
  LogVerifier(const LogVerifier&) = delete;
  LogVerifier& operator=(const LogVerifier&) = delete;

  // Feeds the next entry's leaf data (copied). Returns false once an error
  // is known; feeding more is then pointless.
  bool Add(std::string_view leaf);
  // The same, reading the bytes where they lie (in a block of a file read
  // whole) while holding `owner`, which keeps them alive.
  bool Add(std::shared_ptr<const void> owner, std::string_view leaf);
  // Reports a failure of the source itself (truncated file, I/O error) at
  // the index that was about to be read.
  void FailSource(const Status& status);
  // How many entries the source says it holds: for progress reports only.
  void ExpectEntries(uint64_t n);
  VerifyReport Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Verifies a ledger directory, read-only (may run beside a writer). Reads
// the stores directly, so that a damaged ledger is still verified and its
// first bad index named.
VerifyReport VerifyLedgerDir(const std::string& dir, const VerifyOptions& options);

// Rebuilds every derived store of a ledger directory (Merkle nodes,
// submission index, actors, metadata, projections) from its entries, after
// verifying the entries against every stored signed checkpoint (and any
// external ones). Refuses, changing nothing, when the entries or checkpoints
// themselves are damaged: those are the log, and only a copy restores them.
// The damaged stores are kept beside the ledger as log.damaged-<time>;
// returns that path.
Result<std::string> RepairLedger(const std::string& dir, const VerifyOptions& options);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_VERIFIER_H_
