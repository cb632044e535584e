#include "projections/gbt42195.h"

#include <string>

namespace eldercare::proj {

Status CheckScores(const AbilityScores& s) {
  struct Dim {
    const char* name;
    int value, max;
  } dims[] = {{"self_care", s.self_care, 32}, {"mobility", s.mobility, 15}, {"mental", s.mental, 28},
              {"perception", s.perception, 15}};
  for (const Dim& d : dims) {
    if (d.value < 0 || d.value > d.max) {
      return Status::InvalidArgument("field '" + std::string(d.name) + "': score " + std::to_string(d.value) +
                                     " is outside 0-" + std::to_string(d.max));
    }
  }
  return Status::Ok();
}

schema::AbilityLevel LevelFor(const AbilityScores& s) {
  using L = schema::AbilityLevel;
  if (s.coma) return L::COMPLETE;
  int t = s.total();
  int level = t >= 90 ? 0 : t >= 66 ? 1 : t >= 46 ? 2 : t >= 30 ? 3 : 4;
  if (s.dementia || s.risk_events_30d >= 2) level = std::min(level + 1, 4);
  return static_cast<L>(level);
}

const char* LevelName(schema::AbilityLevel level) {
  switch (level) {
    case schema::AbilityLevel::INTACT: return "intact";
    case schema::AbilityLevel::MILD: return "mild";
    case schema::AbilityLevel::MODERATE: return "moderate";
    case schema::AbilityLevel::SEVERE: return "severe";
    case schema::AbilityLevel::COMPLETE: return "complete";
  }
  return "unknown";
}

}  // namespace eldercare::proj
