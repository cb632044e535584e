// The programme's projection: one pure fold of every event into the records
// of projections/keys.h, and the write-side rules that go with it.
//
// Rules (a violation rejects the submission, and the ledger stays unchanged):
//   - malformed: ids that are not ids, check-out before check-in, scores out
//     of range, an assessment level that is not GB/T 42195's for its scores;
//   - refers to nothing: an unknown elder, enterprise, application, contract,
//     delivery, plan or complaint; a service code or programme no policy knows;
//   - out of order: a subdistrict review before the community review, a
//     decision before both reviews, a second review, reinstating an
//     enterprise that is not suspended, anything after its exit;
//   - not yours: an enterprise delivering, voiding or accepting for another.
// Claims are recorded, not judged: a delivery to an ineligible elder, by an
// enterprise without a contract, or too short, is accepted here and refused
// for billing by projections/billing.h with its reason.
#ifndef ELDERCARE_PROJECTIONS_FOLD_H_
#define ELDERCARE_PROJECTIONS_FOLD_H_

#include "ledger/ledger.h"

namespace eldercare::proj {

class ProgrammeProjector : public Projector {
 public:
  Status Apply(const EventContext& ctx, schema::EventBody::Reader body, StateStore& state) const override;
  std::string_view version() const override { return "programme/10"; }
};

// The month ("YYYY-MM") a delivery belongs to: its check-in date in China
// Standard Time.
std::string DeliveryMonth(int64_t check_in_micros);

// The key of a delivery record (keys.h: dl month elderId BE64(checkIn)
// enterpriseId deliveryId).
std::string DeliveryKey(std::string_view month, std::string_view elder, int64_t check_in, std::string_view enterprise,
                        std::string_view delivery_id);

}  // namespace eldercare::proj

#endif  // ELDERCARE_PROJECTIONS_FOLD_H_
