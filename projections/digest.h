// The projection digest: one hash of the whole projection state as of a log
// size, so that two evaluators compare their results in one line.
//
//   digest = SHA-256( for each primary record in key order, existing at size:
//                       u32be(len key) || key || u32be(len bytes) || bytes )
// where bytes = canonical(AsOf(record, size)). Lookup keys are left out:
// they are derived from the primary records.
#ifndef ELDERCARE_PROJECTIONS_DIGEST_H_
#define ELDERCARE_PROJECTIONS_DIGEST_H_

#include "ledger/crypto.h"
#include "projections/snapshot.h"

namespace eldercare::proj {

struct ProjectionDigest {
  Hash digest{};
  uint64_t records = 0;
};

ProjectionDigest ComputeDigest(const Snapshot& snap);

// The record type stored under a primary prefix ("el" -> ElderRecord).
capnp::StructSchema PrimarySchema(std::string_view prefix);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_DIGEST_H_
