#include "ledger/state_store.h"

#include <algorithm>
#include <vector>

namespace eldercare {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

using ChangeRefs = std::vector<std::pair<std::string_view, const std::optional<std::string>*>>;

// An overlay's changes with `prefix` from `from` on, in key order.
ChangeRefs ChangesInRange(const OrderedStateChanges& changes, std::string_view prefix, std::string_view from) {
  ChangeRefs out;
  for (auto it = changes.lower_bound(from); it != changes.end() && HasPrefix(it->first, prefix); ++it) {
    out.emplace_back(it->first, &it->second);
  }
  return out;
}
ChangeRefs ChangesInRange(const HashedStateChanges& changes, std::string_view prefix, std::string_view from) {
  ChangeRefs out;
  for (const auto& [k, v] : changes) {
    if (HasPrefix(k, prefix) && std::string_view(k) >= from) out.emplace_back(k, &v);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

// A hashed table's look-up takes the hash at hand; an ordered one has no use for it.
auto FindIn(const HashedStateChanges& changes, const HashedKey& key) { return changes.find(key.key, key.hash); }
auto FindIn(const OrderedStateChanges& changes, const HashedKey& key) { return changes.find(key.key); }

// The key's change becomes `value`; the key's string is made only when the
// key is new. (A hashed table finds the key's place once, for both.)
void SetIn(HashedStateChanges& changes, std::string_view key, std::optional<std::string> value) {
  changes.try_emplace(key).first->second = std::move(value);
}
void SetIn(OrderedStateChanges& changes, std::string_view key, std::optional<std::string> value) {
  auto it = changes.find(key);
  if (it != changes.end()) {
    it->second = std::move(value);
  } else {
    changes.emplace(std::string(key), std::move(value));
  }
}

}  // namespace

std::optional<std::string> MemoryStateStore::Get(std::string_view key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

void MemoryStateStore::Scan(std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
                            std::string_view start) const {
  auto it = data_.lower_bound(start > prefix ? start : prefix);
  for (; it != data_.end() && HasPrefix(it->first, prefix); ++it) {
    if (!fn(it->first, it->second)) return;
  }
}

void MemoryStateStore::Put(std::string_view key, std::string_view value) { data_[std::string(key)] = value; }
void MemoryStateStore::Delete(std::string_view key) {
  auto it = data_.find(key);
  if (it != data_.end()) data_.erase(it);
}

template <class Changes>
std::optional<std::string> BasicOverlayStateStore<Changes>::GetHashed(const HashedKey& key) const {
  auto it = FindIn(changes_, key);
  if (it != changes_.end()) return it->second;
  return base_ ? base_->GetHashed(key) : std::nullopt;
}

template <class Changes>
bool BasicOverlayStateStore<Changes>::ContainsHashed(const HashedKey& key) const {
  auto it = FindIn(changes_, key);
  if (it != changes_.end()) return it->second.has_value();
  return base_ && base_->ContainsHashed(key);
}

// The base's keys merged with this overlay's, the overlay winning; a deleted
// key is skipped. The base's matches are gathered first: prefix scans here
// are over small ranges.
template <class Changes>
void BasicOverlayStateStore<Changes>::Scan(std::string_view prefix,
                                           const std::function<bool(std::string_view, std::string_view)>& fn,
                                           std::string_view start) const {
  ChangeRefs overlay = ChangesInRange(changes_, prefix, start > prefix ? start : prefix);
  std::vector<std::pair<std::string, std::string>> base_items;
  if (base_) {
    base_->Scan(prefix, [&](std::string_view k, std::string_view v) {
      base_items.emplace_back(k, v);
      return true;
    }, start);
  }
  size_t o = 0, b = 0;
  for (;;) {
    bool o_ok = o < overlay.size();
    bool b_ok = b < base_items.size();
    if (!o_ok && !b_ok) return;
    if (o_ok && (!b_ok || overlay[o].first <= base_items[b].first)) {
      if (b_ok && overlay[o].first == base_items[b].first) ++b;
      if (*overlay[o].second && !fn(overlay[o].first, **overlay[o].second)) return;
      ++o;
    } else {
      if (!fn(base_items[b].first, base_items[b].second)) return;
      ++b;
    }
  }
}

template <class Changes>
void BasicOverlayStateStore<Changes>::Put(std::string_view key, std::string_view value) {
  SetIn(changes_, key, std::string(value));
}

template <class Changes>
void BasicOverlayStateStore<Changes>::Delete(std::string_view key) {
  SetIn(changes_, key, std::nullopt);
}

template class BasicOverlayStateStore<OrderedStateChanges>;
template class BasicOverlayStateStore<HashedStateChanges>;

void OverlayStateStore::MergeInto(StateStore& target) const {
  for (const auto& [k, v] : changes_) {
    if (v) {
      target.Put(k, *v);
    } else {
      target.Delete(k);
    }
  }
}

void OverlayStateStore::MoveInto(OverlayStateStore& target) && {
  target.changes_.merge(changes_);  // every key `target` does not hold yet
  // What is left are keys both hold: this overlay's value is the newer.
  for (auto& [k, v] : changes_) target.changes_.find(k)->second = std::move(v);
  changes_.clear();
}

std::vector<const HashOverlayStateStore::Change*> HashOverlayStateStore::SortedChanges() const {
  // Sorted by each key's first 24 bytes, read as three big-endian numbers
  // (zero-padded), and by the whole key only where those are equal: the
  // numbers order two keys as their bytes do wherever they differ (a key
  // padded with zeros is a prefix of the other, so sorts first), and they
  // are at hand in the array instead of behind a pointer to each node.
  // Eight bytes were too few: a delivery's keys begin with a two-letter
  // family and a month ("dl\0" "2024-03"), so most comparisons went on to
  // the whole keys, two pointers away (a sixth of a rebuild's writer).
  struct Keyed {
    uint64_t head[3];
    const Change* change;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(changes_.size());
  for (const auto& c : changes_) {
    Keyed k{{0, 0, 0}, &c};
    const std::string& key = c.first;
    for (size_t w = 0; w < 3; ++w) {
      uint64_t h = 0;
      for (size_t i = 8 * w; i < 8 * w + 8; ++i) h = h << 8 | (i < key.size() ? static_cast<uint8_t>(key[i]) : 0);
      k.head[w] = h;
    }
    keyed.push_back(k);
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.head[0] != b.head[0]) return a.head[0] < b.head[0];
    if (a.head[1] != b.head[1]) return a.head[1] < b.head[1];
    if (a.head[2] != b.head[2]) return a.head[2] < b.head[2];
    return a.change->first < b.change->first;
  });
  std::vector<const Change*> out;
  out.reserve(keyed.size());
  for (const Keyed& k : keyed) out.push_back(k.change);
  return out;
}

}  // namespace eldercare
