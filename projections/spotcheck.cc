#include "projections/spotcheck.h"

#include <algorithm>
#include <cstring>

#include "projections/fold.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;
constexpr std::string_view kContext = "eldercare-spot-check:v1";

}  // namespace

Result<Sample> DrawSampleFor(const StateReader& state, uint64_t state_size, const std::string& plan_id,
                             const std::vector<std::string>& enterprises, const std::string& month, uint32_t size,
                             uint32_t permille, uint64_t checkpoint_size, const Hash& checkpoint_root) {
  if (checkpoint_size > state_size) {
    return Status::InvalidArgument("checkpoint size " + std::to_string(checkpoint_size) + " is beyond the log's " +
                                   std::to_string(state_size));
  }
  Sample out{plan_id, month, checkpoint_size, checkpoint_root, 0, {}};
  std::vector<std::string> sorted = enterprises;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (const std::string& ent : sorted) {
    // Every delivery has a worker's-visit lookup, voided or not (keys.h):
    //   "dw" month enterprise worker BE64(check-in) id -> BE64(check-out) || its "dl" key
    // under the index of the delivery. One short range per enterprise, read
    // without parsing a record: in a fold every scan also walks the overlay
    // of changes not yet written, and one scan per elder served (as here
    // until programme/10) would have made a rebuild of the demo's year
    // three times as slow once plans drew their samples in the fold.
    const std::string prefix = keys::Prefix({"dw", month, ent});
    state.Scan(prefix, [&](std::string_view k, std::string_view v) {
      auto visit = keys::DecodeLookup(v);
      // As the log stood at the checkpoint: recorded before it.
      if (!visit || visit->index >= checkpoint_size) return true;
      std::string_view rest = k.substr(prefix.size());  // worker, BE64(check-in), id
      size_t worker_end = rest.find('\0');
      std::string_view dl = visit->target.size() > 8 ? visit->target.substr(8) : std::string_view();
      size_t elder_at = std::string_view("dl").size() + 1 + month.size() + 1;  // "dl" 0x00 month 0x00 elder 0x00 ...
      if (worker_end == std::string_view::npos || rest.size() < worker_end + 10 || dl.size() <= elder_at) return true;
      std::string_view elder = dl.substr(elder_at);
      elder = elder.substr(0, elder.find('\0'));
      SampledDelivery d{ent, std::string(rest.substr(worker_end + 10)), std::string(elder), visit->index, {}};
      Sha256Hasher h;
      h.Update(kContext);
      h.Update(uint8_t{0});
      h.Update(checkpoint_root);
      h.Update(plan_id);
      h.Update(uint8_t{0});
      h.Update(ent);
      h.Update(uint8_t{0});
      h.Update(d.delivery_id);
      d.score = h.Finish();
      out.deliveries.push_back(std::move(d));
      return true;
    });
  }
  out.universe = out.deliveries.size();
  uint64_t k = size > 0 ? size : (out.universe * permille + 999) / 1000;
  k = std::min<uint64_t>(k, out.universe);
  std::partial_sort(out.deliveries.begin(), out.deliveries.begin() + static_cast<std::ptrdiff_t>(k), out.deliveries.end(),
                    [](const SampledDelivery& a, const SampledDelivery& b) { return a.score < b.score; });
  out.deliveries.resize(k);
  return out;
}

Result<Sample> DrawSample(const StateReader& state, uint64_t state_size, const std::string& plan_id) {
  Snapshot now(state, state_size, state_size);
  auto plan = now.Load<S::PlanRecord>(keys::Join({"sp", plan_id}));
  if (!plan) return Status::NotFound("unknown spot-check plan '" + plan_id + "'");
  auto p = plan->get().getPlan();
  std::vector<std::string> ents;
  for (auto e : p.getEnterprises()) ents.push_back(Str(e));
  Hash root{};
  if (p.getCheckpointRoot().size() != kHashSize) return Status::Corruption("plan '" + plan_id + "' has no checkpoint root");
  std::memcpy(root.data(), p.getCheckpointRoot().begin(), kHashSize);
  return DrawSampleFor(state, state_size, plan_id, ents, Str(p.getMonth()), p.getSampleSize(), p.getSamplePermille(),
                       p.getCheckpointSize(), root);
}

}  // namespace eldercare::proj
