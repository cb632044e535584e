// The projection state as the ledger keeps it in RocksDB: the column
// families that hold it (store_layout.h), the readers a fold or a query
// reads it through, and what a rebuild uses to write it again from scratch.
// Internal to the ledger (ledger.cc); nothing outside ledger/ includes it.
#ifndef ELDERCARE_LEDGER_PROJECTION_STORE_H_
#define ELDERCARE_LEDGER_PROJECTION_STORE_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/state_store.h"
#include "ledger/store_layout.h"

namespace eldercare {

// The families that hold the projection state (store_layout.h,
// ProjectionFamilyOf). One is null only in a read-only open of a ledger made
// before it existed (its projections are out of date anyway: the projector
// version says so); its keys are then looked for in `records`.
struct ProjectionFamilies {
  std::array<rocksdb::ColumnFamilyHandle*, layout::kProjectionFamilies> cf{};

  rocksdb::ColumnFamilyHandle* records() const { return cf[0]; }
  // The slot of a key, or of every key starting with `prefix` when it is at
  // least three bytes long (they share the part ProjectionFamilyOf reads).
  size_t SlotOf(std::string_view key) const {
    auto slot = static_cast<size_t>(layout::ProjectionFamilyOf(key));
    return cf[slot] != nullptr ? slot : 0;
  }
  rocksdb::ColumnFamilyHandle* For(std::string_view key) const { return cf[SlotOf(key)]; }
  std::vector<rocksdb::ColumnFamilyHandle*> All() const {
    std::vector<rocksdb::ColumnFamilyHandle*> v;
    for (auto* h : cf) {
      if (h != nullptr) v.push_back(h);
    }
    return v;
  }
};

// Smallest key greater than every key with this prefix ("" if none is).
std::string PrefixEnd(std::string_view prefix);

// Projection state read from RocksDB, optionally under a snapshot.
class RocksStateReader : public StateReader {
 public:
  RocksStateReader(rocksdb::DB* db, ProjectionFamilies cfs, bool snapshot)
      : db_(db), cfs_(cfs), snapshot_(snapshot ? db->GetSnapshot() : nullptr) {}
  ~RocksStateReader() override {
    for (auto& pool : pool_) pool.clear();  // iterators before the snapshot they read
    if (snapshot_) db_->ReleaseSnapshot(snapshot_);
  }
  const rocksdb::Snapshot* snapshot() const { return snapshot_; }

  std::optional<std::string> Get(std::string_view key) const override {
    rocksdb::PinnableSlice v;
    if (!Read(key, &v)) return std::nullopt;
    return v.ToString();
  }

  bool Contains(std::string_view key) const override {
    rocksdb::PinnableSlice v;
    return Read(key, &v);
  }

  std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) const override;

  void Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
            std::string_view start) const override;

 private:
  // An iterator with its own upper bound, which RocksDB reads through a
  // pointer on every step: changing the bound and seeking again reuses the
  // iterator. Under a snapshot every iterator sees the same data, so scans
  // take one from a pool instead of building one per scan (a statement scans
  // per elder; building an iterator touches every file of the LSM tree).
  struct Cursor {
    size_t slot = 0;  // in ProjectionFamilies::cf
    std::string upper;
    rocksdb::Slice upper_slice;
    bool bounded = true;
    std::unique_ptr<rocksdb::Iterator> it;
  };

  // False when the key is absent.
  bool Read(std::string_view key, rocksdb::PinnableSlice* v) const;

  // A cursor over family `slot` bounded above by `upper` ("": unbounded).
  std::unique_ptr<Cursor> TakeCursor(size_t slot, std::string upper) const;
  void GiveBack(std::unique_ptr<Cursor> c) const;

  rocksdb::DB* db_;
  ProjectionFamilies cfs_;
  const rocksdb::Snapshot* snapshot_;
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<Cursor>> pool_[layout::kProjectionFamilies];
};

