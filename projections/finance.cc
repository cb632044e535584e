#include "projections/finance.h"

#include <cstdlib>
#include <set>

#include "ledger/bytes.h"
#include "ledger/time_util.h"
#include "projections/billing.h"
#include "projections/keys.h"

namespace eldercare::proj {
namespace {
namespace S = schema;

// The row of one enterprise, or nullopt when it has nothing to reconcile.
Result<std::optional<Reconciliation>> ReconcileOne(const Snapshot& snap, const std::string& ent, const std::string& name,
                                                   const std::string& month) {
  Reconciliation r;
  r.enterprise = ent;
  r.name = name;
  r.month = month;
  auto close = snap.Load<S::CloseRecord>(keys::Join({"bc", ent, month}));
  if (close) {
    r.closed = true;
    r.close_index = close->get().getIndex();
    r.statement_fen = close->get().getClose().getTotalFen();
    auto d = close->get().getClose().getStatementDigest();
    r.statement_digest = HexEncode(ByteSpan(d.begin(), d.size()));
    r.evidence.push_back(r.close_index);
    // The close froze a statement and the log size it was computed at:
    // replayed to that size, the statement must be the same, or the
    // amount finance books is not the one the log supports.
    Snapshot then(snap.state(), snap.state_size(), close->get().getClose().getAtSize());
    auto frozen = ComputeStatement(then, ent, month);
    if (!frozen.ok() || HexEncode((*frozen)->digest()) != r.statement_digest ||
        (*frozen)->get().getPayableFen() != r.statement_fen) {
      r.flags.push_back("close_does_not_reproduce");
    }
  }
  snap.Scan<S::AllocationRecord>(keys::Prefix({"fa", month, ent}), [&](std::string_view, const Record<S::AllocationRecord>& a) {
    (a.get().getAllocation().getSource() == S::FundSource::CITY ? r.city_fen : r.district_fen) +=
        a.get().getAllocation().getAmountFen();
    r.evidence.push_back(a.get().getIndex());
    return true;
  });
  snap.Scan<S::PaymentRecord>(keys::Prefix({"fp", month, ent}), [&](std::string_view, const Record<S::PaymentRecord>& p) {
    r.paid_fen += p.get().getPayment().getAmountFen();
    r.evidence.push_back(p.get().getIndex());
    return true;
  });
  snap.Scan<S::RecoveryRecord>(keys::Prefix({"fr", month, ent}), [&](std::string_view, const Record<S::RecoveryRecord>& p) {
    r.recovered_fen += p.get().getRecovery().getAmountFen();
    r.evidence.push_back(p.get().getIndex());
    return true;
  });
  if (!r.closed) {
    ELDERCARE_ASSIGN_OR_RETURN(auto st, ComputeStatement(snap, ent, month));
    // Nothing to reconcile: no deliveries, no money, and no adjustment of
    // an earlier month waiting (an enterprise suspended or exited still
    // owes what a backdated decision took back).
    if (st->get().getDeliveries() == 0 && st->get().getAdjustments().size() == 0 && r.paid_fen == 0 &&
        r.recovered_fen == 0 && r.city_fen == 0 && r.district_fen == 0) {
      return std::optional<Reconciliation>();
    }
    r.statement_fen = st->get().getPayableFen();
    r.statement_digest = HexEncode(st->digest());
  }
  r.difference_fen = r.paid_fen - r.recovered_fen - r.statement_fen;
  if (r.closed && r.paid_fen == 0 && r.statement_fen > 0) r.flags.push_back("unpaid_closed_statement");
  // Adjustments took back more than the month billed: the enterprise owes
  // the programme what it has not yet paid back.
  if (r.closed && r.statement_fen < 0 && r.difference_fen > 0) r.flags.push_back("recovery_due");
  if (!r.closed && r.paid_fen > 0) r.flags.push_back("paid_without_closed_statement");
  if (!r.closed && r.recovered_fen > 0) r.flags.push_back("recovery_without_closed_statement");
  if (r.closed && r.paid_fen > 0 && r.difference_fen > 0) r.flags.push_back("overpaid");
  if (r.closed && r.difference_fen < 0 && r.recovered_fen > 0) r.flags.push_back("over_recovered");
  if (r.closed && r.difference_fen < 0 && r.recovered_fen == 0 && r.paid_fen > 0) r.flags.push_back("underpaid");
  if ((r.city_fen || r.district_fen) && std::llabs(r.city_fen - r.district_fen) > 1) r.flags.push_back("allocation_not_1_to_1");
  if (r.closed && (r.city_fen || r.district_fen) && r.city_fen + r.district_fen != r.statement_fen) {
    r.flags.push_back("allocation_differs_from_statement");
  }
  // Disbursed (net of what came back) beyond what the city and the
  // district allocated: money no budget line covers.
  if (r.paid_fen > 0 && r.paid_fen - r.recovered_fen > r.city_fen + r.district_fen) {
    r.flags.push_back("paid_beyond_allocation");
  }
  return std::optional<Reconciliation>(std::move(r));
}

}  // namespace

Result<std::vector<Reconciliation>> Reconcile(const Snapshot& snap, const std::string& month, const ForEachIndex& each) {
  if (!ParseMonth(month).ok()) return Status::InvalidArgument("month '" + month + "' is not YYYY-MM");
  std::vector<std::pair<std::string, std::string>> enterprises;
  snap.Scan<S::EnterpriseRecord>(keys::Prefix({"en"}), [&](std::string_view k, const Record<S::EnterpriseRecord>& r) {
    enterprises.emplace_back(std::string(k.substr(3)), Str(r.get().getName()));
    return true;
  });
  ELDERCARE_ASSIGN_OR_RETURN(auto rows, MapEach<std::optional<Reconciliation>>(each, enterprises.size(), [&](size_t i) {
                               return ReconcileOne(snap, enterprises[i].first, enterprises[i].second, month);
                             }));
  std::vector<Reconciliation> out;
  for (auto& row : rows) {
    if (row) out.push_back(std::move(*row));
  }
  return out;
}

}  // namespace eldercare::proj
