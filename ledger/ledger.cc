#include "ledger/ledger.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "ledger/allocator.h"
#include "ledger/entry.h"
#include "ledger/event_schema.h"
#include "ledger/merkle.h"
#include "ledger/merkle_store.h"
#include "ledger/merkle_tiles.h"
#include "ledger/note.h"
#include "ledger/projection_store.h"
#include "ledger/rocks_util.h"
#include "ledger/store_layout.h"
#include "ledger/thread_pool.h"
#include "schema/store.capnp.h"

namespace eldercare {
namespace {

namespace fs = std::filesystem;

int64_t SystemMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// A submission that passed every check that does not depend on its position.
struct Prepared {
  schema::Submission::Reader sub;
  std::string writer;
  std::string id;
  std::vector<Hash> digests;
  Hash header{};
  std::optional<PublicKey> signer;
  bool has_key_events = false;
  bool is_genesis = false;
  std::vector<std::string> entries;  // BuildEntryTemplate of each event
  // Set when the outcome is known before commit (error or duplicate).
  std::optional<Result<AppendResult>> outcome;
};

std::string SubmissionRecordBytes(uint64_t first, uint32_t count, const Hash& digest) {
  capnp::MallocMessageBuilder msg(16);
  auto r = msg.initRoot<schema::SubmissionRecord>();
  r.setFirstIndex(first);
  r.setCount(count);
  r.setHeaderDigest(capnp::Data::Reader(digest.data(), digest.size()));
  return CanonicalBytes(r.asReader());
}

struct SubmissionRecord {
  uint64_t first = 0;
  uint32_t count = 0;
  Hash digest{};
};

Result<SubmissionRecord> ParseSubmissionRecord(std::string_view bytes) {
  auto m = CanonicalMessage::Parse(bytes);
  if (!m.ok()) return Status::Corruption("submission record: " + m.status().message());
  auto r = m->Root<schema::SubmissionRecord>();
  SubmissionRecord out{r.getFirstIndex(), r.getCount(), {}};
  if (r.getHeaderDigest().size() != kHashSize) return Status::Corruption("submission record digest");
  std::memcpy(out.digest.data(), r.getHeaderDigest().begin(), kHashSize);
  return out;
}

}  // namespace

namespace {
// What RocksDB wrote per column family since the ledger was opened, counted
// as it happens: each table file a flush or a compaction made, and each
// compaction's time. (RocksDB's per-level statistics, read before, were not
// monotonic: between two readings a family's compacted bytes could fall.)
class StorageCounter : public rocksdb::EventListener {
 public:
  struct Counts {
    uint64_t flushed = 0, compacted = 0;
    double compaction_seconds = 0;
  };
  void OnTableFileCreated(const rocksdb::TableFileCreationInfo& info) override {
    if (!info.status.ok()) return;
    std::lock_guard<std::mutex> lock(mu_);
    Counts& c = counts_[info.cf_name];
    if (info.reason == rocksdb::TableFileCreationReason::kFlush) c.flushed += info.file_size;
    if (info.reason == rocksdb::TableFileCreationReason::kCompaction) c.compacted += info.file_size;
  }
  void OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo& info) override {
    std::lock_guard<std::mutex> lock(mu_);
    counts_[info.cf_name].compaction_seconds += static_cast<double>(info.stats.elapsed_micros) / 1e6;
    jobs_ended_.fetch_add(1);
  }
  void OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo&) override { jobs_ended_.fetch_add(1); }
  // Flushes and compactions that have ended.
  uint64_t JobsEnded() const { return jobs_ended_.load(); }
  Counts Of(const std::string& family) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(family);
    return it == counts_.end() ? Counts{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Counts> counts_;
  std::atomic<uint64_t> jobs_ended_{0};
};
}  // namespace

struct Ledger::Rep {
  LedgerOptions options;
  std::string dir;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::ColumnFamilyHandle* entries = nullptr;
  rocksdb::ColumnFamilyHandle* merkle = nullptr;
  rocksdb::ColumnFamilyHandle* submissions = nullptr;
  rocksdb::ColumnFamilyHandle* actors = nullptr;
  rocksdb::ColumnFamilyHandle* checkpoints = nullptr;
  ProjectionFamilies projection;  // the projection state's families
  std::shared_ptr<StorageCounter> storage_counter = std::make_shared<StorageCounter>();
  const ProjectionFamilies& projection_families() const { return projection; }

  std::string origin;
  std::string operator_id;
  // Why the projections are not the log's: set at open, or by a failed
  // rebuild while it was unset (so never changed while it may be read); it
  // holds while `projections_stale` does, which a rebuild clears.
  std::string stale_projections;
  std::atomic<bool> projections_stale{false};
  std::optional<PublicKey> operator_key;
  std::string operator_key_path;

  // Committed state: size is read without a lock, the registry under
  // registry_mu.
  std::atomic<uint64_t> size{0};
  // The first failed write, if any: after it the process accepts no writes.
  mutable std::mutex failure_mu;
  std::optional<Status> write_failure;
  // Staged state, touched only by the leader holding stage_mu: it runs ahead
  // of the committed state by the group being written, if any.
  uint64_t staged_size = 0;
  merkle::CompactRange frontier;
  int64_t last_recorded_at = 0;
  // Readers (Prepare) take it shared; the group leader merges its overlay
  // under the exclusive lock after a successful write.
  mutable std::shared_mutex registry_mu;
  KeyRegistry registry;

  // Group commit queue (leveldb's DBImpl::Write pattern).
  struct Writer {
    std::span<Prepared*> items;
    bool done = false;
    std::condition_variable cv;
  };
  std::mutex queue_mu;
  std::deque<Writer*> queue;
  // A group of submissions between its staging and its write (Enqueue).
  struct StagedGroup {
    rocksdb::WriteBatch batch;
    std::vector<Prepared*> committed;   // recorded by this group's write
    std::vector<Prepared*> duplicates;  // answered by a submission of this group or the one before
    std::unordered_map<std::string, SubmissionRecord> submissions;  // by submission key
    std::unique_ptr<OverlayStateStore> state;  // the group's projection changes
    std::unique_ptr<KeyRegistry> keys;         // the group's key changes, over the registry
    uint64_t end = 0;                          // the log's size once it is written
    bool changes_keys = false;
  };

  std::unique_ptr<ThreadPool> pool;
  // AppendMany's commits, each on a thread of its own while the caller
  // checks the next chunk's signatures; the threads are kept for the next
  // call (AppendMany returns only once its commits have, so they are idle
  // whenever no call is under way).
  ThreadCache committers;
  std::mutex checkpoint_mu;
  // Held by the leader staging a group (leaders already stage one at a time:
  // the next is chosen only once this one has staged) and by a rebuild,
  // which also takes write_mu so that no write is in flight.
  std::mutex stage_mu;
  std::mutex write_mu;  // held by the leader writing a group
  mutable NodeCache node_cache;
  std::unique_ptr<RocksStateReader> committed_state;   // projections CF, no snapshot
  std::unique_ptr<CachedStateReader> state_cache;       // stage_mu
  std::shared_ptr<const StagedGroup> last_staged;      // stage_mu; may still be in flight
  // A scratch ledger deriving another's stores (CheckDerivedStores) holds
  // no log of its own: it reads the log of `log_source` as of `log_snapshot`
  // (the submission index, actors and metadata are its own, replayed from
  // that log). Nothing it writes outlives the check: no WAL, no closing
  // compaction. Never handed out as a Ledger anyone appends to.
  const Rep* log_source = nullptr;
  const rocksdb::Snapshot* log_snapshot = nullptr;

  ~Rep() {
    if (db) {
      // Everything acknowledged is already in the synced WAL; a flush at
      // close only spares every later open (each `audit-cli` query) from
      // replaying a large WAL. What an open replays is every WAL file since
      // the oldest write not yet flushed in *any* family — a few bytes of
      // metadata left in memory kept a rebuild's 636 MB of WAL alive (1M
      // events), and every query after it spent 1.3 s replaying them. Small
      // WALs are left alone rather than written as tiny files after every
      // `submit`.
      if (!options.read_only && !WriteFailure() && LiveWalBytes() > (8u << 20)) {
        auto s = db->Flush(rocksdb::FlushOptions(), handles);
        if (!s.ok()) spdlog::warn("flush at close failed (the WAL still holds everything): {}", s.ToString());
      }
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      handles.clear();
      db->Close();
    }
  }

  int64_t Now() const { return options.clock ? options.clock() : SystemMicros(); }

  // The bytes of WAL an open would replay (0 if they cannot be listed).
  uint64_t LiveWalBytes() const {
    rocksdb::VectorLogPtr files;
    if (!db->GetSortedWalFiles(files).ok()) return 0;
    uint64_t bytes = 0;
    for (const auto& f : files) {
      if (f->Type() == rocksdb::kAliveLogFile) bytes += f->SizeFileBytes();
    }
    return bytes;
  }

  Status OpenDb(bool create);
  // A new Rep over a new, empty RocksDB in `dir` (which must not exist or be empty).
  static Result<std::unique_ptr<Rep>> CreateIn(const std::string& dir, LedgerOptions options);
  Status ReplayLog(const std::function<Result<bool>(std::string*)>& next_leaf,
                   const std::vector<std::string>& checkpoint_notes, bool copy_log);
  Status LoadState();
  // A cursor over `family` from `from`, as of `snapshot` (null: now).
  std::unique_ptr<KvCursor> Cursor(Family family, std::string_view from, const rocksdb::Snapshot* snapshot) const;
  Status UpgradeFromFormat1();
  Status UpgradeFromFormat2();
  template <typename Writer, typename Parse>
  Status MoveMerkleNodes(std::string_view to_format, Parse parse);
  Status RebuildProjections();  // FoldProjectionsAgain, and what its outcome makes of projections_stale
  Status FoldProjectionsAgain();
  // With -v: where the process's memory is (the resident set, RocksDB's
  // block cache, memtables and table readers, glibc's heap), for `what`.
  void LogMemory(const std::string& what) const;
  uint64_t ProjectionSize() const;
  void Prepare(schema::Submission::Reader sub, Prepared& p) const;
  Result<std::optional<SubmissionRecord>> FindSubmission(std::string_view writer, std::string_view id) const;
  Status StageSubmission(const Prepared& p, uint64_t index, int64_t recorded_at, KeyRegistry& keys,
                         OverlayStateStore& state) const;
  static const SubmissionRecord* FindStaged(const StagedGroup& g, const std::string& key) {
    auto it = g.submissions.find(key);
    return it == g.submissions.end() ? nullptr : &it->second;
  }
  std::optional<Status> WriteFailure() const;
  std::shared_ptr<StagedGroup> StageGroup(std::span<Prepared*> items);
  void WriteGroup(StagedGroup& g);
  // `queued` runs once the items are in the queue (under its lock).
  void Enqueue(std::span<Prepared*> items, const std::function<void()>& queued = {});
};

