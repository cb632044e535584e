// The Merkle tree as the ledger keeps it in RocksDB (store_layout.h,
// "Merkle tiles"): reading a node from its tile, writing the tiles an append
// completes, caching the nodes every proof passes through, and proofs
// computed from one batched read. Internal to the ledger (ledger.cc).
#ifndef ELDERCARE_LEDGER_MERKLE_STORE_H_
#define ELDERCARE_LEDGER_MERKLE_STORE_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/merkle.h"
#include "ledger/rocks_util.h"
#include "ledger/store_layout.h"

namespace eldercare {

// Merkle nodes once read -- a complete node never changes: the upper ones,
// which every proof passes through and of which there are few (n /
// 2^kCachedFromLevel), and every node of a band's newest tile (the one not
// yet full; at most 509 nodes a band). The newest tile holds the right edge
// of the tree -- the complete subtrees left of the newest leaves -- so a
// proof at the current size asks for some of its lower nodes whatever leaf
// it is of; uncached, each proof read that tile again, from every file of
// level 0 (its newest hashes are there) as well as level 1.
class NodeCache {
 public:
  static constexpr uint32_t kCachedFromLevel = 6;
  std::optional<Hash> Find(merkle::NodeId id) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = map_.find(Key(id));
    return it == map_.end() ? std::nullopt : std::optional<Hash>(it->second);
  }
  // `in_newest_tile`: read from a tile that is not yet full.
  void Insert(merkle::NodeId id, const Hash& h, bool in_newest_tile) {
    if (id.level < kCachedFromLevel && !in_newest_tile) return;
    std::lock_guard<std::mutex> l(mu_);
    if (map_.size() >= 1000000) map_.clear();
    map_.emplace(Key(id), h);
  }

 private:
  static uint64_t Key(merkle::NodeId id) { return (id.index << 6) | id.level; }
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Hash> map_;
};

// The hash at `position` of a tile value, if the value holds it.
std::optional<Hash> HashInTile(std::string_view tile, uint64_t position);

// Corruption naming the node.
Status MissingNode(merkle::NodeId id);

// Each node by a point read of its tile.
class DbNodeReader : public merkle::NodeReader {
 public:
  DbNodeReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}
  Result<Hash> ReadNode(merkle::NodeId id) override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
};

// Collects the nodes appends complete and writes each tile's new hashes as
// one merge operand per tile touched (they arrive in completion order, which
// is the order of each tile's value).
class TileWriter {
 public:
  TileWriter(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* cf) : batch_(batch), cf_(cf) {}
  void Add(merkle::NodeId id, const Hash& h) {
    Pending& p = pending_[layout::MerkleBand(id.level)];
    layout::TileId t = layout::TileOf(id);
    if (!p.bytes.empty() && !(p.tile == t)) Write(p);
    p.tile = t;
    p.bytes.append(reinterpret_cast<const char*>(h.data()), h.size());
  }
  // Writes what is pending; call before the batch is written.
  void Finish() {
    for (Pending& p : pending_) {
      if (!p.bytes.empty()) Write(p);
    }
  }

 private:
  struct Pending {
    layout::TileId tile;
    std::string bytes;
  };
  void Write(Pending& p) {
    batch_->Merge(cf_, layout::TileKey(p.tile), p.bytes);
    p.bytes.clear();
  }
  rocksdb::WriteBatch* batch_;
  rocksdb::ColumnFamilyHandle* cf_;
  std::array<Pending, layout::kMerkleBands> pending_;
};

// Proof planning does not depend on hash values, only on the tree's shape.
// So a computation runs twice: first against a reader that only records
// which nodes it asks for, then -- after one batched MultiGet of the tiles
// holding those -- against the fetched hashes. One RocksDB round trip, and
// one tile per band, instead of ~2 log n node reads.
template <typename Compute>
auto WithBatchedReads(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, NodeCache& cache, Compute compute)
    -> decltype(compute(std::declval<merkle::NodeReader&>())) {
  struct Recorder : merkle::NodeReader {
    std::vector<merkle::NodeId> ids;
    Result<Hash> ReadNode(merkle::NodeId id) override {
      ids.push_back(id);
      return Hash{};
    }
  } recorder;
  auto planned = compute(recorder);
  if (!planned.ok()) return planned;
  struct Fetched : merkle::NodeReader {
    std::vector<std::pair<merkle::NodeId, Hash>> nodes;
    Result<Hash> ReadNode(merkle::NodeId id) override {
      for (const auto& [nid, h] : nodes) {
        if (nid == id) return h;
      }
      return MissingNode(id);
    }
  } fetched;
  std::vector<merkle::NodeId> wanted;
  std::vector<std::string> keys;  // distinct tiles
  std::vector<size_t> tile_of;    // wanted[i]'s tile in keys
  for (const auto& id : recorder.ids) {
    if (auto h = cache.Find(id)) {
      fetched.nodes.emplace_back(id, *h);
      continue;
    }
    std::string key = layout::MerkleTileKey(id);
    size_t k = std::find(keys.begin(), keys.end(), key) - keys.begin();
    if (k == keys.size()) keys.push_back(std::move(key));
    wanted.push_back(id);
    tile_of.push_back(k);
  }
  std::vector<rocksdb::Slice> slices;
  for (const auto& k : keys) slices.emplace_back(k);
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!slices.empty()) {
    NoRocksPerfCounters();
    db->MultiGet(rocksdb::ReadOptions(), cf, slices.size(), slices.data(), values.data(), statuses.data());
  }
  for (size_t i = 0; i < wanted.size(); ++i) {
    const size_t k = tile_of[i];
    if (!statuses[k].ok()) continue;  // reported when asked for
    std::string_view tile(values[k].data(), values[k].size());
    auto h = HashInTile(tile, layout::TilePosition(wanted[i]));
    if (!h) continue;
    fetched.nodes.emplace_back(wanted[i], *h);
    cache.Insert(wanted[i], *h, tile.size() < layout::kTileNodes * kHashSize);
  }
  return compute(fetched);
}

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_MERKLE_STORE_H_
