#include "ledger/state_store.h"

#include <algorithm>
#include <vector>

namespace eldercare {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// fn over the base's keys with `prefix` (from `start`) merged with
// `overlay` (the overlay's changes in that range, in key order), the overlay
// winning; a deleted key is skipped.
void MergeScan(const StateReader* base,
               const std::vector<std::pair<std::string_view, const std::optional<std::string>*>>& overlay,
               std::string_view prefix, const std::function<bool(std::string_view, std::string_view)>& fn,
               std::string_view start) {
  // The base's matches are gathered first; prefix scans here are over small ranges.
  std::vector<std::pair<std::string, std::string>> base_items;
  if (base) {
    base->Scan(prefix, [&](std::string_view k, std::string_view v) {
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

// A read through an overlay's changes (nullopt = deleted) to its base.
template <class Changes>
std::optional<std::string> LayeredGet(const Changes& changes, const StateReader* base, std::string_view key) {
  auto it = changes.find(key);
  if (it != changes.end()) return it->second;
  return base ? base->Get(key) : std::nullopt;
}
template <class Changes>
bool LayeredContains(const Changes& changes, const StateReader* base, std::string_view key) {
  auto it = changes.find(key);
  if (it != changes.end()) return it->second.has_value();
  return base && base->Contains(key);
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

std::optional<std::string> OverlayStateStore::Get(std::string_view key) const {
  return LayeredGet(changes_, base_, key);
}

bool OverlayStateStore::Contains(std::string_view key) const { return LayeredContains(changes_, base_, key); }

void OverlayStateStore::Scan(std::string_view prefix,
                             const std::function<bool(std::string_view, std::string_view)>& fn,
                             std::string_view start) const {
  std::vector<std::pair<std::string_view, const std::optional<std::string>*>> overlay;
  for (auto it = changes_.lower_bound(start > prefix ? start : prefix);
       it != changes_.end() && HasPrefix(it->first, prefix); ++it) {
    overlay.emplace_back(it->first, &it->second);
  }
  MergeScan(base_, overlay, prefix, fn, start);
}

void OverlayStateStore::Put(std::string_view key, std::string_view value) {
  changes_[std::string(key)] = std::string(value);
}

void OverlayStateStore::Delete(std::string_view key) { changes_[std::string(key)] = std::nullopt; }

void OverlayStateStore::MergeInto(StateStore& target) const {
  for (const auto& [k, v] : changes_) {
    if (v) {
      target.Put(k, *v);
    } else {
      target.Delete(k);
    }
  }
}

std::optional<std::string> HashOverlayStateStore::Get(std::string_view key) const {
  return LayeredGet(changes_, base_, key);
}

bool HashOverlayStateStore::Contains(std::string_view key) const { return LayeredContains(changes_, base_, key); }

void HashOverlayStateStore::Scan(std::string_view prefix,
                                 const std::function<bool(std::string_view, std::string_view)>& fn,
                                 std::string_view start) const {
  std::string_view from = start > prefix ? start : prefix;
  std::vector<std::pair<std::string_view, const std::optional<std::string>*>> overlay;
  for (const auto& [k, v] : changes_) {
    if (HasPrefix(k, prefix) && std::string_view(k) >= from) overlay.emplace_back(k, &v);
  }
  std::sort(overlay.begin(), overlay.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  MergeScan(base_, overlay, prefix, fn, start);
}

void HashOverlayStateStore::Put(std::string_view key, std::string_view value) {
  auto it = changes_.find(key);
  if (it != changes_.end()) {
    it->second = std::string(value);
  } else {
    changes_.emplace(std::string(key), std::string(value));
  }
}

void HashOverlayStateStore::Delete(std::string_view key) {
  auto it = changes_.find(key);
  if (it != changes_.end()) {
    it->second = std::nullopt;
  } else {
    changes_.emplace(std::string(key), std::nullopt);
  }
}

std::vector<const HashOverlayStateStore::Change*> HashOverlayStateStore::SortedChanges() const {
  std::vector<const Change*> out;
  out.reserve(changes_.size());
  for (const auto& c : changes_) out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const Change* a, const Change* b) { return a->first < b->first; });
  return out;
}

}  // namespace eldercare