namespace {
// Hands the heap's free pages back to the system every second while it
// lives. A rebuild frees each chunk's tens of thousands of strings, and its
// closing compaction its blocks, between RocksDB's cached blocks, which
// leave in LRU order: the free memory is scattered, and glibc keeps it.
// Without this a 10M-event rebuild's heap held ~150 MiB free beside ~220 MiB
// in use while folding (resident 313 -> 430 MiB, rising with the log), and
// ~220 MiB free while compacting (peak 462-557 MiB against 325 MiB at 1M).
// (Measured under glibc; under jemalloc, the default, this purges its
// arenas' dirty pages, which it would otherwise return after ten seconds.)
// Every five seconds let a faster fold free ~100 MiB between purges: three
// of nine 1M rebuilds peaked at 436-459 MiB instead of ~370. Every second
// bounds that to a second's frees, at no cost seen in the fold's time.
class HeapTrimmer {
 public:
  HeapTrimmer()
      : thread_([this] {
          allocator::PrepareForLongJob();
          std::unique_lock<std::mutex> l(mu_);
          while (!cv_.wait_for(l, std::chrono::seconds(1), [this] { return done_; })) allocator::ReleaseFreeMemory();
        }) {}
  ~HeapTrimmer() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

// RocksDB's background jobs while the ledger runs: one flush and one
// compaction at a time (a rebuild's closing compaction raises them).
constexpr unsigned kBackgroundJobs = 2;

// The Merkle tiles' block cache, whatever the log's size: the band-0 tiles
// of about half a million leaves (a complete tile holds 510 hashes over 256
// leaves, 16 KiB).
constexpr size_t kMerkleCacheBytes = size_t{32} << 20;

Status Ledger::Rep::OpenDb(bool create) {
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = create;
  db_opts.error_if_exists = create;
  // A ledger opened for writing gains the families added since it was made
  // (the deliveries family: its projections are rebuilt into it).
  db_opts.create_missing_column_families = !options.read_only;
  db_opts.paranoid_checks = true;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.keep_log_file_num = 4;
  db_opts.max_background_jobs = kBackgroundJobs;
  // Table files are opened when first read, not all at once by the open.
  // With RocksDB's default (-1: every file, at open) each audit-cli command
  // read every file's index and the lookup families' whole filters before
  // doing anything: at 10M events `prove inclusion` took 0.21 s, now 0.06
  // to 0.08 s (benchmarks/RESULTS.md, seventeenth session). The bound only
  // limits the readers kept open; RocksDB clips it to the process's file
  // limit.
  db_opts.max_open_files = 1 << 20;
  // Memory is bounded on purpose (verify and rebuild must stay well under
  // 512 MiB at any size): memtables share 128 MiB, blocks share a 128 MiB
  // cache, and index and filter blocks live in that cache too, partitioned
  // (4 KiB pieces under a small pinned top level) so that what is evicted is
  // cheap to read again. Unpartitioned, they stayed outside the cache and
  // grew with the log (rebuild RSS 237 -> 419 MiB from 1M to 10M events;
  // now 288 -> 357 MiB), at a cost of about a tenth of ingest speed.
  // Unpartitioned inside the cache (tried 2026-11-22), evicted
  // multi-megabyte filter blocks were re-read and ingest fell to a third.
  db_opts.db_write_buffer_size = 128u << 20;
  // Past 256 MiB of WAL, RocksDB flushes the families that keep its oldest
  // file alive (by default it waits for 4 x every family's memtables, about
  // 1.8 GB, all of it replayed by the open after a crash).
  db_opts.max_total_wal_size = 256u << 20;
  db_opts.listeners.push_back(storage_counter);
  if (options.env != nullptr) db_opts.env = options.env;
  rocksdb::BlockBasedTableOptions table;
  // One cache for every ledger this process opens (verify --derived holds
  // the ledger it checks and a scratch one): the bound is the process's.
  // (The Merkle tiles have one of their own, below: 32 MiB more.)
  static const std::shared_ptr<rocksdb::Cache> block_cache = rocksdb::NewLRUCache(128u << 20, -1, false, 0.5);
  table.block_cache = block_cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_opts;
  cf_opts.compression = rocksdb::kLZ4Compression;
  cf_opts.write_buffer_size = 32u << 20;
  cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Projections are read back by key while being written (mostly keys that
  // do not exist yet: a new delivery's id): a memtable bloom filter answers
  // those without walking the skiplist.
  // Merkle nodes: every lookup is of a node that exists, so a filter only
  // costs (memory, and a read of its partition); and a cold proof should pay
  // one read per data block, not also one per index partition. The index of
  // this family stays whole and outside the cache: about half a byte per
  // leaf (5 MiB at 10M events).
  rocksdb::BlockBasedTableOptions merkle_table = table;
  merkle_table.filter_policy.reset();
  merkle_table.partition_filters = false;
  merkle_table.index_type = rocksdb::BlockBasedTableOptions::kBinarySearch;
  merkle_table.cache_index_and_filter_blocks = false;
  // Tiles in a cache of their own, filled by the flushes that write them. In
  // the shared cache a proof's tile that missed displaced blocks of other
  // sizes (entries, projection records, index partitions), and the
  // allocator faulted fresh pages in for it: more than one proof in a
  // hundred took over 100 us, in page faults under this machine's
  // hypervisor (RESULTS.md, sixteenth session). Here a tile read replaces
  // a tile, in its memory, and the flushes have faulted that memory in.
  static const std::shared_ptr<rocksdb::Cache> merkle_cache = rocksdb::NewLRUCache(kMerkleCacheBytes, -1, false, 0.0);
  merkle_table.block_cache = merkle_cache;
  merkle_table.prepopulate_block_cache = rocksdb::BlockBasedTableOptions::PrepopulateBlockCache::kFlushOnly;
  rocksdb::ColumnFamilyOptions merkle_opts = cf_opts;
  merkle_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(merkle_table));
  // Tiles grow by merge operands (store_layout.h); hashes do not compress.
  merkle_opts.merge_operator = layout::NewTileAppendOperator();
  merkle_opts.compression = rocksdb::kNoCompression;
  rocksdb::ColumnFamilyOptions projection_opts = cf_opts;
  projection_opts.memtable_whole_key_filtering = true;
  projection_opts.memtable_prefix_bloom_size_ratio = 0.05;
  // A rebuild writes each chunk's changes in key order, and an ingest each
  // group's, between the keys written before them. The skiplist's own
  // memory of the last insert is thrown away whenever the next key is not
  // right after it (an earlier key lies between), and every such insert
  // searched from the top. A hint per key family ("dl", "dw", "di", ...) is
  // repaired only at the levels that no longer bracket the new key
  // (benchmarks/RESULTS.md, 2026-12-06, sixth session).
  projection_opts.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(2));
  // Delivery-id and evidence lookups (store_layout.h): keyed at random and
  // only ever read by key, so tiered (universal) compaction, which rewrites
  // each key fewer times than leveled at the price of more sorted runs for
  // a read to consult (each behind a Bloom filter).
  rocksdb::ColumnFamilyOptions lookup_opts = projection_opts;
  lookup_opts.compaction_style = rocksdb::kCompactionStyleUniversal;
  // A key here is written once and never changed (a rebuild drops them all
  // at once), so merging sorted runs frees no space; it only bounds the
  // filters a read probes. With RocksDB's trigger of 4 runs, the merges
  // rewrote each key about twice at 10M events (262 bytes written an event,
  // against ~120 at 1M; compaction 37-40 s of the ingest); waiting for 8
  // runs, 162 bytes and 17-22 s, for up to twice the filter probes of a
  // read that misses (benchmarks/RESULTS.md, fourteenth session).
  lookup_opts.level0_file_num_compaction_trigger = 8;
  // Nearly every read of this family is of a key that is not there (a new
  // delivery's id, a new evidence hash), answered by the Bloom filter of
  // each sorted run in turn. Partitioned and in the block cache, each of
  // those probes first found its partition through the cache: late in a
  // 10M-event ingest 15% of the samples, about 4 us a delivery, and growing
  // with the runs (3.5% with whole filters). Here each file keeps one whole filter (and its index) in
  // memory, held by its table reader: ten bits a key, about 25 MiB at 10M.
  // That memory is charged to the block cache (which gives up as much of
  // its data blocks), so that what the ledger holds stays bounded by the
  // cache, as it did with the filters inside it.
  rocksdb::BlockBasedTableOptions lookup_table = table;
  lookup_table.partition_filters = false;
  lookup_table.index_type = rocksdb::BlockBasedTableOptions::kBinarySearch;
  lookup_table.cache_index_and_filter_blocks = false;
  lookup_table.cache_usage_options.options_overrides.insert(
      {rocksdb::CacheEntryRole::kBlockBasedTableReader, {rocksdb::CacheEntryRoleOptions::Decision::kEnabled}});
  lookup_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(lookup_table));
  // Submission ids: every append looks its id up (twice: when it is checked
  // and again when it is staged) and nearly always misses, like the
  // lookups above; the same memtable bloom filter and whole filters.
  rocksdb::ColumnFamilyOptions submission_opts = cf_opts;
  submission_opts.memtable_whole_key_filtering = true;
  submission_opts.memtable_prefix_bloom_size_ratio = 0.05;
  submission_opts.table_factory = lookup_opts.table_factory;
  // Delivery records and workers' visits: keyed month first (projections/keys.h),
  // so new records land in the current month, after every older one. A
  // level-1 table file of RocksDB's default 64 MiB holds about seven months
  // of the benchmark's district, and a compaction of new records into level
  // 1 rewrites the whole file that takes the current month; the bytes
  // written a delivery grew with the log (248 at 1M events, 368 at 10M).
  // Files of 8 MiB hold about a month. At 3M events, the benchmark's batch
  // ingest: compactions of delivery records 527 -> 347 MiB written, 8.5 ->
  // 4.4 s; of visits 198 -> 145 MiB, 4.2 -> 2.8 s (16 MiB files: 396 MiB;
  // 4 MiB: 335 MiB; benchmarks/RESULTS.md, thirteenth session).
  rocksdb::ColumnFamilyOptions month_first_opts = projection_opts;
  month_first_opts.target_file_size_base = 8u << 20;
  // Entries: keyed by their index, so every flush holds keys after all
  // older ones and no compaction need rewrite them. With leveled compaction
  // they were moved down without a rewrite, but a file moved into the last
  // level keeps its sequence numbers, and RocksDB then rewrites it once to
  // set them to zero (a "bottommost files" compaction): every entry written
  // twice, 6 s of compaction at 3M events and 22 s at 10M. Universal
  // compaction has no such pass, and with trivial moves allowed its merges
  // of runs that do not overlap move files instead of rewriting them (only
  // a merge whose output stays in level 0, while the log is young, is
  // written again; benchmarks/RESULTS.md, fourteenth session). A ledger made
  // with leveled entries opens as it is: its levels are sorted runs.
  rocksdb::ColumnFamilyOptions entries_opts = cf_opts;
  entries_opts.compaction_style = rocksdb::kCompactionStyleUniversal;
  entries_opts.compaction_options_universal.allow_trivial_move = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, cf_opts}, {layout::kEntriesCf, entries_opts},
      {layout::kMerkleCf, merkle_opts},             {layout::kSubmissionsCf, submission_opts},
      {layout::kActorsCf, cf_opts},                 {layout::kCheckpointsCf, cf_opts},
      {layout::kProjectionsCf, projection_opts},    {layout::kDeliveriesCf, month_first_opts},
      {layout::kVisitsCf, month_first_opts},        {layout::kLookupsCf, lookup_opts},
  };
  std::string path = (fs::path(dir) / "log").string();
  if (options.read_only) {
    // Nothing is written into a read-only open's memtables but what the
    // write-ahead log replays: their Bloom filters (1.6 MiB a family, zeroed
    // at open) would only cost the command its first 20 ms.
    for (auto& d : cfs) d.options.memtable_prefix_bloom_size_ratio = 0;
    // A read-only open cannot add a family: one made before a projection
    // family existed opens without it (its projections are out of date,
    // LoadState).
    std::vector<std::string> present;
    if (rocksdb::DB::ListColumnFamilies(db_opts, path, &present).ok()) {
      // (Every projection family but the first, which ledgers have always had.)
      std::span<const char* const> added(layout::kProjectionFamilyNames + 1, layout::kProjectionFamilies - 1);
      std::erase_if(cfs, [&](const rocksdb::ColumnFamilyDescriptor& d) {
        return std::find(present.begin(), present.end(), d.name) == present.end() &&
               std::find(added.begin(), added.end(), d.name) != added.end();
      });
    }
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(db_opts, path, cfs, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_opts, path, cfs, &handles, &raw);
  }
  if (!s.ok()) {
    if (s.IsInvalidArgument() && s.ToString().find("does not exist") != std::string::npos) {
      return Status::NotFound("no ledger at " + dir + " (run `audit-cli init` first)");
    }
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Status::FailedPrecondition("ledger " + dir + " is open for writing by another process: " + s.ToString());
    }
    return FromRocks(s, "opening ledger " + dir);
  }
  db.reset(raw);
  meta = handles[0];
  entries = handles[1];
  merkle = handles[2];
  submissions = handles[3];
  actors = handles[4];
  checkpoints = handles[5];
  projection = {};
  for (size_t i = 6; i < handles.size(); ++i) {
    for (size_t slot = 0; slot < layout::kProjectionFamilies; ++slot) {
      if (cfs[i].name == layout::kProjectionFamilyNames[slot]) projection.cf[slot] = handles[i];
    }
  }
  return Status::Ok();
}

