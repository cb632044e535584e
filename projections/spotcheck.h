// Spot-check samples nobody can predict and anyone can reproduce.
//
// The universe: the deliveries of the plan's enterprises checked in during
// its month, as the log stood at the plan's checkpoint size. Each gets a score
//   SHA-256("eldercare-spot-check:v1" || 0x00 || checkpoint root || planId
//           || 0x00 || enterpriseId || 0x00 || deliveryId)
// and the sample is the `sample_size` (or ceil(permille x universe / 1000))
// lowest scores, listed by score. The checkpoint must be signed after the
// month ended, so no enterprise could know the root while writing the month.
#ifndef ELDERCARE_PROJECTIONS_SPOTCHECK_H_
#define ELDERCARE_PROJECTIONS_SPOTCHECK_H_

#include <string>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "projections/snapshot.h"

namespace eldercare::proj {

struct SampledDelivery {
  std::string enterprise;
  std::string delivery_id;
  std::string elder_id;
  uint64_t index = 0;
  Hash score{};
};

struct Sample {
  std::string plan_id;
  std::string month;
  uint64_t checkpoint_size = 0;
  Hash checkpoint_root{};
  uint64_t universe = 0;
  std::vector<SampledDelivery> deliveries;
};

// `state` may be newer than the plan; it is read as of the plan's checkpoint
// size. NotFound for an unknown plan.
Result<Sample> DrawSample(const StateReader& state, uint64_t state_size, const std::string& plan_id);

// The same, for a plan not yet recorded.
Result<Sample> DrawSampleFor(const StateReader& state, uint64_t state_size, const std::string& plan_id,
                             const std::vector<std::string>& enterprises, const std::string& month, uint32_t size,
                             uint32_t permille, uint64_t checkpoint_size, const Hash& checkpoint_root);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_SPOTCHECK_H_
