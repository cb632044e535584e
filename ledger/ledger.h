// The ledger: an append-only, signed, Merkle-hashed event log in RocksDB.
//
// Ownership and threads: a Ledger owns its RocksDB handle. All methods are
// thread-safe. Appends from many threads are group-committed: the first
// waiting writer commits everyone queued behind it in one synced WriteBatch.
// Only one process may open a ledger for writing (RocksDB's LOCK file);
// read-only opens (verify, export, log) may run beside it.
#ifndef ELDERCARE_LEDGER_LEDGER_H_
#define ELDERCARE_LEDGER_LEDGER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/key_registry.h"
#include "ledger/state_store.h"
#include "ledger/status.h"
#include "ledger/submission.h"
#include "schema/ledger.capnp.h"

namespace rocksdb {
class Env;
}

namespace eldercare {

// Where an event sits, for a projection folding it.
struct EventContext {
  uint64_t index = 0;
  int64_t recorded_at = 0;
  std::string_view writer;
  schema::Role role = schema::Role::OPERATOR;
};

// Derived state kept in the same atomic write as the entries that cause it.
// Implemented in projections/ (which knows the programme); the ledger only
// runs it. Apply must be a pure function of (state, ctx, body): no clock, no
// randomness, no other input, so that a rebuild from scratch reproduces the
// incremental state exactly.
class Projector {
 public:
  virtual ~Projector() = default;
  // Folds one event into `state`. An error rejects the whole submission the
  // event came in (the write-side rules: refers to nothing, out of order).
  [[nodiscard]] virtual Status Apply(const EventContext& ctx, schema::EventBody::Reader body,
                                     StateStore& state) const = 0;
  // Names the fold's rules; a stored state of another version is rebuilt.
  virtual std::string_view version() const = 0;
};

// A consistent read-only view of the projection state, and the log size it
// reflects (every entry below `size` is folded in, none above).
struct ProjectionView {
  std::unique_ptr<StateReader> state;
  uint64_t size = 0;
};

// How far a long operation (a rebuild, a restore, a verification, an
// export) has come: `done` of `total` entries (`total` 0: not known yet),
// reported now and then from the thread doing it.
using ProgressFn = std::function<void(std::string_view what, uint64_t done, uint64_t total)>;

struct LedgerOptions {
  // Sync the write-ahead log before acknowledging. Default: true. Turning it
  // off loses acknowledged submissions on power failure; only benchmarks of
  // the raw cost do that.
  bool sync = true;
  SubmissionLimits limits;
  // Microseconds since the epoch for "time recorded". Default: the system
  // clock. Tests inject their own.
  std::function<int64_t()> clock;
  bool read_only = false;
  // Upper bound on events committed in one group.
  size_t max_group_events = 200000;
  // Projection changes a rebuild folds before handing them to its writer
  // thread as one RocksDB write. Tests make it small, so that a rebuild
  // passes through many.
  size_t rebuild_chunk_keys = 50000;
  // Worker threads for AppendMany's signature checks; 0 = all cores.
  unsigned threads = 0;
  // RocksDB environment (fault injection in tests). Not owned. Default: the OS.
  rocksdb::Env* env = nullptr;
  // The projection folded at every append; null = none. Not owned; must
  // outlive the ledger.
  const Projector* projector = nullptr;
  // A writable open folds the projections again when they are missing, of
  // another fold version or behind the log. Off, it leaves them as they are
  // and says why they are stale (StaleProjections), for a caller about to
  // rebuild them anyway (`audit-cli rebuild`), which would otherwise fold the
  // log twice; appends and Projections() are refused until they are rebuilt.
  bool rebuild_stale_projections = true;
  // Where rebuilds and restores report their progress; none by default.
  ProgressFn progress;
  // Open the column families only, without loading or checking the ledger's
  // state: for verifying or repairing a damaged ledger. On such a ledger only
  // ScanEntries, NewCursor, Checkpoints and CheckDerivedStores work.
  bool stores_only = false;
};

struct CreateParams {
  std::string origin;          // checkpoint origin and note key name; no spaces or '+'
  std::string operator_id = "operator";
  std::string operator_key_path;  // remembered for `audit-cli checkpoint` (optional)
};

// Sequential read access to one column family, in key order (see
// ledger/store_layout.h for what the keys and values are).
class KvCursor {
 public:
  virtual ~KvCursor() = default;
  virtual bool Valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual void Next() = 0;
  virtual Status status() const = 0;
};

enum class Family { kMeta, kEntries, kMerkle, kSubmissions, kActors, kCheckpoints, kProjections };

// What RocksDB has done to one column family since this process opened the
// ledger: how much the log's storage costs beyond writing each byte once.
// Flushed and compacted bytes and compaction time are counted as RocksDB
// reports each table file and compaction; live and moved bytes and levels are
// RocksDB's own statistics.
struct FamilyStorageStats {
  std::string name;
  uint64_t live_bytes = 0;       // SST files now
  uint64_t flushed_bytes = 0;    // memtables written out (each byte's first write)
  uint64_t compacted_bytes = 0;  // table files written by compactions
  uint64_t moved_bytes = 0;      // files moved down a level without rewriting
  double compaction_seconds = 0;
  int levels = 0;                // levels holding files
  uint64_t pending_compaction_bytes = 0;  // RocksDB's estimate of what compaction still has to rewrite
  std::vector<std::string> files;         // the live table files' paths
};

struct AppendResult {
  uint64_t first_index = 0;
  uint32_t count = 0;
  bool duplicate = false;  // the identical submission was already in the log
};

class Ledger {
 public:
  // Creates a ledger in `dir` (which must not exist or be empty), writes the
  // genesis entry signed by `operator_key` and a first checkpoint.
  static Result<std::unique_ptr<Ledger>> Create(const std::string& dir, const CreateParams& params,
                                                const PrivateKey& operator_key, LedgerOptions options = {});
  static Result<std::unique_ptr<Ledger>> Open(const std::string& dir, LedgerOptions options = {});
  // Recreates a ledger in `dir` from the leaf data of an existing log (an
  // export), entry for entry: the same indexes, times, signatures and root.
  // Derived stores (Merkle nodes, submissions, actors, projections) are
  // rebuilt; the checkpoint notes are kept as given. The caller verifies the
  // source first (VerifyExportDir); entries that do not even parse, or key
  // events that do not replay, are Corruption.
  static Result<std::unique_ptr<Ledger>> Restore(const std::string& dir,
                                                 const std::function<Result<bool>(std::string*)>& next_leaf,
                                                 const std::vector<std::string>& checkpoint_notes,
                                                 LedgerOptions options = {});
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Checks the submission (ids, limits, schema rules, writer's key and role,
  // signature) and appends it durably. Idempotent: the identical submission
  // again returns its original positions with duplicate = true; other content
  // under a used (writer, submission id) is a Conflict. On any error nothing
  // is written.
  Result<AppendResult> Append(schema::Submission::Reader submission);

  // Same for many submissions: signatures are checked on all cores, then all
  // are committed in as few synced batches as the group limit allows. Results
  // are in input order; one failing submission does not affect the others.
  std::vector<Result<AppendResult>> AppendMany(std::span<const schema::Submission::Reader> submissions);

  uint64_t Size() const;
  const std::string& origin() const;
  const std::string& operator_id() const;
  const PublicKey& operator_key() const;
  const std::string& operator_key_path() const;
  // Actors and their keys as of now (copies).
  std::optional<Actor> FindActor(std::string_view actor_id) const;
  std::vector<Actor> Actors() const;

  // Merkle queries: O(log n) reads of stored subtree hashes.
  Result<Hash> RootAt(uint64_t size) const;
  Result<Hash> LeafHash(uint64_t index) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t size1, uint64_t size2) const;