Status Ledger::Rep::LoadState() {
  rocksdb::ReadOptions ro;
  std::string v;
  auto get = [&](const char* key, std::string* out) -> Status {
    auto s = db->Get(ro, meta, key, out);
    if (s.IsNotFound()) return Status::Corruption(std::string("ledger metadata '") + key + "' is missing");
    return FromRocks(s, "reading metadata");
  };
  ELDERCARE_RETURN_IF_ERROR(get(layout::kMetaFormat, &v));
  if (v == layout::kFormatVersion1 || v == layout::kFormatVersion2) {
    if (options.read_only) {
      return Status::FailedPrecondition("ledger " + dir + " is in format '" + v + "' and needs a one-time upgrade of its Merkle keys to '" +
                                        std::string(layout::kFormatVersion) +
                                        "': open it once for writing (e.g. `audit-cli rebuild --ledger " + dir + "`)");
    }
    if (v == layout::kFormatVersion1) ELDERCARE_RETURN_IF_ERROR(UpgradeFromFormat1());
    ELDERCARE_RETURN_IF_ERROR(UpgradeFromFormat2());
    v = layout::kFormatVersion;
  }
  if (v != layout::kFormatVersion) {
    return Status::FailedPrecondition("ledger format '" + v + "' is not " + std::string(layout::kFormatVersion));
  }
  ELDERCARE_RETURN_IF_ERROR(get(layout::kMetaSize, &v));
  if (v.size() != 8) return Status::Corruption("ledger size metadata is malformed");
  uint64_t n = GetBigEndian64(reinterpret_cast<const uint8_t*>(v.data()));
  ELDERCARE_RETURN_IF_ERROR(get(layout::kMetaOrigin, &origin));
  ELDERCARE_RETURN_IF_ERROR(get(layout::kMetaOperatorId, &operator_id));
  if (db->Get(ro, meta, layout::kMetaOperatorKeyPath, &v).ok()) operator_key_path = v;
  if (db->Get(ro, meta, layout::kMetaLastRecorded, &v).ok() && v.size() == 8) {
    last_recorded_at = static_cast<int64_t>(GetBigEndian64(reinterpret_cast<const uint8_t*>(v.data())));
  }
  if (log_source == nullptr) {
    // The last entry must be exactly at size - 1: entries and size are
    // written in one batch, so anything else means the store was altered.
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, entries));
    it->SeekToLast();
    ELDERCARE_RETURN_IF_ERROR(FromRocks(it->status(), "reading entries"));
    uint64_t last = it->Valid() && it->key().size() == 8
                        ? GetBigEndian64(reinterpret_cast<const uint8_t*>(it->key().data())) + 1
                        : 0;
    if (last != n) {
      return Status::Corruption("ledger size says " + std::to_string(n) + " entries but the last entry is at index " +
                                std::to_string(static_cast<int64_t>(last) - 1));
    }
    DbNodeReader reader(db.get(), merkle);
    auto fr = merkle::CompactRange::Load(reader, n);
    if (!fr.ok()) return fr.status();
    frontier = std::move(*fr);
  }
  std::unique_ptr<rocksdb::Iterator> ait(db->NewIterator(ro, actors));
  for (ait->SeekToFirst(); ait->Valid(); ait->Next()) {
    auto a = KeyRegistry::Deserialize(std::string_view(ait->value().data(), ait->value().size()));
    if (!a.ok()) return a.status();
    ELDERCARE_RETURN_IF_ERROR(registry.Restore(std::move(*a), origin, operator_id));
  }
  ELDERCARE_RETURN_IF_ERROR(FromRocks(ait->status(), "reading actors"));
  const Actor* op = registry.Find(operator_id);
  if (op == nullptr || op->keys.empty()) return Status::Corruption("the operator's key record is missing");
  operator_key = op->keys.front().key;
  size.store(n);
  staged_size = n;
  if (options.projector != nullptr) {
    std::string version;
    uint64_t folded = ProjectionSize();
    const bool never_built = !db->Get(ro, meta, layout::kMetaProjectionVersion, &version).ok();
    if (never_built) {
      stale_projections = "never built";
    } else if (version != options.projector->version()) {
      stale_projections = "folded by '" + version + "', this build folds '" + std::string(options.projector->version()) + "'";
    } else if (folded != n) {
      stale_projections = folded == UINT64_MAX ? "not wholly folded (a rebuild was interrupted)"
                                               : "folded to log size " + std::to_string(folded) + " of " + std::to_string(n);
    }
    projections_stale = !stale_projections.empty();
    if (projections_stale) {
      if (options.read_only) {
        return Status::FailedPrecondition("the projections of " + dir + " are out of date (" + stale_projections +
                                          "); run `audit-cli rebuild --ledger " + dir + "`");
      }
      if (options.rebuild_stale_projections) {
        if (never_built) {
          spdlog::info("folding the projections from the log (none built yet)");  // a restore's, say
        } else {
          spdlog::info("projections are out of date ({}); rebuilding from the log", stale_projections);
        }
        ELDERCARE_RETURN_IF_ERROR(RebuildProjections());
      }
    }
  }
  return Status::Ok();
}

namespace {
// Format 1 node keys, as the upgrade to format 2 rewrites them.
class Format2Writer {
 public:
  Format2Writer(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf) : batch_(batch), cf_(cf) {}
  void Add(merkle::NodeId id, const Hash& h) {
    batch_->Put(cf_, layout::MerkleKeyFormat2(id), rocksdb::Slice(reinterpret_cast<const char*>(h.data()), h.size()));
  }
  void Finish() {}

 private:
  rocksdb::WriteBatch* batch_;
  rocksdb::ColumnFamilyHandle* cf_;
};
}  // namespace

// Moves every Merkle node stored under an older format's keys into `Writer`'s
// layout, deleting each old key in the same synced batch, then records
// `to_format`. `parse(key)` names the node an old key holds, nullopt for a key
// already moved, or an error. The scan reads a snapshot taken before it, so
// what it writes is never read again; and nodes reach the writer in key
// order, which within a band is completion order. A crash midway leaves some
// nodes moved and the rest under old keys; the next open carries on from
// there. The hashes themselves are not touched.
template <typename Writer, typename Parse>
Status Ledger::Rep::MoveMerkleNodes(std::string_view to_format, Parse parse) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::WriteBatch batch;
  Writer writer(&batch, merkle);
  uint64_t moved = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), merkle));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Result<std::optional<merkle::NodeId>> id = parse(std::string_view(it->key().data(), it->key().size()));
    if (!id.ok()) return id.status();
    if (!id->has_value()) continue;
    if (it->value().size() != kHashSize) {
      return Status::Corruption("the merkle store holds a node key with a " + std::to_string(it->value().size()) +
                                "-byte value, not a 32-byte hash");
    }
    Hash h;
    std::memcpy(h.data(), it->value().data(), kHashSize);
    writer.Add(**id, h);
    batch.Delete(merkle, it->key());
    if (++moved % 100000 == 0) {
      writer.Finish();
      ELDERCARE_RETURN_IF_ERROR(FromRocks(db->Write(wo, &batch), "upgrading the Merkle keys"));
      batch.Clear();
    }
  }
  ELDERCARE_RETURN_IF_ERROR(FromRocks(it->status(), "reading the Merkle keys"));
  writer.Finish();
  batch.Put(meta, layout::kMetaFormat, std::string(to_format));
  ELDERCARE_RETURN_IF_ERROR(FromRocks(db->Write(wo, &batch), "upgrading the Merkle keys"));
  spdlog::info("upgraded {} to format {} ({} Merkle nodes moved)", dir, to_format, moved);
  return Status::Ok();
}

// Format 1 keyed Merkle nodes BE64(last leaf) ‖ u8(level) (9 bytes); format
// 2 puts the band byte in front (10 bytes).
Status Ledger::Rep::UpgradeFromFormat1() {
  return MoveMerkleNodes<Format2Writer>(
      layout::kFormatVersion2, [](std::string_view k) -> Result<std::optional<merkle::NodeId>> {
        if (k.size() != 9) return std::optional<merkle::NodeId>();
        auto level = static_cast<uint8_t>(k[8]);
        uint64_t last = GetBigEndian64(reinterpret_cast<const uint8_t*>(k.data()));
        return std::optional<merkle::NodeId>(merkle::NodeId{level, last >> level});
      });
}

// Format 2 stored one key per node (10 bytes); format 3 stores tiles (9-byte
// keys, skipped: a crash midway leaves each tile holding a prefix of its
// nodes, and the next open appends the rest).
Status Ledger::Rep::UpgradeFromFormat2() {
  return MoveMerkleNodes<TileWriter>(
      layout::kFormatVersion, [](std::string_view k) -> Result<std::optional<merkle::NodeId>> {
        if (k.size() == layout::kTileKeySize) return std::optional<merkle::NodeId>();
        if (k.size() != 10) {
          return Status::Corruption("the merkle store holds a key of " + std::to_string(k.size()) +
                                    " bytes, which format 2 does not have");
        }
        auto level = static_cast<uint8_t>(k[9]);
        uint64_t last = GetBigEndian64(reinterpret_cast<const uint8_t*>(k.data() + 1));
        merkle::NodeId id{level, last >> level};
        if (static_cast<uint8_t>(k[0]) != layout::MerkleBand(level) || level >= 64 || id.last_leaf() != last) {
          return Status::Corruption("the merkle store holds a format-2 key that names no node");
        }
        return std::optional<merkle::NodeId>(id);
      });
}

uint64_t Ledger::Rep::ProjectionSize() const {
  std::string v;
  if (!db->Get(rocksdb::ReadOptions(), meta, layout::kMetaProjectionSize, &v).ok() || v.size() != 8) return UINT64_MAX;
  return GetBigEndian64(reinterpret_cast<const uint8_t*>(v.data()));
}

namespace {
// Above every projection key (they begin with two ASCII letters).
const std::string kProjectionRangeEnd(32, '\xff');
}  // namespace

void Ledger::Rep::LogMemory(const std::string& what) const {
  if (!spdlog::should_log(spdlog::level::debug)) return;
  // Of every column family (the block cache is shared), or of the projections'.
  auto all = [&](const char* name) {
    uint64_t v = 0;
    db->GetAggregatedIntProperty(name, &v);
    return v;
  };
  auto of_projections = [&](const char* name) {
    uint64_t v = 0;
    db->GetIntProperty(projection.records(), name, &v);
    return v;
  };
  std::string level0;  // per projection family; a string property, not an integer one
  for (auto* cf : projection.All()) {
    std::string files = "?";
    db->GetProperty(cf, "rocksdb.num-files-at-level0", &files);
    level0 += (level0.empty() ? "" : " ") + cf->GetName() + " " + files;
  }
  std::string rss = "?";
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = line.substr(6);
  }
  allocator::HeapStats heap = allocator::Stats();
  spdlog::debug("{}: resident{}; block cache {} MiB ({} MiB pinned), memtables {} MiB, table readers {} MiB, "
                "projection files at level 0: {}; heap ({}) {} MiB in use, {} MiB free, {} MiB resident",
                what, rss, of_projections("rocksdb.block-cache-usage") >> 20,
                of_projections("rocksdb.block-cache-pinned-usage") >> 20, all("rocksdb.cur-size-all-mem-tables") >> 20,
                all("rocksdb.estimate-table-readers-mem") >> 20, level0,
                allocator::Name(), heap.in_use >> 20, heap.free_held >> 20, heap.resident >> 20);
}

Status Ledger::Rep::RebuildProjections() {
  if (options.projector == nullptr) return Status::FailedPrecondition("no projection is configured");
  Status s = FoldProjectionsAgain();
  if (s.ok()) {
    projections_stale = false;
  } else if (!projections_stale) {
    // Whatever it had written is neither the old state nor the new: nothing
    // may fold on top of it, or read it, until a rebuild succeeds.
    stale_projections = "not wholly folded: a rebuild failed (" + s.message() + ")";
    projections_stale = true;
  }
  return s;
}

