// A synthetic, deterministic workload for the benchmarks: the default policy,
// enterprises with contracts, approved elders, and service deliveries built
// directly in Cap'n Proto (no JSON on the hot path), signed per enterprise-day
// (batch-signed) or one signature per delivery (single-signed).
#ifndef ELDERCARE_BENCHMARKS_WORKLOAD_H_
#define ELDERCARE_BENCHMARKS_WORKLOAD_H_

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ledger/client.h"
#include "ledger/ledger.h"

namespace eldercare::bench {

class Workload {
 public:
  // `per_day`: deliveries a day across all enterprises (the history gets
  // longer as the log grows; a month's size does not change).
  Workload(size_t enterprises, size_t elders, uint32_t seed, uint64_t per_day);
  static constexpr uint64_t kWorkersPerEnterprise = 80;

  // Operator, bureau, community, subdistrict, assessor and enterprise keys;
  // the default policy; enterprises, contracts, elders, assessments, approvals.
  Status Setup(Ledger& ledger, const PrivateKey& op);

  // Next submission of `events` deliveries by one enterprise (one signature),
  // or `events` submissions of one delivery each. The builders own the bytes.
  std::unique_ptr<SubmissionBuilder> Batch(size_t events);
  std::vector<std::unique_ptr<SubmissionBuilder>> Singles(size_t events);
  schema::Submission::Reader Signed(SubmissionBuilder& b);
  // The bureau's closes of every month whose deliveries have all been
  // built (each enterprise's month, at log size `at_size`), or null when no
  // month has ended since the last call. `digest(enterprise, month)` gives
  // the hex digest of the statement each close freezes.
  Result<std::unique_ptr<SubmissionBuilder>> Closes(
      uint64_t at_size, const std::function<Result<std::string>(const std::string&, const std::string&)>& digest);
  // The latest month closed by Closes ("" before any).
  const std::string& last_closed() const { return last_closed_; }

  const std::vector<std::string>& elders() const { return elders_; }
  const std::vector<std::string>& enterprises() const { return enterprises_; }

 private:
  void FillDelivery(schema::EventBody::Builder e, size_t enterprise);

  std::mt19937_64 rng_;
  std::vector<std::string> enterprises_;
  std::vector<PrivateKey> enterprise_keys_;
  PrivateKey bureau_;
  std::string last_closed_;
  std::vector<std::string> elders_;
  size_t next_enterprise_ = 0;
  uint64_t per_day_;
  uint64_t deliveries_ = 0;
  std::string submission_prefix_;
  uint64_t submissions_ = 0;
};

}  // namespace eldercare::bench

#endif  // ELDERCARE_BENCHMARKS_WORKLOAD_H_
