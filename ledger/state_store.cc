#include "ledger/state_store.h"

#include <vector>

namespace eldercare {
namespace {

bool HasPrefix(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

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
  auto it = changes_.find(key);
  if (it != changes_.end()) return it->second;
  return base_ ? base_->Get(key) : std::nullopt;
}

bool OverlayStateStore::Contains(std::string_view key) const {
  auto it = changes_.find(key);
  if (it != changes_.end()) return it->second.has_value();
  return base_ && base_->Contains(key);
}

void OverlayStateStore::Scan(std::string_view prefix,
                             const std::function<bool(std::string_view, std::string_view)>& fn,
                             std::string_view start) const {
  // Merge the base's keys with this overlay's, the overlay winning. The base's
  // matches are gathered first; prefix scans here are over small ranges.
  std::vector<std::pair<std::string, std::string>> base_items;
  if (base_) {
    base_->Scan(prefix, [&](std::string_view k, std::string_view v) {
      base_items.emplace_back(k, v);
      return true;
    }, start);
  }
  std::string_view from = start > prefix ? start : prefix;
  auto ov = changes_.lower_bound(from);
  size_t b = 0;
  for (;;) {
    bool ov_ok = ov != changes_.end() && HasPrefix(ov->first, prefix);
    bool b_ok = b < base_items.size();
    if (!ov_ok && !b_ok) return;
    if (ov_ok && (!b_ok || ov->first <= base_items[b].first)) {
      if (b_ok && ov->first == base_items[b].first) ++b;
      if (ov->second && !fn(ov->first, *ov->second)) return;
      ++ov;
    } else {
      if (!fn(base_items[b].first, base_items[b].second)) return;
      ++b;
    }
  }
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

}  // namespace eldercare
