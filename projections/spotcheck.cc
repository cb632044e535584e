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
  Snapshot snap(state, state_size, checkpoint_size);
  Sample out{plan_id, month, checkpoint_size, checkpoint_root, 0, {}};
  std::vector<std::string> sorted = enterprises;
  std::sort(sorted.begin(), sorted.end());
  for (const std::string& ent : sorted) {
    // Elders served in the month, then their deliveries by this enterprise.
    std::string de = keys::Prefix({"de", ent, month});
    for (const std::string& k : snap.Keys(de)) {
      std::string elder = k.substr(de.size());
      snap.Scan<S::DeliveryRecord>(keys::Prefix({"dl", month, elder}), [&](std::string_view, const Record<S::DeliveryRecord>& r) {
        auto c = r.get().getClaim();
        if (Str(c.getEnterpriseId()) != ent) return true;
        SampledDelivery d{ent, Str(c.getDeliveryId()), elder, r.get().getIndex(), {}};
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