// Committed projection records the group leader (or a rebuild) read
// recently, kept in step with every commit. The same records (an elder, an
// enterprise, the catalogue's codes) are read for delivery after delivery;
// a hash lookup is far cheaper than a RocksDB Get. Absent keys are not
// kept (see Get). Leader-only.
class CachedStateReader : public StateReader {
 public:
  explicit CachedStateReader(const StateReader& base, size_t capacity = 30000) : base_(base), capacity_(capacity) {}

  std::optional<std::string> Get(std::string_view key) const override { return GetHashed(HashedKey(key)); }
  bool Contains(std::string_view key) const override { return ContainsHashed(HashedKey(key)); }
  std::optional<std::string> GetHashed(const HashedKey& key) const override {
    auto it = map_.find(key.key, key.hash);
    if (it != map_.end()) return it->second;
    return Miss(key);
  }
  bool ContainsHashed(const HashedKey& key) const override {
    auto it = map_.find(key.key, key.hash);
    if (it != map_.end()) return it->second.has_value();
    return Miss(key).has_value();  // a present record is cached for next time
  }
  void Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
            std::string_view start) const override {
    base_.Scan(prefix, fn, start);
  }
  // After a successful write: the new values replace what was cached.
  template <class Overlay>
  void Apply(const Overlay& changes) {
    for (const auto& [k, v] : changes.changes()) Update(HashedKey(k), v);
  }
  // The same for one key.
  void Update(const HashedKey& key, const std::optional<std::string>& value) {
    auto it = map_.find(key.key, key.hash);
    if (it != map_.end()) it->second = value;
  }
  void Clear() { map_.clear(); }

 private:
  // A key not cached, read from the base.
  std::optional<std::string> Miss(const HashedKey& key) const {
    auto v = base_.GetHashed(key);
    // Absent keys are mostly new ids looked up once before they are written
    // (a delivery's id, its evidence hash): caching them only crowds out the
    // records that are read again and again (elders, enterprises, policy).
    if (!v) return v;
    if (map_.size() >= capacity_) map_.clear();
    map_.emplace(std::string(key.key), v);
    return v;
  }
  const StateReader& base_;
  size_t capacity_;
  mutable HashedStateChanges map_;  // a key's value, or nullopt if deleted
};

// A blocked Bloom filter over byte strings (Putze, Sanders and Singler,
// "Cache-, hash- and space-efficient Bloom filters", 2007): each key sets
// kProbes bits of one 64-byte block, so a look-up costs one cache miss.
// "Absent" is certain. Sized for the keys it will hold, at kBitsPerKey
// (about one false "may be present" in a hundred), and never below 32 MiB.
// Until 2026-12-04 it was a fixed 32 MiB with four probes anywhere in it:
// wrong for about one key in ten at the sixty million keys a 10M-event
// rebuild put in it, and each of those look-ups went to RocksDB.
class KeyFilter {
 public:
  explicit KeyFilter(uint64_t expected_keys)
      : blocks_(std::max<uint64_t>(kMinBlocks, expected_keys * kBitsPerKey / kBlockBits + 1)) {}
  // A key, by its StateKeyHash.
  void Add(uint64_t h) {
    Block& b = blocks_[BlockOf(h)];
    uint64_t g = Mix(h);
    for (int i = 0; i < kProbes; ++i, g >>= 9) b.words[(g >> 6) & 7] |= uint64_t{1} << (g & 63);
  }
  bool MayContain(const HashedKey& key) const {
    uint64_t h = key.hash;
    const Block& b = blocks_[BlockOf(h)];
    uint64_t g = Mix(h);
    for (int i = 0; i < kProbes; ++i, g >>= 9) {
      if (!((b.words[(g >> 6) & 7] >> (g & 63)) & 1)) return false;
    }
    return true;
  }
  size_t bytes() const { return blocks_.size() * sizeof(Block); }