Status Ledger::Rep::FoldProjectionsAgain() {
  HeapTrimmer trimmer;
  NoRocksPerfCounters();
  auto started_at = std::chrono::steady_clock::now();
  // The clear and the closing mark are logged and synced as the ledger's
  // other writes are (a scratch ledger's are neither).
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  wo.disableWAL = log_source != nullptr;
  // The chunks go to the memtables only: logging the whole projection as
  // well wrote it twice (with the kept batch below, a 10M rebuild went
  // from 152.5 to 118-127 s; benchmarks/RESULTS.md, twelfth session). A
  // crash loses what was not yet flushed, which is safe: the
  // clear deletes the projection's size, and it is written again only once
  // every chunk is in a table file, so an open after the crash finds the
  // projection "not wholly folded" and folds it again.
  rocksdb::WriteOptions chunk_wo;
  chunk_wo.disableWAL = true;
  {
    rocksdb::WriteBatch clear;
    for (auto* cf : projection_families().All()) {
      clear.DeleteRange(cf, rocksdb::Slice(""), rocksdb::Slice(kProjectionRangeEnd));
    }
    clear.Delete(meta, layout::kMetaProjectionSize);
    clear.Put(meta, layout::kMetaProjectionVersion, std::string(options.projector->version()));
    ELDERCARE_RETURN_IF_ERROR(FromRocks(db->Write(wo, &clear), "clearing projections"));
  }
  {
    // The old records stay readable to RocksDB under the range tombstone:
    // every look-up of a key the fold is about to create would find the old
    // one in its file and only then see it deleted. Files wholly under the
    // tombstone are dropped (cheap), the rest (the memtable, level 0)
    // compacted away, so that the fold starts from an empty family.
    rocksdb::Slice from(""), to(kProjectionRangeEnd);
    for (auto* cf : projection_families().All()) {
      ELDERCARE_RETURN_IF_ERROR(
          FromRocks(rocksdb::DeleteFilesInRange(db.get(), cf, &from, &to), "dropping old projection files"));
      ELDERCARE_RETURN_IF_ERROR(FromRocks(db->Flush(rocksdb::FlushOptions(), cf), "flushing old projections"));
      ELDERCARE_RETURN_IF_ERROR(
          FromRocks(db->CompactRange(rocksdb::CompactRangeOptions(), cf, nullptr, nullptr), "compacting old projections"));
    }
  }
  // Compacting the families while the fold writes them rewrote each record
  // several times and took a core from the fold and its writer: at 10M
  // events, fold and compaction 118-127 s with it, 94-104 s with one
  // compaction at the end (benchmarks/RESULTS.md, twelfth session). A
  // scratch fold is not compacted at the end (below): its one scan, at 4
  // MiB of read-ahead a file, must not meet hundreds of level-0 files.
  std::optional<AutoCompactionsOff> compact_at_the_end;
  if (log_source == nullptr) compact_at_the_end.emplace(db.get(), projection_families().All());
  state_cache.reset();
  last_staged.reset();
  // Where the fold reads: the chunk it is folding; the cache of records read
  // again and again; the previous chunk, which another thread is writing
  // meanwhile; and RocksDB only for keys this rebuild may have written.
  uint64_t n = size.load();
  // About three keys an entry outside the delivery and visit families (a
  // delivery's id and evidence lookups, its enterprise-month-elder index).
  KeyFilter written(3 * n);
  RocksStateReader committed(db.get(), projection_families(), /*snapshot=*/false);
  RebuiltStateReader rebuilt(committed, written);
  HashOverlayStateStore in_flight(&rebuilt);
  CachedStateReader cached(in_flight);
  HashOverlayStateStore chunk(&cached);
  // A chunk is flushed once it holds rebuild_chunk_keys, and may pass that by
  // what its last entry wrote.
  constexpr size_t kChunkSlack = 256;
  chunk.Reserve(options.rebuild_chunk_keys + kChunkSlack);
  rocksdb::ReadOptions ro;
  ro.readahead_size = 4u << 20;
  ro.fill_cache = false;  // read once; the cache is the fold's look-ups'
  ro.snapshot = log_snapshot;
  std::unique_ptr<rocksdb::Iterator> it(log_source != nullptr ? log_source->db->NewIterator(ro, log_source->entries)
                                                              : db->NewIterator(ro, entries));
  uint64_t index = 0;
  // Every chunk is written on the same thread (std::async's thread per
  // chunk ended a thread every ~8k entries, and jemalloc returned that
  // thread's cache to the kernel each time). Declared after everything the
  // writes read and write, chunk_written included: its destructor waits for
  // the last write, also when the fold fails midway.
  Status chunk_written;  // the last chunk's write, once `writer` is ready
  // One batch for every chunk, cleared between them: it keeps its buffer
  // (several MiB), which a new batch grew into again by doubling, copying
  // and faulting in fresh pages each time (half of the writer's time).
  rocksdb::WriteBatch chunk_batch;
  // How long the fold waited for the writer, and the writer worked: which
  // of the two sets the pace (logged at the end).
  std::chrono::steady_clock::duration fold_waited{}, writer_busy{};
  ThreadCache write_thread;
  std::future<void> writer;
  auto wait_for_writer = [&]() -> Status {
    if (!writer.valid()) return Status::Ok();
    writer.get();
    return chunk_written;
  };
  // Waits for the chunk in flight, then sends the folded one on its way.
  size_t chunks = 0;
  auto flush = [&](uint64_t folded) -> Status {
    auto waiting_from = std::chrono::steady_clock::now();
    ELDERCARE_RETURN_IF_ERROR(wait_for_writer());
    fold_waited += std::chrono::steady_clock::now() - waiting_from;
    if (++chunks % 20 == 0) LogMemory("rebuild at entry " + std::to_string(folded));
    if (options.progress) options.progress("folding the projections", folded, n);
    in_flight.SwapChanges(chunk);
    chunk.Clear();  // (freeing it on the writer thread was slower: cross-thread frees)
    chunk.Reserve(options.rebuild_chunk_keys + kChunkSlack);
    for (const auto& [k, v] : in_flight.changes()) {
      HashedKey key(k);
      if (v && FilteredInRebuild(k)) written.Add(key.hash);
      cached.Update(key, v);
    }
    writer = write_thread.Run([&] {
      NoRocksPerfCounters();
      auto busy_from = std::chrono::steady_clock::now();
      // In key order: RocksDB's memtable inserts sorted keys fastest.
      chunk_batch.Clear();
      for (const auto* c : in_flight.SortedChanges()) {
        PutChange(chunk_batch, projection_families(), c->first, c->second);
      }
      chunk_written = FromRocks(db->Write(chunk_wo, &chunk_batch), "writing rebuilt projections");
      writer_busy += std::chrono::steady_clock::now() - busy_from;
    });
    return Status::Ok();
  };
  for (it->SeekToFirst(); it->Valid() && index < n; it->Next(), ++index) {
    auto parsed = ParseEntry(std::string_view(it->value().data(), it->value().size()));
    if (!parsed.ok()) return Status::Corruption("entry " + std::to_string(index) + ": " + parsed.status().message());
    auto e = parsed->Root<schema::Entry>();
    if (e.getIndex() != index) return Status::Corruption("entry " + std::to_string(index) + " is out of place");
    std::string writer_id = Str(e.getWriter());
    const Actor* actor = registry.Find(writer_id);
    EventContext ctx{index, e.getRecordedAt(), writer_id, actor ? actor->role : schema::Role::OPERATOR};
    Status s = options.projector->Apply(ctx, e.getBody(), chunk);
    if (!s.ok()) {
      return Status::Corruption("entry " + std::to_string(index) + " no longer folds into the projections: " + s.message());
    }
    if (chunk.size() >= options.rebuild_chunk_keys) ELDERCARE_RETURN_IF_ERROR(flush(index + 1));
  }
  ELDERCARE_RETURN_IF_ERROR(FromRocks(it->status(), "reading entries"));
  if (index != n) return Status::Corruption("the log holds " + std::to_string(index) + " of " + std::to_string(n) + " entries");
  ELDERCARE_RETURN_IF_ERROR(flush(n));
  ELDERCARE_RETURN_IF_ERROR(wait_for_writer());
  // Whole: in table files (a scratch fold is thrown away with its process,
  // and read from its memtables meanwhile), then said so.
  if (log_source == nullptr) {
    rocksdb::FlushOptions wait;
    wait.wait = true;
    ELDERCARE_RETURN_IF_ERROR(
        FromRocks(db->Flush(wait, projection_families().All()), "flushing rebuilt projections"));
  }
  {
    rocksdb::WriteBatch whole;
    whole.Put(meta, layout::kMetaProjectionSize, BigEndianKey(n));
    ELDERCARE_RETURN_IF_ERROR(FromRocks(db->Write(wo, &whole), "recording the rebuilt projections' size"));
  }
  // The old projection lies under one range tombstone and the new one in
  // freshly flushed files that all overlap: until compaction merged them,
  // every scan wades through both generations (and the background compaction
  // competes with readers for the cores). Compacting now leaves queries a
  // tidy tree; it is part of what a rebuild costs.
  auto folded_at = std::chrono::steady_clock::now();
  LogMemory("rebuild folded");
  if (log_source != nullptr) {
    // A scratch fold is read once, in key order, and thrown away: compacting
    // it would cost more than its one scan saves.
    spdlog::info("rebuild: {} entries folded in {:.1f} s", n,
                 std::chrono::duration<double>(folded_at - started_at).count());
    return Status::Ok();
  }
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  // The families at once, on every core: nothing else runs now, and one
  // family at a time left the other core idle for a fifth of the rebuild.
  // The ledger's background jobs (kBackgroundJobs: one flush, one
  // compaction) are raised for it to a flush and a compaction a core, and
  // put back after.
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const bool raise = cores + 1 > kBackgroundJobs;
  // Neither setting decides what the rebuild writes, so a refusal is logged,
  // not returned: not raised, the compaction is only slower; not put back,
  // RocksDB runs more jobs at once than the ledger asked for.
  auto background_jobs = [&](unsigned jobs) {
    auto r = db->SetDBOptions({{"max_background_jobs", std::to_string(jobs)}});
    if (!r.ok()) {
      spdlog::warn("rebuild: RocksDB kept its background jobs, not {}: {}", jobs, r.ToString());
    }
  };
  if (raise) background_jobs(cores + 1);
  std::vector<std::future<Status>> compactions;
  for (auto* cf : projection_families().All()) {
    compactions.push_back(std::async(std::launch::async, [&, cf] {
      return FromRocks(db->CompactRange(compact, cf, nullptr, nullptr), "compacting rebuilt projections");
    }));
  }
  Status s;
  for (auto& c : compactions) {
    Status done = c.get();
    if (s.ok()) s = done;
  }
  if (raise) background_jobs(kBackgroundJobs);
  LogMemory("rebuild compacted");
  auto seconds = [](auto from, auto to) { return std::chrono::duration<double>(to - from).count(); };
  spdlog::info("rebuild: {} entries folded in {:.1f} s, projections compacted in {:.1f} s", n,
               seconds(started_at, folded_at), seconds(folded_at, std::chrono::steady_clock::now()));
  spdlog::info("rebuild: the writer of its {} chunks worked {:.1f} s; the fold waited for it {:.1f} s", chunks,
               std::chrono::duration<double>(writer_busy).count(), std::chrono::duration<double>(fold_waited).count());
  spdlog::info("rebuild: {} look-ups read RocksDB, {} of them for a key not there (key filter {} MiB)", rebuilt.reads(),
               rebuilt.misses(), written.bytes() >> 20);
  return s;
}

Result<std::optional<SubmissionRecord>> Ledger::Rep::FindSubmission(std::string_view writer,
                                                                    std::string_view id) const {
  NoRocksPerfCounters();
  std::string v;
  auto s = db->Get(rocksdb::ReadOptions(), submissions, layout::SubmissionKey(writer, id), &v);
  if (s.IsNotFound()) return std::optional<SubmissionRecord>();
  ELDERCARE_RETURN_IF_ERROR(FromRocks(s, "reading the submission index"));
  auto r = ParseSubmissionRecord(v);
  if (!r.ok()) return r.status();
  return std::optional<SubmissionRecord>(*r);
}

