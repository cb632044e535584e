// A key-value view of projection state. Projections are pure folds written
// against this interface; the ledger backs it with RocksDB and writes the
// result in the same atomic batch as the entries that caused it.
//
// Keys and values are byte strings; Scan visits keys in byte order.
#ifndef ELDERCARE_LEDGER_STATE_STORE_H_
#define ELDERCARE_LEDGER_STATE_STORE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>
#include <absl/strings/string_view.h>

#include "ledger/status.h"

namespace eldercare {

// The hash of a state key, for the hash tables and filters that hold keys:
// absl's, the one absl's tables are tuned for. (Debian's absl has a
// string_view of its own, hence the conversion.)
struct StateKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view k) const {
    return absl::Hash<absl::string_view>()(absl::string_view(k.data(), k.size()));
  }
};

// A key with its StateKeyHash, computed once for the whole chain of readers
// a look-up passes through (a rebuild's chunk, the cache of hot records, the
// chunk being written, the filter of written keys: hashing the key at each
// of them was a tenth of the fold).
struct HashedKey {
  explicit HashedKey(std::string_view k) : key(k), hash(StateKeyHash()(k)) {}
  std::string_view key;
  size_t hash;
};

class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual std::optional<std::string> Get(std::string_view key) const = 0;
  // Whether the key is present, without copying its value (a fold asks
  // this of large records -- an elder, an enterprise -- for every delivery).
  virtual bool Contains(std::string_view key) const { return Get(key).has_value(); }
  // The same two with the key's hash at hand. A reader that hashes keys
  // overrides these and takes the hash from here; the others need not.
  virtual std::optional<std::string> GetHashed(const HashedKey& key) const { return Get(key.key); }
  virtual bool ContainsHashed(const HashedKey& key) const { return Contains(key.key); }
  // Get of each key, in the order given. For many point reads at once (a
  // month's evidence hashes): the default asks Get key by key; RocksDB's
  // reader reads them in one batch, in key order, block by block.
  virtual std::vector<std::optional<std::string>> GetMany(const std::vector<std::string>& keys) const {
    std::vector<std::optional<std::string>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(Get(k));
    return out;
  }
  // fn(key, value) for every key starting with `prefix`, in order, until fn
  // returns false. `start` (if not empty, and >= prefix) is where to begin.
  virtual void Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
                    std::string_view start = {}) const = 0;
};

class StateStore : public StateReader {
 public:
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
};

// Everything in memory (tests, small rebuilds).
class MemoryStateStore : public StateStore {
 public:
  std::optional<std::string> Get(std::string_view key) const override;
  bool Contains(std::string_view key) const override { return data_.find(key) != data_.end(); }
  void Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
            std::string_view start = {}) const override;
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;
  const std::map<std::string, std::string, std::less<>>& data() const { return data_; }

 private:
  std::map<std::string, std::string, std::less<>> data_;
};

// Changes kept on top of a base reader until merged or dropped. Reads see the
// changes first. `Changes` maps a key to its new value (nullopt = deleted):
// ordered (OverlayStateStore) or hashed (HashOverlayStateStore).
template <class Changes>
class BasicOverlayStateStore : public StateStore {
 public:
  explicit BasicOverlayStateStore(const StateReader* base) : base_(base) {}

  std::optional<std::string> Get(std::string_view key) const override { return GetHashed(HashedKey(key)); }
  bool Contains(std::string_view key) const override { return ContainsHashed(HashedKey(key)); }
  std::optional<std::string> GetHashed(const HashedKey& key) const override;
  bool ContainsHashed(const HashedKey& key) const override;
  void Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
            std::string_view start = {}) const override;
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;

  const Changes& changes() const { return changes_; }
  void Clear() { changes_.clear(); }
  size_t size() const { return changes_.size(); }

 protected:
  const StateReader* base_;
  Changes changes_;
};

using OrderedStateChanges = std::map<std::string, std::optional<std::string>, std::less<>>;

// In key order. Used to stage a group commit, and each submission inside it.
class OverlayStateStore : public BasicOverlayStateStore<OrderedStateChanges> {
 public:
  using BasicOverlayStateStore::BasicOverlayStateStore;
  void MergeInto(StateStore& target) const;
  // The same into another overlay, moving the changes instead of copying
  // them (map nodes are spliced across; this overlay is left empty).
  void MoveInto(OverlayStateStore& target) &&;
  // Reads what this overlay does not hold from `base` from now on (which
  // must agree with the old base on every key this overlay does not hold).
  void Rebase(const StateReader* base) { base_ = base; }
};

using HashedStateChanges =
    absl::flat_hash_map<std::string, std::optional<std::string>, StateKeyHash, std::equal_to<>>;

// In a hash table (absl's, open addressing: a probe reads the table's own
// arrays, not a chain of nodes allocated one by one): cheaper reads and
// writes of single keys when it holds many (a rebuild's chunk of tens of
// thousands), at the price of sorting them for a scan or for writing them out.
class HashOverlayStateStore : public BasicOverlayStateStore<HashedStateChanges> {
 public:
  using Change = std::pair<const std::string, std::optional<std::string>>;
  using BasicOverlayStateStore::BasicOverlayStateStore;
  // The changes in key order.
  std::vector<const Change*> SortedChanges() const;
  // Exchanges changes (not bases) with `other`.
  void SwapChanges(HashOverlayStateStore& other) { changes_.swap(other.changes_); }
  // Room for `keys` changes. (absl's clear() gives a large table's arrays
  // back, so a table cleared for the next chunk grows again by doubling,
  // rehashing every key at each step, unless room is made for it.)
  void Reserve(size_t keys) { changes_.reserve(keys); }
};

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_STATE_STORE_H_
