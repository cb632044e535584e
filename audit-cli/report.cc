#include "audit-cli/report.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "audit-cli/context.h"
#include "ledger/bytes.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/time_util.h"
#include "projections/anomalies.h"
#include "projections/billing.h"
#include "projections/supervision.h"

namespace eldercare::cli {
namespace {

namespace S = schema;

std::string Esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

const char* kColors[] = {"#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#1565c0", "#00838f", "#ad1457",
                         "#4e342e", "#9e9d24", "#283593", "#00695c", "#d84315", "#5d4037", "#37474f", "#f9a825", "#6d4c41"};

// Stacked bars: one per month, billable at the bottom, refusals by reason above.
std::string MonthChart(const std::vector<std::pair<std::string, std::map<std::string, uint32_t>>>& months) {
  uint32_t max = 1;
  std::vector<std::string> reasons;
  for (const auto& [m, counts] : months) {
    uint32_t total = 0;
    for (const auto& [r, n] : counts) {
      total += n;
      if (std::find(reasons.begin(), reasons.end(), r) == reasons.end()) reasons.push_back(r);
    }
    max = std::max(max, total);
  }
  std::sort(reasons.begin(), reasons.end(), [](const std::string& a, const std::string& b) {
    return (a == "billable") != (b == "billable") ? a == "billable" : a < b;
  });
  std::ostringstream svg;
  int w = 90 * static_cast<int>(months.size()) + 60, h = 260;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h + 40 << "' role='img' aria-label='billed and refused deliveries by month'>";
  for (size_t i = 0; i < months.size(); ++i) {
    double y = h;
    for (size_t r = 0; r < reasons.size(); ++r) {
      auto it = months[i].second.find(reasons[r]);
      if (it == months[i].second.end() || it->second == 0) continue;
      double bh = static_cast<double>(it->second) / max * (h - 20);
      y -= bh;
      svg << "<rect x='" << 40 + 90 * i << "' y='" << y << "' width='60' height='" << bh << "' fill='"
          << kColors[r % 16] << "'><title>" << Esc(reasons[r]) << ": " << it->second << "</title></rect>";
    }
    svg << "<text x='" << 70 + 90 * i << "' y='" << h + 16 << "' font-size='12' text-anchor='middle'>"
        << Esc(months[i].first) << "</text>";
  }
  svg << "</svg><p class='legend'>";
  for (size_t r = 0; r < reasons.size(); ++r) {
    svg << "<span><i style='background:" << kColors[r % 16] << "'></i>" << Esc(reasons[r]) << "</span> ";
  }
  svg << "</p>";
  return svg.str();
}

std::string BarChart(const std::string& label, const std::map<std::string, uint32_t>& counts) {
  uint32_t max = 1;
  for (const auto& [k, n] : counts) max = std::max(max, n);
  std::ostringstream svg;
  int rows = std::max<int>(1, static_cast<int>(counts.size()));
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='520' height='" << 28 * rows + 10 << "' role='img' aria-label='"
      << Esc(label) << "'>";
  int i = 0;
  for (const auto& [k, n] : counts) {
    double bw = 300.0 * n / max;
    svg << "<text x='0' y='" << 28 * i + 18 << "' font-size='13'>" << Esc(k) << "</text><rect x='170' y='" << 28 * i + 4
        << "' width='" << bw << "' height='18' fill='" << kColors[i % 16] << "'/><text x='" << 176 + bw << "' y='"
        << 28 * i + 18 << "' font-size='13'>" << n << "</text>";
    ++i;
  }
  svg << "</svg>";
  return svg.str();
}

}  // namespace

Result<std::string> RenderReport(const Ledger& ledger, const std::string& enterprise, const std::string& month) {
  ELDERCARE_ASSIGN_OR_RETURN(int32_t m, ParseMonth(month));
  ELDERCARE_ASSIGN_OR_RETURN(auto view, ledger.Projections());
  proj::Snapshot snap(*view.state, view.size, view.size);
  ELDERCARE_ASSIGN_OR_RETURN(auto st, proj::ComputeStatement(snap, enterprise, month));
  ELDERCARE_ASSIGN_OR_RETURN(int32_t log_day, LogDay(ledger, view.size));
  ELDERCARE_ASSIGN_OR_RETURN(proj::Supervision sup, proj::ComputeSupervision(snap, enterprise, month, log_day));
  ELDERCARE_ASSIGN_OR_RETURN(auto findings, proj::DetectAnomalies(snap, month, enterprise));
  ELDERCARE_ASSIGN_OR_RETURN(auto recs, proj::ExitRecommendations(snap, month, log_day));
  // The checkpoint the proofs are against: the latest signed one.
  ELDERCARE_ASSIGN_OR_RETURN(auto notes, ledger.Checkpoints());
  if (notes.empty()) return Status::FailedPrecondition("the ledger has no checkpoint to prove against");
  auto parsed = note::Parse(notes.back());
  if (!parsed.ok()) return parsed.status();
  ELDERCARE_ASSIGN_OR_RETURN(checkpoint::Checkpoint cp, checkpoint::ParseBody(parsed->text));

  std::vector<std::pair<std::string, std::map<std::string, uint32_t>>> history;
  for (int32_t back = 5; back >= 0; --back) {
    std::string mm = FormatMonth(m - back);
    ELDERCARE_ASSIGN_OR_RETURN(auto s, proj::ComputeBilled(snap, enterprise, mm));
    std::map<std::string, uint32_t> counts;
    counts["billable"] = s->get().getBillable();
    for (auto rc : s->get().getRefusals()) counts[proj::RefusalName(rc.getRefusal())] = rc.getCount();
    history.emplace_back(mm, counts);
  }
  std::map<std::string, uint32_t> calls = {{"confirmed", sup.confirmed}, {"denied", sup.denied}, {"unreachable", sup.unreachable}};
  auto r = st->get();
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>Inspection report " << Esc(enterprise) << " "
    << Esc(month) << "</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
    << "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}"
    << "th{background:#eee}.num{text-align:right}.legend span{margin-right:1em;font-size:13px}"
    << ".legend i{display:inline-block;width:12px;height:12px;margin-right:4px}code{font-size:11px;word-break:break-all}"
    << "h2{border-bottom:2px solid #2e7d32;padding-bottom:.2em}</style></head><body>";
  h << "<h1>Inspection report: " << Esc(sup.name) << " (<span id='enterprise'>" << Esc(enterprise) << "</span>), <span id='month'>"
    << Esc(month) << "</span></h1>";
  h << "<p>Ledger <b>" << Esc(ledger.origin()) << "</b> at log size <span id='size'>" << view.size
    << "</span>. Proofs are against the signed checkpoint at size <span id='checkpoint-size'>" << cp.size
    << "</span>, root <code id='checkpoint-root'>" << HexEncode(cp.root) << "</code>.</p>";
  h << "<h2>Statement</h2><table><tr><th>deliveries</th><th>billable</th><th>claimed (yuan)</th><th>billed (yuan)</th>"
    << "<th>adjustments (yuan)</th><th>payable (yuan)</th><th>city</th><th>district</th></tr><tr>"
    << "<td class='num' id='deliveries'>" << r.getDeliveries() << "</td><td class='num' id='billable'>" << r.getBillable()
    << "</td><td class='num' id='claimed'>" << Yuan(r.getClaimedFen()) << "</td><td class='num' id='billed'>"
    << Yuan(r.getBilledFen()) << "</td><td class='num' id='adjustments'>" << Yuan(r.getAdjustmentsFen())
    << "</td><td class='num' id='payable'>" << Yuan(r.getPayableFen()) << "</td><td class='num'>" << Yuan(r.getCityFen())
    << "</td><td class='num'>" << Yuan(r.getDistrictFen()) << "</td></tr></table>";
  h << "<p>Statement digest <code id='digest'>" << HexEncode(st->digest())
    << "</code> (reproduce: <code>audit-cli billing --ledger DIR --month " << Esc(month) << " --enterprise " << Esc(enterprise)
    << " --at-size " << view.size << "</code>).</p>";
  h << "<table><tr><th>refused because</th><th>deliveries</th><th>claimed (yuan)</th></tr>";
  for (auto rc : r.getRefusals()) {
    h << "<tr><td>" << proj::RefusalName(rc.getRefusal()) << "</td><td class='num refused-" << proj::RefusalName(rc.getRefusal())
      << "'>" << rc.getCount() << "</td><td class='num'>" << Yuan(rc.getClaimedFen()) << "</td></tr>";
  }
  h << "</table>";
  h << "<h2>Billed and refused, month over month</h2>" << MonthChart(history);
  h << "<h2>Spot-checks and follow-up calls</h2><h3>Spot-check outcomes</h3>" << BarChart("spot-check outcomes", sup.spot_checks);
  h << "<h3>Follow-up calls</h3>" << BarChart("follow-up outcomes", calls) << "<p>Confirmation rate <span id='confirmation'>"
    << sup.confirmation_permille / 10.0 << "%</span>, satisfaction <span id='satisfaction'>"
    << static_cast<double>(static_cast<int>(sup.satisfaction * 10 + 0.5)) / 10 << "</span> / 5.</p>";
  h << "<h2>Supervision</h2><table><tr><th>status</th><td id='status'>" << Esc(sup.status)
    << (sup.status_since ? " since " + FormatDate(sup.status_since) : "") << "</td></tr><tr><th>contracts in force</th><td>";
  for (const auto& c : sup.contracts) h << Esc(c) << " ";
  h << "</td></tr><tr><th>complaints</th><td>" << sup.complaints_filed << " filed, " << sup.complaints_open << " open, "
    << sup.complaints_upheld << " upheld</td></tr><tr><th>assigned elders</th><td>" << sup.assigned_elders << " ("
    << sup.unserved_elders.size() << " owed service and without it this month"
    << (sup.month_over ? "" : " so far: the month is not over at this log size") << ")</td></tr>";
  if (!sup.to_reassign.empty()) h << "<tr><th>to reassign</th><td>" << sup.to_reassign.size() << " elders</td></tr>";
  h << "</table>";
  h << "<h2>Exit recommendations</h2><ul>";
  size_t shown = 0;
  for (const auto& rec : recs) {
    if (rec.enterprise != enterprise) continue;
    ++shown;
    h << "<li class='recommendation'><b>" << Esc(rec.threshold) << "</b>: " << Esc(rec.detail) << " (limit " << rec.limit
      << "); evidence at indexes";
    for (size_t i = 0; i < std::min<size_t>(rec.evidence.size(), 30); ++i) h << " " << rec.evidence[i];
    h << "</li>";
  }
  if (shown == 0) h << "<li>none: no supervision threshold crossed</li>";
  if (!sup.month_over) h << "<li>(the month is not over at this log size: elders not served yet are not judged)</li>";
  h << "</ul>";
  h << "<h2>Anomalies (<span id='anomalies'>" << findings.size() << "</span>)</h2>"
    << "<p>Each event is proved included in the checkpoint above: leaf hash, then the RFC 9162 audit path "
    << "(check with <code>audit-cli verify-proof</code>).</p><table><tr><th>finding</th><th>elder</th><th>detail</th><th>events</th></tr>";
  for (const auto& f : findings) {
    h << "<tr class='finding'><td>" << Esc(f.code) << "</td><td>" << Esc(f.elder) << "</td><td>" << Esc(f.detail) << "</td><td>";
    for (uint64_t idx : f.evidence) {
      if (idx >= cp.size) {
        h << "#" << idx << " (after the checkpoint) ";
        continue;
      }
      auto leaf = ledger.LeafHash(idx);
      auto proof = ledger.InclusionProof(idx, cp.size);
      if (!leaf.ok() || !proof.ok()) continue;
      // The data attributes carry the same proof for tools: index, leaf hash, audit path.
      std::string path;
      for (const Hash& p : *proof) path += (path.empty() ? "" : ",") + HexEncode(p);
      h << "<details class='proof' data-index='" << idx << "' data-leaf='" << HexEncode(*leaf) << "' data-path='" << path
        << "'><summary>#" << idx << "</summary><code>leaf " << HexEncode(*leaf) << "<br>";
      for (const Hash& p : *proof) h << HexEncode(p) << "<br>";
      h << "</code></details>";
    }
    h << "</td></tr>";
  }
  h << "</table><p><small>Generated by audit-cli report from log size " << view.size
    << ". Every number on this page is recomputed by anyone holding the log.</small></p></body></html>\n";
  return h.str();
}

}  // namespace eldercare::cli