void Ledger::Rep::Prepare(schema::Submission::Reader sub, Prepared& p) const {
  auto fail = [&](Status s) { p.outcome = Result<AppendResult>(std::move(s)); };
  try {
    p.sub = sub;
    p.writer = Str(sub.getWriter());
    p.id = Str(sub.getSubmissionId());
    if (auto s = events::ValidateId("writer", p.writer); !s.ok()) return fail(s);
    if (auto s = events::ValidateId("submission_id", p.id); !s.ok()) return fail(s);
    auto evs = sub.getEvents();
    if (evs.size() == 0) return fail(Status::InvalidArgument("submission holds no events"));
    if (evs.size() > options.limits.max_events) {
      return fail(Status::InvalidArgument("submission holds " + std::to_string(evs.size()) +
                                          " events, more than the limit of " +
                                          std::to_string(options.limits.max_events)));
    }
    if (sub.getSignature().size() != kSignatureSize) {
      return fail(Status::InvalidArgument("signature must be 64 bytes, got " +
                                          std::to_string(sub.getSignature().size())));
    }
    // What the registry says now, copied out so that no lock is held while
    // signatures are checked. Commit re-checks the key at the final position.
    std::optional<schema::Role> role;
    std::vector<PublicKey> keys;
    bool genesis_ok;
    {
      std::shared_lock<std::shared_mutex> lock(registry_mu);
      genesis_ok = !registry.has_genesis() && evs.size() == 1 && evs[0].isGenesis();
      if (const Actor* actor = registry.Find(p.writer)) {
        role = actor->role;
        for (const ActorKey* k : registry.SigningKeys(*actor, size.load(), Now())) keys.push_back(k->key);
      }
    }
    if (!role && !genesis_ok) {
      return fail(Status::PermissionDenied("writer '" + p.writer + "' has no registered key"));
    }
    p.digests.reserve(evs.size());
    for (uint32_t i = 0; i < evs.size(); ++i) {
      auto body = evs[i];
      std::string at = "event " + std::to_string(i + 1) + ": ";
      const events::EventType* type = events::EventTypeOf(body);
      if (type == nullptr) return fail(Status::InvalidArgument(at + "unknown event type"));
      if (auto s = events::ValidateBody(body); !s.ok()) return fail(s.WithPrefix(at));
      if (body.isGenesis()) {
        if (!genesis_ok) return fail(Status::PermissionDenied(at + "genesis is written only when a ledger is created"));
        p.is_genesis = true;
      } else if (!events::RoleMayWrite(*role, *type)) {
        std::string allowed;
        for (auto r : type->writers) allowed += (allowed.empty() ? "" : ", ") + std::string(events::RoleName(r));
        return fail(Status::PermissionDenied(at + "role '" + std::string(events::RoleName(*role)) +
                                             "' may not write '" + type->name + "' (allowed: " + allowed + ")"));
      }
      if (body.isKeyRegistered() || body.isKeyRevoked() || body.isGenesis()) p.has_key_events = true;
      size_t canonical_size = WithCanonical(body, [&](ByteSpan canon) {
        if (canon.size() <= options.limits.max_body_bytes) p.digests.push_back(Sha256(canon));
        return canon.size();
      });
      if (canonical_size > options.limits.max_body_bytes) {
        return fail(Status::InvalidArgument(at + "event is " + std::to_string(canonical_size) +
                                            " bytes, more than the limit of " +
                                            std::to_string(options.limits.max_body_bytes)));
      }
    }
    p.header = HeaderDigest(p.writer, p.id, p.digests);
    Bytes message = SigningMessage(p.header);
    ByteSpan sig(sub.getSignature().begin(), sub.getSignature().size());
    if (p.is_genesis) {
      auto g = evs[0].getGenesis();
      auto key = PublicKey::FromRaw(ByteSpan(g.getOperatorKey().begin(), g.getOperatorKey().size()));
      if (!key.ok()) return fail(key.status());
      if (!key->Verify(message, sig)) return fail(Status::PermissionDenied("genesis signature does not verify"));
      p.signer = *key;
      p.entries.push_back(BuildEntryTemplate(p.writer, p.id, 0, 1, sig, evs[0]));
      return;
    }
    if (keys.empty()) {
      return fail(Status::PermissionDenied("writer '" + p.writer + "' has no key that may sign now (all revoked or not yet valid)"));
    }
    for (const PublicKey& k : keys) {
      if (k.Verify(message, sig)) {
        p.signer = k;
        break;
      }
    }
    if (!p.signer) {
      return fail(Status::PermissionDenied("signature does not verify with any active key of writer '" + p.writer + "'"));
    }
    p.entries.reserve(evs.size());
    for (uint32_t i = 0; i < evs.size(); ++i) {
      p.entries.push_back(BuildEntryTemplate(p.writer, p.id, i, evs.size(), sig, evs[i]));
    }
    auto existing = FindSubmission(p.writer, p.id);
    if (!existing.ok()) return fail(existing.status());
    if (existing->has_value()) {
      const SubmissionRecord& r = **existing;
      if (r.digest == p.header) {
        p.outcome = Result<AppendResult>(AppendResult{r.first, r.count, true});
      } else {
        fail(Status::Conflict("submission id '" + p.id + "' of writer '" + p.writer +
                              "' was already used for different content (entries from index " +
                              std::to_string(r.first) + ")"));
      }
    }
  } catch (const kj::Exception& e) {
    fail(Status::InvalidArgument(std::string("malformed submission: ") + e.getDescription().cStr()));
  }
}

Status Ledger::Rep::StageSubmission(const Prepared& p, uint64_t index, int64_t recorded_at, KeyRegistry& keys,
                                    OverlayStateStore& state) const {
  auto evs = p.sub.getEvents();
  if (p.has_key_events) {
    for (uint32_t i = 0; i < evs.size(); ++i) {
      ELDERCARE_RETURN_IF_ERROR(keys.Apply(index + i, evs[i]).WithPrefix("event " + std::to_string(i + 1) + ": "));
    }
  }
  if (options.projector == nullptr) return Status::Ok();
  const Actor* writer = keys.Find(p.writer);
  EventContext ctx{index, recorded_at, p.writer, writer ? writer->role : schema::Role::OPERATOR};
  for (uint32_t i = 0; i < evs.size(); ++i) {
    ctx.index = index + i;
    ELDERCARE_RETURN_IF_ERROR(
        options.projector->Apply(ctx, evs[i], state).WithPrefix("event " + std::to_string(i + 1) + ": "));
  }
  return Status::Ok();
}

namespace {
Status NotAcceptingWrites(const Status& failure) {
  return Status::IoError("not recorded: the ledger stopped accepting writes after a storage error (" +
                         failure.message() + ")");
}
}  // namespace

std::optional<Status> Ledger::Rep::WriteFailure() const {
  std::lock_guard<std::mutex> l(failure_mu);
  return write_failure;
}

std::shared_ptr<Ledger::Rep::StagedGroup> Ledger::Rep::StageGroup(std::span<Prepared*> items) {
  auto g = std::make_shared<StagedGroup>();
  if (auto failed = WriteFailure()) {
    Status err = NotAcceptingWrites(*failed);
    for (Prepared* p : items) {
      if (!p->outcome) p->outcome = Result<AppendResult>(err);
    }
    return g;
  }
  rocksdb::WriteBatch& batch = g->batch;
  uint64_t index = staged_size;
  merkle::CompactRange staged_frontier = frontier;
  TileWriter tiles(&batch, merkle);
  // Only a leader holding stage_mu mutates the registry, so it reads it
  // without the lock; this group's key changes stay in an overlay until the
  // write succeeds.
  g->keys = std::make_unique<KeyRegistry>(&registry);
  KeyRegistry& group_keys = *g->keys;
  if (!state_cache) {
    committed_state = std::make_unique<RocksStateReader>(db.get(), projection_families(), /*snapshot=*/false);
    state_cache = std::make_unique<CachedStateReader>(*committed_state);
  }
  // The group before this one may still be on its way to the disk: its
  // changes lie over the cache (every group before it is written).
  std::shared_ptr<const StagedGroup> previous = std::move(last_staged);
  const StateReader* base = state_cache.get();
  if (previous && previous->state) base = previous->state.get();
  g->state = std::make_unique<OverlayStateStore>(base);
  OverlayStateStore& group_state = *g->state;
  std::set<std::string> touched_actors;
  int64_t recorded_at = std::max(Now(), last_recorded_at);

  for (Prepared* p : items) {
    if (p->outcome) continue;
    std::string skey = layout::SubmissionKey(p->writer, p->id);
    // A concurrent writer may have committed the same id since Prepare, in
    // this group, the one being written, or one already on disk.
    std::optional<SubmissionRecord> seen;
    const SubmissionRecord* in_flight = FindStaged(*g, skey);
    if (in_flight == nullptr && previous) in_flight = FindStaged(*previous, skey);
    if (in_flight != nullptr) {
      seen = *in_flight;
      g->duplicates.push_back(p);
    } else {
      auto found = FindSubmission(p->writer, p->id);
      if (!found.ok()) {
        p->outcome = Result<AppendResult>(found.status());
        continue;
      }
      seen = *found;
    }
    if (seen) {
      p->outcome = seen->digest == p->header
                       ? Result<AppendResult>(AppendResult{seen->first, seen->count, true})
                       : Result<AppendResult>(Status::Conflict("submission id '" + p->id + "' of writer '" + p->writer +
                                                               "' was already used for different content"));
      continue;
    }
    if (!p->is_genesis) {
      const Actor* actor = group_keys.Find(p->writer);
      bool still_valid = false;
      if (actor != nullptr) {
        for (const ActorKey* k : group_keys.SigningKeys(*actor, index, recorded_at)) still_valid |= (k->key == *p->signer);
      }
      if (!still_valid) {
        p->outcome = Result<AppendResult>(Status::PermissionDenied(
            "the key that signed this submission was revoked before it could be recorded"));
        continue;
      }
    }
    auto evs = p->sub.getEvents();
    // Key events and the projection are both staged per submission and
    // merged into the group only if the whole submission is accepted.
    KeyRegistry submission_keys(&group_keys);
    OverlayStateStore submission_state(&group_state);
    Status staged = StageSubmission(*p, index, recorded_at, submission_keys, submission_state);
    if (!staged.ok()) {
      p->outcome = Result<AppendResult>(staged);
      continue;
    }
    if (p->has_key_events) {
      for (auto e : evs) {
        if (e.isKeyRegistered()) touched_actors.insert(Str(e.getKeyRegistered().getActorId()));
        if (e.isKeyRevoked()) touched_actors.insert(Str(e.getKeyRevoked().getActorId()));
        if (e.isGenesis()) touched_actors.insert(Str(e.getGenesis().getOperatorId()));
      }
    }
    std::move(submission_keys).MergeInto(group_keys);
    std::move(submission_state).MoveInto(group_state);
    auto count = static_cast<uint32_t>(evs.size());
    for (uint32_t i = 0; i < count; ++i) {
      std::string& leaf = p->entries[i];
      PlaceEntry(leaf, index + i, recorded_at);
      batch.Put(entries, layout::EntryKey(index + i), leaf);
      staged_frontier.Append(merkle::HashLeaf(AsBytes(leaf)),
                             [&](merkle::NodeId id, const Hash& hash) { tiles.Add(id, hash); });
    }
    batch.Put(submissions, skey, SubmissionRecordBytes(index, count, p->header));
    g->submissions.emplace(skey, SubmissionRecord{index, count, p->header});
    p->outcome = Result<AppendResult>(AppendResult{index, count, false});
    g->committed.push_back(p);
    index += count;
  }
  g->end = index;
  if (g->committed.empty()) {
    last_staged = std::move(previous);  // still the last group that may be in flight
    g->state.reset();
    return g;
  }
  tiles.Finish();
  for (const std::string& id : touched_actors) {
    if (const Actor* a = group_keys.Find(id)) batch.Put(actors, id, KeyRegistry::Serialize(*a));
  }
  g->changes_keys = !touched_actors.empty();
  if (options.projector != nullptr) {
    const ProjectionFamilies cfs = projection_families();
    for (const auto& [k, v] : group_state.changes()) PutChange(batch, cfs, k, v);
    batch.Put(meta, layout::kMetaProjectionSize, BigEndianKey(index));
  }
  batch.Put(meta, layout::kMetaSize, BigEndianKey(index));
  batch.Put(meta, layout::kMetaLastRecorded, BigEndianKey(static_cast<uint64_t>(recorded_at)));
  // The next group is staged on top of this one, before this one is written:
  // if this write fails, so does every later one (write_failure).
  staged_size = index;
  frontier = std::move(staged_frontier);
  last_recorded_at = recorded_at;
  state_cache->Apply(group_state);
  group_state.Rebase(state_cache.get());
  last_staged = g;
  return g;
}

