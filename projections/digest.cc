#include "projections/digest.h"

#include "projections/keys.h"

namespace eldercare::proj {
namespace {

namespace S = schema;

void PutLen(Sha256Hasher& h, size_t n) {
  uint8_t b[4] = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
  h.Update(ByteSpan(b, 4));
}

}  // namespace

capnp::StructSchema PrimarySchema(std::string_view prefix) {
  if (prefix == "el") return capnp::Schema::from<S::ElderRecord>();
  if (prefix == "ap") return capnp::Schema::from<S::ApplicationRecord>();
  if (prefix == "en") return capnp::Schema::from<S::EnterpriseRecord>();
  if (prefix == "dl") return capnp::Schema::from<S::DeliveryRecord>();
  if (prefix == "po") return capnp::Schema::from<S::PolicyRecord>();
  if (prefix == "fc") return capnp::Schema::from<S::CallRecord>();
  if (prefix == "co") return capnp::Schema::from<S::ComplaintRecord>();
  if (prefix == "sp") return capnp::Schema::from<S::PlanRecord>();
  if (prefix == "sr") return capnp::Schema::from<S::SpotResultRecord>();
  if (prefix == "bc") return capnp::Schema::from<S::CloseRecord>();
  if (prefix == "fa") return capnp::Schema::from<S::AllocationRecord>();
  if (prefix == "fp") return capnp::Schema::from<S::PaymentRecord>();
  if (prefix == "rv") return capnp::Schema::from<S::RevealRecord>();
  if (prefix == "fr") return capnp::Schema::from<S::RecoveryRecord>();
  return capnp::Schema::from<S::EvaluationRecord>();
}

ProjectionDigest ComputeDigest(const Snapshot& snap) {
  ProjectionDigest out;
  Sha256Hasher h;
  for (std::string_view prefix : keys::kPrimary) {
    capnp::StructSchema schema = PrimarySchema(prefix);
    snap.state().Scan(keys::Prefix({prefix}), [&](std::string_view k, std::string_view v) {
      std::optional<std::string> bytes;
      if (snap.current()) {
        bytes = std::string(v);
      } else {
        bytes = AsOf(v, schema, snap.size());
      }
      if (!bytes) return true;
      PutLen(h, k.size());
      h.Update(k);
      PutLen(h, bytes->size());
      h.Update(*bytes);
      ++out.records;
      return true;
    });
  }
  out.digest = h.Finish();
  return out;
}

}  // namespace eldercare::proj