 private:
  static constexpr uint64_t kBlockBits = 512;
  static constexpr uint64_t kBitsPerKey = 10;
  static constexpr int kProbes = 6;  // 9 bits each of the second hash
  static constexpr uint64_t kMinBlocks = (uint64_t{32} << 20) / (kBlockBits / 8);
  struct alignas(64) Block {
    uint64_t words[kBlockBits / 64] = {};
  };
  // Lemire's multiply-shift: the block from the hash's high bits, without a
  // division and for any number of blocks.
  size_t BlockOf(uint64_t h) const {
    __extension__ using Wide = unsigned __int128;  // (GCC and Clang)
    return static_cast<size_t>((static_cast<Wide>(h) * blocks_.size()) >> 64);
  }
  // The bits within the block from a second hash (SplitMix64's finaliser).
  static uint64_t Mix(uint64_t h) {
    h += 0x9e3779b97f4a7c15;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9;
    h = (h ^ (h >> 27)) * 0x94d049bb133111eb;
    return h ^ (h >> 31);
  }
  std::vector<Block> blocks_;
};

// Whether a rebuild's fold may read a key it has not written yet: it never
// does for delivery records and workers' visits (it writes them new, and
// reads only those it finds through a lookup), so the filter below leaves
// those two families out -- two of a delivery's five keys -- and asks
// RocksDB for any key of theirs.
bool FilteredInRebuild(std::string_view key);

// RocksDB for a rebuild: the family was emptied first, so a key no write of
// the rebuild may have put there is known absent without asking RocksDB
// (most of a fold's look-ups are of new ids). Counts the look-ups that
// still reach RocksDB, and how many of those find nothing (the filter's
// false positives), for the rebuild's log line.
class RebuiltStateReader : public StateReader {
 public:
  RebuiltStateReader(const StateReader& db, const KeyFilter& written) : db_(db), written_(written) {}
  std::optional<std::string> Get(std::string_view key) const override { return GetHashed(HashedKey(key)); }
  bool Contains(std::string_view key) const override { return ContainsHashed(HashedKey(key)); }
  std::optional<std::string> GetHashed(const HashedKey& key) const override {
    if (!MayContain(key)) return std::nullopt;
    auto v = db_.Get(key.key);
    Count(v.has_value());
    return v;
  }
  bool ContainsHashed(const HashedKey& key) const override {
    if (!MayContain(key)) return false;
    bool found = db_.Contains(key.key);
    Count(found);
    return found;
  }
  void Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
            std::string_view start) const override {
    db_.Scan(prefix, fn, start);
  }
  uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  bool MayContain(const HashedKey& key) const { return !FilteredInRebuild(key.key) || written_.MayContain(key); }
  void Count(bool found) const {
    reads_.fetch_add(1, std::memory_order_relaxed);
    if (!found) misses_.fetch_add(1, std::memory_order_relaxed);
  }
  const StateReader& db_;
  const KeyFilter& written_;
  mutable std::atomic<uint64_t> reads_{0}, misses_{0};
};

// Turns RocksDB's automatic compactions of some column families off until
// destroyed: RocksDB's own recipe for a bulk load, which compacts once at
// the end. (Off, a family's count of level-0 files no longer stalls writes
// either.) Neither setting decides what is stored, so a refusal is logged,
// not returned.
class AutoCompactionsOff {
 public:
  AutoCompactionsOff(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> cfs) : db_(db), cfs_(std::move(cfs)) {
    Set("true");
  }
  ~AutoCompactionsOff() { Set("false"); }
  AutoCompactionsOff(const AutoCompactionsOff&) = delete;
  AutoCompactionsOff& operator=(const AutoCompactionsOff&) = delete;

 private:
  void Set(const char* disabled);
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
};

// Puts the change of key k into the batch: its new value, or its deletion.
void PutChange(rocksdb::WriteBatch& batch, const ProjectionFamilies& cfs, std::string_view k,
               const std::optional<std::string>& v);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_PROJECTION_STORE_H_