void Ledger::Rep::WriteGroup(StagedGroup& g) {
  if (g.committed.empty()) return;
  auto fail = [&](const Status& err) {
    // Nothing of this group exists: neither its new submissions nor the
    // duplicates that were resolved against them.
    for (Prepared* p : g.committed) p->outcome = Result<AppendResult>(err);
    for (Prepared* p : g.duplicates) p->outcome = Result<AppendResult>(err);
  };
  if (auto failed = WriteFailure()) {
    // An earlier group, staged before this one, failed to write.
    fail(NotAcceptingWrites(*failed));
    return;
  }
  NoRocksPerfCounters();
  rocksdb::WriteOptions wo;
  wo.sync = options.sync;
  // Entries and Merkle nodes arrive in key order: let the memtable remember
  // where the last insert went.
  wo.memtable_insert_hint_per_batch = true;
  auto s = db->Write(wo, &g.batch);
  if (!s.ok()) {
    Status err = FromRocks(s, "writing to the ledger").WithPrefix("not recorded: ");
    err = Status::IoError(err.message() + "; the ledger accepts no more writes until the storage is fixed and it is reopened");
    spdlog::error("{}", err.ToString());
    // Whether any of the group reached the disk is unknown until a reopen
    // replays the WAL: from now on nothing more is accepted in this process
    // (a retry after reopening is answered from what is really there).
    {
      std::lock_guard<std::mutex> l(failure_mu);
      write_failure = err;
    }
    fail(err);
    return;
  }
  if (g.changes_keys) {
    std::unique_lock<std::shared_mutex> l(registry_mu);
    std::move(*g.keys).MergeInto(registry);
  }
  size.store(g.end);
  // The next leader may still read this group's submission ids and
  // projection changes; the rest is done with (the callers' items are about
  // to go away, and a big group's batch is large).
  g.batch = rocksdb::WriteBatch();
  g.committed.clear();
  g.duplicates.clear();
}

void Ledger::Rep::Enqueue(std::span<Prepared*> items, const std::function<void()>& queued) {
  Writer w;
  w.items = items;
  std::unique_lock<std::mutex> lock(queue_mu);
  queue.push_back(&w);
  if (queued) queued();
  while (!w.done && &w != queue.front()) w.cv.wait(lock);
  if (w.done) return;
  // This writer leads: gather a group from the front of the queue.
  std::vector<Prepared*> group;
  std::vector<Writer*> members;
  size_t events = 0;
  for (Writer* m : queue) {
    size_t n = 0;
    for (Prepared* p : m->items) n += p->outcome ? 0 : p->sub.getEvents().size();
    if (!members.empty() && events + n > options.max_group_events) break;
    members.push_back(m);
    events += n;
    group.insert(group.end(), m->items.begin(), m->items.end());
  }
  lock.unlock();
  // Two groups overlap: while this group is written (memtable insertion and
  // the synced WAL write, on this thread), the next leader stages its group
  // on top of this one (the fold, the entries, the Merkle tiles). Writes stay
  // in staging order: a leader takes write_mu before it lets the next one
  // stage. A group that changes keys is written before the next is staged.
  std::unique_lock<std::mutex> stage(stage_mu);
  std::shared_ptr<StagedGroup> g = StageGroup(group);
  std::unique_lock<std::mutex> write(write_mu);
  if (!g->changes_keys) stage.unlock();
  lock.lock();
  for (size_t i = 0; i < members.size(); ++i) queue.pop_front();
  if (!queue.empty()) queue.front()->cv.notify_one();
  lock.unlock();
  WriteGroup(*g);
  write.unlock();
  if (stage.owns_lock()) stage.unlock();
  lock.lock();
  for (Writer* m : members) {
    m->done = true;
    if (m != &w) m->cv.notify_one();
  }
}

Ledger::Ledger(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger::Rep>> Ledger::Rep::CreateIn(const std::string& dir, LedgerOptions options) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
    return Status::AlreadyExists("directory " + dir + " exists and is not empty");
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  options.read_only = false;
  auto rep = std::make_unique<Rep>();
  rep->options = std::move(options);
  rep->dir = dir;
  ELDERCARE_RETURN_IF_ERROR(rep->OpenDb(/*create=*/true));
  return rep;
}

