#include "projections/snapshot.h"

#include "projections/keys.h"

namespace eldercare::proj {

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
