#include "ledger/projection_store.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <map>

#include "ledger/rocks_util.h"

namespace eldercare {

std::string PrefixEnd(std::string_view prefix) {
  std::string upper(prefix);
  while (!upper.empty() && static_cast<uint8_t>(upper.back()) == 0xff) upper.pop_back();
  if (!upper.empty()) upper.back() = static_cast<char>(static_cast<uint8_t>(upper.back()) + 1);
  return upper;
}

std::vector<std::optional<std::string>> RocksStateReader::GetMany(const std::vector<std::string>& keys) const {
  NoRocksPerfCounters();
  std::vector<std::optional<std::string>> out(keys.size());
  // One batch a family: RocksDB sorts it and reads each block once,
  // coalescing neighbouring blocks (a month's random evidence hashes read
  // one by one from a cold 10M-key family waited on the disk for each).
  std::map<rocksdb::ColumnFamilyHandle*, std::vector<size_t>> by_family;
  for (size_t i = 0; i < keys.size(); ++i) by_family[cfs_.For(keys[i])].push_back(i);
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  for (const auto& [cf, which] : by_family) {
    std::vector<rocksdb::Slice> slices;
    slices.reserve(which.size());
    for (size_t i : which) slices.emplace_back(keys[i].data(), keys[i].size());
    std::vector<rocksdb::PinnableSlice> values(which.size());
    std::vector<rocksdb::Status> statuses(which.size());
    db_->MultiGet(ro, cf, which.size(), slices.data(), values.data(), statuses.data());
    for (size_t j = 0; j < which.size(); ++j) {
      if (statuses[j].IsNotFound()) continue;
      if (!statuses[j].ok()) {
        spdlog::critical("projection read failed: {}", statuses[j].ToString());  // as Read
        std::abort();
      }
      out[which[j]] = values[j].ToString();
    }
  }
  return out;
}

void RocksStateReader::Scan(std::string_view prefix,
                            const std::function<bool(std::string_view, std::string_view)>& fn,
                            std::string_view start) const {
  NoRocksPerfCounters();
  std::string_view from = start > prefix ? start : prefix;
  std::string upper = PrefixEnd(prefix);
  // A prefix of three bytes or more lies in one family; a shorter one (a
  // scan of everything) may span all of them, merged in key order.
  // (A fixed array, not a vector: a statement scans once per elder.)
  std::array<std::unique_ptr<Cursor>, layout::kProjectionFamilies> held;
  size_t n = 0;
  if (prefix.size() >= 3) {
    held[n++] = TakeCursor(cfs_.SlotOf(prefix), std::move(upper));
  } else {
    for (size_t slot = 0; slot < held.size(); ++slot) {
      if (cfs_.cf[slot] != nullptr) held[n++] = TakeCursor(slot, upper);
    }
  }
  std::span<std::unique_ptr<Cursor>> cursors(held.data(), n);
  for (auto& c : cursors) c->it->Seek(rocksdb::Slice(from.data(), from.size()));
  for (;;) {
    rocksdb::Iterator* it = nullptr;
    for (auto& c : cursors) {
      if (c->it->Valid() && (it == nullptr || c->it->key().compare(it->key()) < 0)) it = c->it.get();
    }
    if (it == nullptr) break;
    std::string_view k(it->key().data(), it->key().size());
    if (k.substr(0, prefix.size()) != prefix) break;
    if (!fn(k, std::string_view(it->value().data(), it->value().size()))) break;
    it->Next();
  }
  for (auto& c : cursors) {
    if (!c->it->status().ok()) {
      spdlog::critical("projection scan failed: {}", c->it->status().ToString());
      std::abort();
    }
  }
  for (auto& c : cursors) GiveBack(std::move(c));
}

bool RocksStateReader::Read(std::string_view key, rocksdb::PinnableSlice* v) const {
  NoRocksPerfCounters();
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  auto s = db_->Get(ro, cfs_.For(key), rocksdb::Slice(key.data(), key.size()), v);
  if (s.IsNotFound()) return false;
  if (!s.ok()) {
    // Projection reads happen inside pure folds that cannot fail by
    // themselves; a storage error here is not recoverable in place.
    spdlog::critical("projection read failed: {}", s.ToString());
    std::abort();
  }
  return true;
}

std::unique_ptr<RocksStateReader::Cursor> RocksStateReader::TakeCursor(size_t slot, std::string upper) const {
  const bool unbounded = upper.empty();
  std::unique_ptr<Cursor> c;
  if (snapshot_ != nullptr && !unbounded) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_[slot].empty()) {
      c = std::move(pool_[slot].back());
      pool_[slot].pop_back();
    }
  }
  if (c == nullptr) {
    c = std::make_unique<Cursor>();
    c->slot = slot;
    c->bounded = !unbounded;
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    if (c->bounded) ro.iterate_upper_bound = &c->upper_slice;
    c->it.reset(db_->NewIterator(ro, cfs_.cf[slot]));
  }
  c->upper = std::move(upper);
  c->upper_slice = rocksdb::Slice(c->upper);
  return c;
}

void RocksStateReader::GiveBack(std::unique_ptr<Cursor> c) const {
  if (snapshot_ == nullptr || !c->bounded) return;  // without a snapshot a new scan must see new writes
  std::lock_guard<std::mutex> lock(pool_mu_);
  pool_[c->slot].push_back(std::move(c));
}

bool FilteredInRebuild(std::string_view key) {
  auto family = layout::ProjectionFamilyOf(key);
  return family != layout::ProjectionFamily::kDeliveries && family != layout::ProjectionFamily::kVisits;
}

void PutChange(rocksdb::WriteBatch& batch, const ProjectionFamilies& cfs, std::string_view k,
               const std::optional<std::string>& v) {
  if (v) {
    batch.Put(cfs.For(k), k, *v);
  } else {
    batch.Delete(cfs.For(k), k);
  }
}

void AutoCompactionsOff::Set(const char* disabled) {
  for (auto* cf : cfs_) {
    auto s = db_->SetOptions(cf, {{"disable_auto_compactions", disabled}});
    if (!s.ok()) {
      spdlog::warn("rebuild: RocksDB left the automatic compactions of '{}' as they were (disabled: {}): {}",
                   cf->GetName(), disabled, s.ToString());
    }
  }
}

}  // namespace eldercare
