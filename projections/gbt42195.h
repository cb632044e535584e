// GB/T 42195-2022 (老年人能力评估规范): the ability level from the scores.
//
// Four dimensions, total 0-90: self-care 0-32, basic mobility 0-15, mental
// state 0-28, perception and social participation 0-15. Levels by total:
// intact 90, mild 66-89, moderate 46-65, severe 30-45, complete 0-29. Coma
// goes straight to complete; diagnosed dementia or another psychiatric
// disorder, or two or more care-risk events in 30 days, raise the level by
// one (at most to complete).
#ifndef ELDERCARE_PROJECTIONS_GBT42195_H_
#define ELDERCARE_PROJECTIONS_GBT42195_H_

#include "ledger/status.h"
#include "schema/programme.capnp.h"

namespace eldercare::proj {

struct AbilityScores {
  int self_care = 0, mobility = 0, mental = 0, perception = 0;
  bool coma = false, dementia = false;
  int risk_events_30d = 0;
  int total() const { return self_care + mobility + mental + perception; }
};

// InvalidArgument naming the dimension when a score is out of its range.
Status CheckScores(const AbilityScores& s);
schema::AbilityLevel LevelFor(const AbilityScores& s);
const char* LevelName(schema::AbilityLevel level);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_GBT42195_H_