  // Leaf data (canonical Entry bytes) of one entry.
  Result<std::string> EntryBytes(uint64_t index) const;
  // When the entry at `index` was recorded (microseconds, the ledger's clock).
  Result<int64_t> RecordedAt(uint64_t index) const;
  // fn(index, leaf bytes) in index order from `from`, at most `limit`
  // entries, until fn returns false.
  Status ScanEntries(uint64_t from, uint64_t limit,
                     const std::function<bool(uint64_t, std::string_view)>& fn) const;
  // A cursor over one column family, positioned at its first key >= `from`.
  std::unique_ptr<KvCursor> NewCursor(Family family, std::string_view from = {}) const;

  // The projection state as of now, under a RocksDB snapshot.
  Result<ProjectionView> Projections() const;
  // Drops the projection state and folds every entry again from index 0.
  Status RebuildProjections();
  // Why the projection state is not the log's (never built, folded by
  // another version, behind the log, left half-written by a failed
  // rebuild), or empty when it is. Only a ledger opened with
  // rebuild_stale_projections off, or one whose rebuild failed, holds stale
  // projections.
  const std::string& StaleProjections() const;

  // A fresh ledger in `dir` (which must not exist or be empty) recreated
  // from this one's entries and checkpoints by Restore: the same log, every
  // derived store (Merkle nodes, submission index, actors, metadata and,
  // given a projector, the projections) computed again from it. Memory is
  // bounded as a rebuild's; `dir` needs about this ledger's disk space.
  // Works on a stores-only ledger.
  Result<std::unique_ptr<Ledger>> Rederive(const std::string& dir, const Projector* projector, bool sync) const;

  // Recomputes the derived stores from the entries -- the submission index,
  // the actor registry, the metadata and, given a projector, the projection
  // state -- into a scratch ledger in a new directory under `scratch`
  // (default: the system's temporary directory, $TMPDIR), removed
  // afterwards, and compares them with what is stored, key by key in order.
  // The scratch ledger reads this one's log where it lies (as of one
  // snapshot) and stores only what it derives: it needs about the disk
  // space of the derived stores, not of the log. Corruption names the store
  // and the first key that differs. Works on a stores-only ledger.
  Status CheckDerivedStores(const Projector* projector, const std::string& scratch = {}) const;

  // Writes the memtables to SST files (what the WAL held then lives in SSTs);
  // with `compact`, rewrites every file (a deleted value leaves no copy).
  Status Flush(bool compact = false);

  // Per column family, what flushes and compactions wrote since the open.
  std::vector<FamilyStorageStats> StorageStats() const;
  // Waits, at most `limit`, until RocksDB has run no flush or compaction for
  // a second (after a bulk load, its background compactions compete with
  // readers for the cores). Returns the seconds until the last one ended;
  // FailedPrecondition if still busy at the limit.
  Result<double> SettleCompactions(std::chrono::milliseconds limit) const;

  // Signs a checkpoint of the current size with the operator key and keeps it.
  Result<std::string> MakeCheckpoint(const PrivateKey& operator_key);
  // Every checkpoint note kept, by increasing tree size.
  Result<std::vector<std::string>> Checkpoints() const;

 private:
  struct Rep;
  explicit Ledger(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_LEDGER_H_
