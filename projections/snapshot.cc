#include "projections/snapshot.h"

#include "projections/keys.h"

namespace eldercare::proj {

void ForEach(const ForEachIndex& each, size_t n, const std::function<void(size_t)>& fn) {
  if (each) {
    each(n, fn);
  } else {
    for (size_t i = 0; i < n; ++i) fn(i);
  }
}

std::vector<std::string> Snapshot::Keys(std::string_view prefix) const {
  std::vector<std::string> out;
  state_.Scan(prefix, [&](std::string_view k, std::string_view v) {
    auto r = keys::DecodeLookup(v);
    if (r && r->index < size_) out.emplace_back(k);
    return true;
  });
  return out;
}

}  // namespace eldercare::proj