Result<std::unique_ptr<Ledger>> Ledger::Create(const std::string& dir, const CreateParams& params,
                                               const PrivateKey& operator_key, LedgerOptions options) {
  ELDERCARE_RETURN_IF_ERROR(note::ValidateKeyName(params.origin).WithPrefix("origin: "));
  ELDERCARE_RETURN_IF_ERROR(events::ValidateId("operator id", params.operator_id));
  ELDERCARE_ASSIGN_OR_RETURN(std::unique_ptr<Rep> rep, Rep::CreateIn(dir, std::move(options)));

  // Metadata first, in its own synced batch: a crash before genesis leaves a
  // ledger of size 0 that Open reports, not a half-written one.
  rocksdb::WriteBatch meta;
  meta.Put(rep->meta, layout::kMetaFormat, std::string(layout::kFormatVersion));
  meta.Put(rep->meta, layout::kMetaSize, BigEndianKey(0));
  meta.Put(rep->meta, layout::kMetaOrigin, params.origin);
  meta.Put(rep->meta, layout::kMetaOperatorId, params.operator_id);
  if (!params.operator_key_path.empty()) meta.Put(rep->meta, layout::kMetaOperatorKeyPath, params.operator_key_path);
  if (rep->options.projector != nullptr) {
    meta.Put(rep->meta, layout::kMetaProjectionVersion, std::string(rep->options.projector->version()));
    meta.Put(rep->meta, layout::kMetaProjectionSize, BigEndianKey(0));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ELDERCARE_RETURN_IF_ERROR(FromRocks(rep->db->Write(wo, &meta), "initialising the ledger"));
  rep->origin = params.origin;
  rep->operator_id = params.operator_id;
  rep->operator_key = operator_key.public_key();
  rep->operator_key_path = params.operator_key_path;

  capnp::MallocMessageBuilder msg;
  auto sub = msg.initRoot<schema::Submission>();
  sub.setWriter(params.operator_id);
  sub.setSubmissionId("genesis");
  auto g = sub.initEvents(1)[0].initGenesis();
  g.setOrigin(params.origin);
  g.setOperatorId(params.operator_id);
  g.setOperatorKey(capnp::Data::Reader(operator_key.public_key().raw().data(), kPublicKeySize));
  SignSubmission(sub, operator_key);

  std::unique_ptr<Ledger> ledger(new Ledger(std::move(rep)));
  auto r = ledger->Append(sub.asReader());
  if (!r.ok()) return r.status().WithPrefix("writing genesis: ");
  auto cp = ledger->MakeCheckpoint(operator_key);
  if (!cp.ok()) return cp.status();
  return ledger;
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& dir, LedgerOptions options) {
  std::error_code ec;
  if (!fs::exists(fs::path(dir) / "log", ec)) return Status::NotFound("no ledger at " + dir + " (run `audit-cli init` first)");
  auto rep = std::make_unique<Rep>();
  rep->options = std::move(options);
  rep->dir = dir;
  ELDERCARE_RETURN_IF_ERROR(rep->OpenDb(/*create=*/false));
  if (!rep->options.stores_only) ELDERCARE_RETURN_IF_ERROR(rep->LoadState());
  return std::unique_ptr<Ledger>(new Ledger(std::move(rep)));
}

// Replays a log into `rep`'s empty stores: every entry checked as it comes
// (canonical, in place, key events valid), the submission index, the actors
// and the metadata written; with `copy_log`, the entries and their Merkle
// tiles too. Without it `rep` holds only what a log derives besides its
// projections (the derived-store check reads the log where it lies).
Status Ledger::Rep::ReplayLog(const std::function<Result<bool>(std::string*)>& next_leaf,
                              const std::vector<std::string>& checkpoint_notes, bool copy_log) {
  KeyRegistry keys;
  merkle::CompactRange frontier;
  rocksdb::WriteBatch batch;
  TileWriter tiles(&batch, merkle);
  rocksdb::WriteOptions wo;
  wo.disableWAL = log_source != nullptr;  // a scratch copy: nothing to survive a crash
  auto flush = [&]() -> Status {
    tiles.Finish();
    Status s = FromRocks(db->Write(wo, &batch), "writing the restored ledger");
    batch.Clear();
    return s;
  };
  std::string leaf;
  uint64_t index = 0;
  int64_t last_recorded = 0;
  std::vector<Hash> digests;
  for (;;) {
    auto more = next_leaf(&leaf);
    if (!more.ok()) return more.status();
    if (!*more) break;
    auto parsed = ParseEntry(leaf);
    if (!parsed.ok()) return Status::Corruption("entry " + std::to_string(index) + ": " + parsed.status().message());
    auto e = parsed->Root<schema::Entry>();
    if (e.getIndex() != index) return Status::Corruption("entry " + std::to_string(index) + " is out of place");
    ELDERCARE_RETURN_IF_ERROR(keys.Apply(index, e.getBody()).WithPrefix("entry " + std::to_string(index) + ": "));
    if (copy_log) {
      batch.Put(entries, layout::EntryKey(index), leaf);
      frontier.Append(merkle::HashLeaf(AsBytes(leaf)), [&](merkle::NodeId id, const Hash& h) { tiles.Add(id, h); });
    }
    digests.push_back(BodyDigestInCanonicalEntry(*parsed));
    if (e.getPosition() + 1 == e.getCount()) {
      std::string writer = Str(e.getWriter()), id = Str(e.getSubmissionId());
      batch.Put(submissions, layout::SubmissionKey(writer, id),
                SubmissionRecordBytes(index + 1 - e.getCount(), e.getCount(), HeaderDigest(writer, id, digests)));
      digests.clear();
    }
    last_recorded = e.getRecordedAt();
    ++index;
    if (batch.Count() >= 50000) {
      ELDERCARE_RETURN_IF_ERROR(flush());
      if (options.progress) options.progress(copy_log ? "copying the log" : "reading the log", index, 0);
    }
  }
  if (index == 0 || !keys.has_genesis()) return Status::Corruption("the source holds no genesis entry");
  if (!digests.empty()) return Status::Corruption("the source ends inside a submission");
  for (const auto& [id, actor] : keys.actors()) batch.Put(actors, id, KeyRegistry::Serialize(actor));
  for (const std::string& n : checkpoint_notes) {
    auto parsed = note::Parse(n);
    if (!parsed.ok()) return parsed.status().WithPrefix("checkpoint: ");
    auto body = checkpoint::ParseBody(parsed->text);
    if (!body.ok()) return body.status().WithPrefix("checkpoint: ");
    batch.Put(checkpoints, layout::CheckpointKey(body->size), n);
  }
  batch.Put(meta, layout::kMetaFormat, std::string(layout::kFormatVersion));
  batch.Put(meta, layout::kMetaSize, BigEndianKey(index));
  batch.Put(meta, layout::kMetaOrigin, keys.origin());
  batch.Put(meta, layout::kMetaOperatorId, keys.operator_id());
  batch.Put(meta, layout::kMetaLastRecorded, BigEndianKey(static_cast<uint64_t>(last_recorded)));
  wo.sync = log_source == nullptr;
  return flush();
}

Result<std::unique_ptr<Ledger>> Ledger::Restore(const std::string& dir,
                                                const std::function<Result<bool>(std::string*)>& next_leaf,
                                                const std::vector<std::string>& checkpoint_notes,
                                                LedgerOptions options) {
  ELDERCARE_ASSIGN_OR_RETURN(std::unique_ptr<Rep> rep, Rep::CreateIn(dir, std::move(options)));
  ELDERCARE_RETURN_IF_ERROR(rep->ReplayLog(next_leaf, checkpoint_notes, /*copy_log=*/true));
  ELDERCARE_RETURN_IF_ERROR(rep->LoadState());
  return std::unique_ptr<Ledger>(new Ledger(std::move(rep)));
}

namespace {
Status StaleRefusal(const std::string& stale) {
  return Status::FailedPrecondition("the projections are out of date (" + stale + "); rebuild them before appending");
}
}  // namespace

Result<AppendResult> Ledger::Append(schema::Submission::Reader submission) {
  if (rep_->options.read_only) return Status::FailedPrecondition("ledger is open read-only");
  if (rep_->projections_stale) return StaleRefusal(rep_->stale_projections);
  Prepared p;
  rep_->Prepare(submission, p);
  if (!p.outcome) {
    Prepared* item = &p;
    rep_->Enqueue(std::span<Prepared*>(&item, 1));
  }
  return std::move(*p.outcome);
}

std::vector<Result<AppendResult>> Ledger::AppendMany(std::span<const schema::Submission::Reader> subs) {
  std::vector<Result<AppendResult>> out;
  out.reserve(subs.size());
  if (rep_->options.read_only || rep_->projections_stale) {
    Status refusal = rep_->options.read_only ? Status::FailedPrecondition("ledger is open read-only")
                                             : StaleRefusal(rep_->stale_projections);
    for (size_t i = 0; i < subs.size(); ++i) out.emplace_back(refusal);
    return out;
  }
  if (!rep_->pool) rep_->pool = std::make_unique<ThreadPool>(rep_->options.threads);
  std::vector<Prepared> prepared(subs.size());
  // In chunks, pipelined: while chunks are committed, the next one's
  // signatures are checked on all cores. Chunks are committed in order, so
  // positions follow the order of `subs` as before.
  // Chunk sizes are chosen from the end: the last chunk's commit has no
  // checks left to overlap with, so the cores wait for it; the chunks before
  // it grow twofold (each one's checks then take about as long as the commit
  // of the one before) up to kChunkEvents events or kChunkSubmissions
  // submissions, so that many single-event submissions are committed in
  // groups large enough to share their costs (1024 single-event submissions
  // a chunk instead of 256: 45-55 -> 38-41 us of CPU an event beside the
  // signature check, with the projections, measured 2026-12-06). A chunk
  // holds at least kMinChunkSubmissions: a call with a few large submissions
  // (a platform's days) stays one group, as concurrent callers overlap their
  // own checks and commits.
  constexpr size_t kChunkEvents = 4096, kChunkSubmissions = 1024, kMinChunkSubmissions = 32;
  constexpr double kTailEvents = 128;
  std::vector<std::pair<size_t, size_t>> chunks;  // [begin, end)
  double target = kTailEvents;
  for (size_t end = subs.size(); end > 0;) {
    size_t begin = end, events = 0;
    while (begin > 0 && end - begin < kChunkSubmissions && (events < target || (end - begin < kMinChunkSubmissions && events < kChunkEvents))) {
      --begin;
      events += subs[begin].hasEvents() ? subs[begin].getEvents().size() : 0;
    }
    chunks.emplace_back(begin, end);
    end = begin;
    target = std::min<double>(kChunkEvents, 2 * target);
  }
  std::reverse(chunks.begin(), chunks.end());
  auto prepare = [&](std::pair<size_t, size_t> c) {
    rep_->pool->ParallelFor(c.second - c.first, [&](size_t i) { rep_->Prepare(subs[c.first + i], prepared[c.first + i]); });
  };
  // Commits one chunk on a thread of its own (rep_->committers); returns once
  // the chunk is in the commit queue, so that chunks are queued (and
  // positioned) in order.
  std::deque<std::future<void>> committers;
  auto start_commit = [&](std::pair<size_t, size_t> c) {
    auto items = std::make_shared<std::vector<Prepared*>>();
    for (size_t i = c.first; i < c.second; ++i) {
      if (!prepared[i].outcome) items->push_back(&prepared[i]);
    }
    if (items->empty()) return;
    auto queued = std::make_shared<std::promise<void>>();
    std::future<void> in_queue = queued->get_future();
    committers.push_back(rep_->committers.Run([this, items, queued] { rep_->Enqueue(*items, [&] { queued->set_value(); }); }));
    in_queue.wait();
  };
  auto changes_keys = [&](std::pair<size_t, size_t> c) {
    for (size_t i = c.first; i < c.second; ++i) {
      if (prepared[i].has_key_events && !prepared[i].outcome) return true;
    }
    return false;
  };
  // Up to two chunks are committed at once (one staged while the other is
  // written, see Enqueue) while the next one's signatures are checked. A
  // chunk that changes keys is committed before the next one is checked
  // against the keys.
  auto join_until = [&](size_t left) {
    while (committers.size() > left) {
      committers.front().wait();
      committers.pop_front();
    }
  };
  if (!chunks.empty()) prepare(chunks[0]);
  for (size_t k = 0; k < chunks.size(); ++k) {
    bool keys_change = changes_keys(chunks[k]);
    start_commit(chunks[k]);
    if (keys_change) join_until(0);
    if (k + 1 < chunks.size()) prepare(chunks[k + 1]);
    join_until(1);
  }
  join_until(0);
  for (auto& p : prepared) out.push_back(std::move(*p.outcome));
  return out;
}

uint64_t Ledger::Size() const { return rep_->size.load(); }
const std::string& Ledger::origin() const { return rep_->origin; }
const std::string& Ledger::operator_id() const { return rep_->operator_id; }
const PublicKey& Ledger::operator_key() const { return *rep_->operator_key; }
const std::string& Ledger::operator_key_path() const { return rep_->operator_key_path; }
std::optional<Actor> Ledger::FindActor(std::string_view actor_id) const {
  std::shared_lock<std::shared_mutex> l(rep_->registry_mu);
  const Actor* a = rep_->registry.Find(actor_id);
  return a ? std::optional<Actor>(*a) : std::nullopt;
}

std::vector<Actor> Ledger::Actors() const {
  std::shared_lock<std::shared_mutex> l(rep_->registry_mu);
  std::vector<Actor> out;
  for (const auto& [id, a] : rep_->registry.actors()) out.push_back(a);
  return out;
}

namespace {
Status CheckSize(uint64_t size, uint64_t have) {
  if (size > have) {
    return Status::InvalidArgument("size " + std::to_string(size) + " is beyond the log's size " + std::to_string(have));
  }
  return Status::Ok();
}
}  // namespace

Result<Hash> Ledger::RootAt(uint64_t size) const {
  ELDERCARE_RETURN_IF_ERROR(CheckSize(size, Size()));
  return WithBatchedReads(rep_->db.get(), rep_->merkle, rep_->node_cache,
                          [&](merkle::NodeReader& r) { return merkle::RootAt(r, size); });
}

Result<Hash> Ledger::LeafHash(uint64_t index) const {
  if (index >= Size()) return Status::InvalidArgument("index " + std::to_string(index) + " is not in the log");
  DbNodeReader reader(rep_->db.get(), rep_->merkle);
  return reader.ReadNode(merkle::NodeId{0, index});
}

Result<std::vector<Hash>> Ledger::InclusionProof(uint64_t index, uint64_t size) const {
  ELDERCARE_RETURN_IF_ERROR(CheckSize(size, Size()));
  return WithBatchedReads(rep_->db.get(), rep_->merkle, rep_->node_cache,
                          [&](merkle::NodeReader& r) { return merkle::InclusionProof(r, index, size); });
}

Result<std::vector<Hash>> Ledger::ConsistencyProof(uint64_t size1, uint64_t size2) const {
  ELDERCARE_RETURN_IF_ERROR(CheckSize(size2, Size()));
  return WithBatchedReads(rep_->db.get(), rep_->merkle, rep_->node_cache,
                          [&](merkle::NodeReader& r) { return merkle::ConsistencyProof(r, size1, size2); });
}

Result<std::string> Ledger::EntryBytes(uint64_t index) const {
  std::string v;
  auto s = rep_->db->Get(rocksdb::ReadOptions(), rep_->entries, layout::EntryKey(index), &v);
  if (s.IsNotFound()) return Status::NotFound("no entry at index " + std::to_string(index));
  ELDERCARE_RETURN_IF_ERROR(FromRocks(s, "reading an entry"));
  return v;
}

Result<int64_t> Ledger::RecordedAt(uint64_t index) const {
  ELDERCARE_ASSIGN_OR_RETURN(std::string leaf, EntryBytes(index));
  ELDERCARE_ASSIGN_OR_RETURN(auto entry, ParseEntry(leaf));
  return entry.Root<schema::Entry>().getRecordedAt();
}

Status Ledger::ScanEntries(uint64_t from, uint64_t limit,
                           const std::function<bool(uint64_t, std::string_view)>& fn) const {
  auto c = NewCursor(Family::kEntries, layout::EntryKey(from));
  for (uint64_t n = 0; c->Valid() && n < limit; c->Next(), ++n) {
    if (c->key().size() != 8) return Status::Corruption("entry key of " + std::to_string(c->key().size()) + " bytes");
    if (!fn(GetBigEndian64(reinterpret_cast<const uint8_t*>(c->key().data())), c->value())) break;
  }
  return c->status();
}

namespace {
class RocksCursor : public KvCursor {
 public:
  explicit RocksCursor(rocksdb::Iterator* it) : it_(it) {}
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return {it_->key().data(), it_->key().size()}; }
  std::string_view value() const override { return {it_->value().data(), it_->value().size()}; }
  void Next() override { it_->Next(); }
  Status status() const override { return FromRocks(it_->status(), "reading the ledger"); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Cursors over disjoint keys as one, in key order (the projection state's
// families). It ends where any of them stops on an error: going on with the
// others would pass over that family's remaining keys as if they were not
// there.
class MergedCursor : public KvCursor {
 public:
  explicit MergedCursor(std::vector<std::unique_ptr<KvCursor>> parts) : parts_(std::move(parts)) {
    for (const auto& p : parts_) failed_ = failed_ || Failed(*p);
    Pick();
  }
  bool Valid() const override { return at_ != nullptr; }
  std::string_view key() const override { return at_->key(); }
  std::string_view value() const override { return at_->value(); }
  void Next() override {
    at_->Next();
    failed_ = Failed(*at_);  // (only the part moved can have stopped)
    Pick();
  }
  Status status() const override {
    for (const auto& p : parts_) {
      if (!p->status().ok()) return p->status();
    }
    return Status::Ok();
  }

 private:
  static bool Failed(const KvCursor& c) { return !c.Valid() && !c.status().ok(); }
  void Pick() {
    at_ = nullptr;
    if (failed_) return;
    for (const auto& p : parts_) {
      if (p->Valid() && (at_ == nullptr || p->key() < at_->key())) at_ = p.get();
    }
  }
  std::vector<std::unique_ptr<KvCursor>> parts_;
  KvCursor* at_ = nullptr;
  bool failed_ = false;
};
}  // namespace

std::unique_ptr<KvCursor> Ledger::NewCursor(Family family, std::string_view from) const {
  return rep_->Cursor(family, from, nullptr);
}

std::unique_ptr<KvCursor> Ledger::Rep::Cursor(Family family, std::string_view from,
                                              const rocksdb::Snapshot* snapshot) const {
  NoRocksPerfCounters();  // (the cursor is read on the thread that opens it)
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  switch (family) {
    case Family::kMeta: cf = meta; break;
    case Family::kEntries: cf = entries; break;
    case Family::kMerkle: cf = merkle; break;
    case Family::kSubmissions: cf = submissions; break;
    case Family::kActors: cf = actors; break;
    case Family::kCheckpoints: cf = checkpoints; break;
    case Family::kProjections: break;  // merged, below
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.readahead_size = 4u << 20;
  ro.verify_checksums = true;
  // A cursor scans: what it reads is not read again soon, and would only
  // evict the blocks that point reads (proofs, queries, the fold) reuse.
  ro.fill_cache = false;
  auto open = [&](rocksdb::ColumnFamilyHandle* h) {
    rocksdb::Iterator* it = db->NewIterator(ro, h);
    it->Seek(rocksdb::Slice(from.data(), from.size()));
    return std::make_unique<RocksCursor>(it);
  };
  if (family != Family::kProjections) return open(cf);
  std::vector<std::unique_ptr<KvCursor>> parts;
  for (auto* h : projection.All()) parts.push_back(open(h));
  return std::make_unique<MergedCursor>(std::move(parts));
}

const std::string& Ledger::StaleProjections() const {
  static const std::string kCurrent;
  return rep_->projections_stale ? rep_->stale_projections : kCurrent;
}

Result<ProjectionView> Ledger::Projections() const {
  if (rep_->options.projector == nullptr) return Status::FailedPrecondition("no projection is configured");
  if (rep_->projections_stale) {
    return Status::FailedPrecondition("the projections are out of date (" + rep_->stale_projections + ")");
  }
  auto reader = std::make_unique<RocksStateReader>(rep_->db.get(), rep_->projection_families(), /*snapshot=*/true);
  rocksdb::ReadOptions ro;
  ro.snapshot = reader->snapshot();
  std::string v;
  auto s = rep_->db->Get(ro, rep_->meta, layout::kMetaProjectionSize, &v);
  if (!s.ok() || v.size() != 8) return Status::FailedPrecondition("the projections have not been built");
  ProjectionView view;
  view.size = GetBigEndian64(reinterpret_cast<const uint8_t*>(v.data()));
  view.state = std::move(reader);
  return view;
}

Status Ledger::RebuildProjections() {
  if (rep_->options.read_only) return Status::FailedPrecondition("ledger is open read-only");
  std::lock_guard<std::mutex> stage(rep_->stage_mu);
  std::lock_guard<std::mutex> write(rep_->write_mu);
  return rep_->RebuildProjections();
}

namespace {

std::string Printable(std::string_view key) {
  std::string out;
  for (unsigned char c : key) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char b[5];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    }
  }
  return out;
}

// Compares a store with what the log makes of it (two cursors from their
// first keys), in key order.
Status CompareFamily(KvCursor& stored, KvCursor& derived, const std::string& name) {
  for (;; stored.Next(), derived.Next()) {
    // A cursor that stopped on an error (a table file that fails its
    // checksum) has not reached the end: say so, not that keys are missing.
    if (!stored.Valid()) ELDERCARE_RETURN_IF_ERROR(stored.status().WithPrefix("reading derived store '" + name + "': "));
    if (!derived.Valid()) {
      ELDERCARE_RETURN_IF_ERROR(derived.status().WithPrefix("reading the recomputed '" + name + "': "));
    }
    if (!stored.Valid() && !derived.Valid()) return Status::Ok();
    if (!derived.Valid() || (stored.Valid() && stored.key() < derived.key())) {
      return Status::Corruption("derived store '" + name + "' holds key '" + Printable(stored.key()) +
                                "' that the log does not produce");
    }
    if (!stored.Valid() || derived.key() < stored.key()) {
      return Status::Corruption("derived store '" + name + "' lacks key '" + Printable(derived.key()) +
                                "' that the log produces");
    }
    if (stored.value() != derived.value()) {
      return Status::Corruption("derived store '" + name + "' differs from the log at key '" + Printable(stored.key()) +
                                "'");
    }
  }
}

// A directory made for one use and removed with everything in it.
class ScratchDir {
 public:
  static Result<ScratchDir> Make(const std::string& under) {
    std::error_code ec;
    fs::path base = under.empty() ? fs::temp_directory_path(ec) : fs::path(under);
    if (ec) return Status::IoError("finding the temporary directory: " + ec.message());
    std::string pattern = (base / "eldercare-derived-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Status::IoError("cannot make a scratch directory in " + base.string() + ": " + std::strerror(errno));
    }
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// The leaves of a log in index order, as Restore and ReplayLog take them,
// as of `snapshot` (null: now). Read once, so not through the block cache.
std::function<Result<bool>(std::string*)> LeavesOf(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* entries,
                                                   const rocksdb::Snapshot* snapshot = nullptr) {
  rocksdb::ReadOptions ro;
  ro.readahead_size = 4u << 20;
  ro.fill_cache = false;
  ro.snapshot = snapshot;
  std::shared_ptr<rocksdb::Iterator> it(db->NewIterator(ro, entries));
  it->SeekToFirst();
  return [it](std::string* leaf) -> Result<bool> {
    if (!it->Valid()) {
      ELDERCARE_RETURN_IF_ERROR(FromRocks(it->status(), "reading entries"));
      return false;
    }
    leaf->assign(it->value().data(), it->value().size());
    it->Next();
    return true;
  };
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Rederive(const std::string& dir, const Projector* projector, bool sync) const {
  NoRocksPerfCounters();
  ELDERCARE_ASSIGN_OR_RETURN(std::vector<std::string> notes, Checkpoints());
  LedgerOptions o;
  o.projector = projector;
  o.sync = sync;
  o.threads = rep_->options.threads;
  o.progress = rep_->options.progress;
  return Restore(dir, LeavesOf(rep_->db.get(), rep_->entries), notes, o);
}

Status Ledger::CheckDerivedStores(const Projector* projector, const std::string& scratch) const {
  ELDERCARE_ASSIGN_OR_RETURN(ScratchDir dir, ScratchDir::Make(scratch));
  NoRocksPerfCounters();
  // The scratch ledger reads this one's log twice (its replay, its fold),
  // both times as of one snapshot.
  std::shared_ptr<const rocksdb::Snapshot> snapshot(
      rep_->db->GetSnapshot(), [db = rep_->db.get()](const rocksdb::Snapshot* s) { db->ReleaseSnapshot(s); });
  auto derive = [&]() -> Result<std::unique_ptr<Ledger>> {
    LedgerOptions o;
    o.projector = projector;
    o.sync = false;
    o.threads = rep_->options.threads;
    o.progress = rep_->options.progress;
    o.rebuild_chunk_keys = rep_->options.rebuild_chunk_keys;
    ELDERCARE_ASSIGN_OR_RETURN(std::unique_ptr<Rep> rep, Rep::CreateIn(dir.path(), std::move(o)));
    rep->log_source = rep_.get();
    rep->log_snapshot = snapshot.get();
    ELDERCARE_RETURN_IF_ERROR(
        rep->ReplayLog(LeavesOf(rep_->db.get(), rep_->entries, snapshot.get()), {}, /*copy_log=*/false));
    ELDERCARE_RETURN_IF_ERROR(rep->LoadState());  // given a projector, folds it
    return std::unique_ptr<Ledger>(new Ledger(std::move(rep)));
  };
  auto derived = derive();
  if (!derived.ok()) return derived.status().WithPrefix("recomputing the derived stores: ");
  const Ledger& d = **derived;
  // This ledger's stores as of the log the scratch ledger derived from.
  auto compare = [&](Family family, const std::string& name) {
    return CompareFamily(*rep_->Cursor(family, {}, snapshot.get()), *d.NewCursor(family), name);
  };
  ELDERCARE_RETURN_IF_ERROR(compare(Family::kSubmissions, "submissions"));
  ELDERCARE_RETURN_IF_ERROR(compare(Family::kActors, "actors"));
  // The metadata the log determines (the key path is a convenience, not derived).
  std::vector<const char*> meta_keys = {layout::kMetaFormat, layout::kMetaSize, layout::kMetaOrigin,
                                        layout::kMetaOperatorId, layout::kMetaLastRecorded};
  if (projector != nullptr) {
    meta_keys.push_back(layout::kMetaProjectionVersion);
    meta_keys.push_back(layout::kMetaProjectionSize);
  }
  for (const char* key : meta_keys) {
    std::string stored, want;
    rocksdb::ReadOptions at_snapshot;
    at_snapshot.snapshot = snapshot.get();
    auto s = rep_->db->Get(at_snapshot, rep_->meta, key, &stored);
    auto w = d.rep_->db->Get(rocksdb::ReadOptions(), d.rep_->meta, key, &want);
    if (!w.ok()) return FromRocks(w, std::string("reading the recomputed metadata '") + key + "'");
    if (!s.ok() || stored != want) {
      std::string what = std::string("ledger metadata '") + key + "' does not match the log";
      if (key == std::string_view(layout::kMetaProjectionVersion) && s.ok()) {
        what += ": the projections were folded by '" + Printable(stored) + "', this build folds '" + want +
                "' (`audit-cli rebuild` folds them again)";
      }
      return Status::Corruption(what);
    }
  }
  if (projector != nullptr) ELDERCARE_RETURN_IF_ERROR(compare(Family::kProjections, "projections"));
  return Status::Ok();
}

std::vector<FamilyStorageStats> Ledger::StorageStats() const {
  std::vector<FamilyStorageStats> out;
  for (rocksdb::ColumnFamilyHandle* cf : rep_->handles) {
    std::map<std::string, std::string> m;
    if (!rep_->db->GetMapProperty(cf, rocksdb::DB::Properties::kCFStats, &m)) continue;
    auto num = [&](const std::string& key) {
      auto it = m.find(key);
      return it == m.end() ? 0.0 : std::strtod(it->second.c_str(), nullptr);
    };
    constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
    FamilyStorageStats f;
    f.name = cf->GetName();
    StorageCounter::Counts counted = rep_->storage_counter->Of(f.name);
    f.flushed_bytes = counted.flushed;
    f.compacted_bytes = counted.compacted;
    f.compaction_seconds = counted.compaction_seconds;
    f.moved_bytes = static_cast<uint64_t>(num("compaction.Sum.MovedGB") * kGiB);
    f.live_bytes = static_cast<uint64_t>(num("compaction.Sum.SizeBytes"));
    rep_->db->GetIntProperty(cf, rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &f.pending_compaction_bytes);
    for (int level = 0; level < 7; ++level) {
      if (num("compaction.L" + std::to_string(level) + ".NumFiles") > 0) f.levels = level + 1;
    }
    rocksdb::ColumnFamilyMetaData meta;
    rep_->db->GetColumnFamilyMetaData(cf, &meta);
    for (const auto& level : meta.levels) {
      for (const auto& file : level.files) f.files.push_back(file.directory + "/" + file.relative_filename);
    }
    out.push_back(std::move(f));
  }
  return out;
}

Result<double> Ledger::SettleCompactions(std::chrono::milliseconds limit) const {
  // Settled: no flush or compaction has run for a whole second. (RocksDB
  // schedules the next compaction as soon as one ends, so a second without
  // one means none is wanted. Its "compaction pending" flag is no help: for
  // a universally compacted family it can stay set with nothing to do.)
  auto started = std::chrono::steady_clock::now();
  auto running = [&] {
    uint64_t compactions = 0, flushes = 0;
    rep_->db->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &compactions);
    rep_->db->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &flushes);
    return compactions + flushes > 0;
  };
  auto idle_since = started;
  uint64_t jobs_seen = rep_->storage_counter->JobsEnded();
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    uint64_t jobs = rep_->storage_counter->JobsEnded();
    if (running() || jobs != jobs_seen) idle_since = now;
    jobs_seen = jobs;
    if (now - idle_since >= std::chrono::seconds(1)) break;
    if (now - started > limit) {
      return Status::FailedPrecondition("compactions still running after " + std::to_string(limit.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::chrono::duration<double>(idle_since - started).count();
}

Status Ledger::Flush(bool compact) {
  if (rep_->options.read_only) return Status::FailedPrecondition("ledger is open read-only");
  rocksdb::FlushOptions fo;
  ELDERCARE_RETURN_IF_ERROR(FromRocks(rep_->db->Flush(fo, rep_->handles), "flushing the ledger"));
  if (compact) {
    rocksdb::CompactRangeOptions c;
    c.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (auto* h : rep_->handles) {
      ELDERCARE_RETURN_IF_ERROR(FromRocks(rep_->db->CompactRange(c, h, nullptr, nullptr), "compacting the ledger"));
    }
  }
  return Status::Ok();
}

Result<std::string> Ledger::MakeCheckpoint(const PrivateKey& operator_key) {
  if (rep_->options.read_only) return Status::FailedPrecondition("ledger is open read-only");
  if (!(operator_key.public_key() == *rep_->operator_key)) {
    return Status::PermissionDenied("this key is not the operator key of ledger '" + rep_->origin + "'");
  }
  std::lock_guard<std::mutex> l(rep_->checkpoint_mu);
  uint64_t size = Size();
  auto root = RootAt(size);
  if (!root.ok()) return root.status();
  std::string body = checkpoint::FormatBody({rep_->origin, size, *root, {}});
  auto signed_note = note::Sign(body, rep_->origin, operator_key);
  if (!signed_note.ok()) return signed_note.status();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ELDERCARE_RETURN_IF_ERROR(
      FromRocks(rep_->db->Put(wo, rep_->checkpoints, layout::CheckpointKey(size), *signed_note), "storing the checkpoint"));
  return signed_note;
}

Result<std::vector<std::string>> Ledger::Checkpoints() const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(rep_->db->NewIterator(rocksdb::ReadOptions(), rep_->checkpoints));
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->value().data(), it->value().size());
  ELDERCARE_RETURN_IF_ERROR(FromRocks(it->status(), "reading checkpoints"));
  return out;
}

}  // namespace eldercare
