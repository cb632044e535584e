#!/usr/bin/env bash
# The district generator and the detectors, end to end:
#  - the same seed gives a byte-identical ledger (same root) and ground truth;
#    another seed gives another district;
#  - the generated ledger and its derived stores verify, and its export (JSON lines too);
#  - every pattern is injected and found with recall and precision >= 0.95;
#  - every monthly close in the log is reproduced by `billing --at-size`;
#  - spot-check samples reproduce on the exported copy.
#
# usage: demo_district.sh AUDIT_CLI
set -euo pipefail
cli=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
args=(--elders 3000 --months 4 --fraud-rate 0.03)

"$cli" demo --ledger "$work/a/ledger" "${args[@]}" --seed 11 >"$work/a.out"
"$cli" demo --ledger "$work/b/ledger" "${args[@]}" --seed 11 >/dev/null
"$cli" demo --ledger "$work/c/ledger" "${args[@]}" --seed 12 >/dev/null
root() { "$cli" status --ledger "$1" | awk '$1 == "root:" {print $2}'; }
ra=$(root "$work/a/ledger") rb=$(root "$work/b/ledger") rc=$(root "$work/c/ledger")
[[ $ra == "$rb" ]] || fail "the same seed gave two different ledgers ($ra, $rb)"
cmp -s "$work/a/ground-truth.jsonl" "$work/b/ground-truth.jsonl" || fail "the same seed gave two different ground truths"
[[ $ra != "$rc" ]] || fail "another seed gave the same ledger"
echo "ok  seed 11 twice: root $ra; seed 12: root $rc"

ledger=$work/a/ledger
"$cli" verify --ledger "$ledger" --derived --scratch "$work" >"$work/verify.out" ||
  { cat "$work/verify.out"; fail "the demo ledger, or its derived stores, do not verify"; }
"$cli" export --ledger "$ledger" --out "$work/export" >/dev/null
# --jsonl: every line of entries.jsonl (rendered in parallel batches) is its entry's, in order.
"$cli" verify --export "$work/export" --jsonl >/dev/null || fail "the demo export does not verify"
echo "ok  ledger (with its derived stores) and export (with its JSON lines) verify"

"$cli" anomalies --ledger "$ledger" --all --score "$work/a/ground-truth.jsonl" --json >"$work/score.json"
n=$(jq length "$work/score.json")
((n >= 12)) || fail "only $n patterns scored"
while IFS=$'\t' read -r pattern injected recall precision; do
  ((injected > 0)) || fail "$pattern: nothing injected, so nothing measured"
  awk -v r="$recall" -v p="$precision" 'BEGIN { exit !(r >= 0.95 && p >= 0.95) }' ||
    fail "$pattern: recall $recall, precision $precision (injected $injected)"
  printf 'ok  %-24s injected %4d  recall %.3f  precision %.3f\n' "$pattern" "$injected" "$recall" "$precision"
done < <(jq -r '.[] | [.pattern, .injected, .recall, .precision] | @tsv' "$work/score.json")

# Every close reproduces: the digest frozen in the log equals billing at that size.
"$cli" log --ledger "$ledger" --json --limit 10000000 | jq -c 'select(.event.type == "billing_period_closed") | .event' >"$work/closes.jsonl"
closes=$(wc -l <"$work/closes.jsonl")
((closes >= 9)) || fail "only $closes closes in the demo log"
while read -r ent month size digest total; do
  got=$("$cli" billing --ledger "$ledger" --month "$month" --enterprise "$ent" --at-size "$size" --json | jq -r .digest)
  [[ $got == "$digest" ]] || fail "close of $ent $month at size $size: frozen $digest, recomputed $got"
  # Asked today, the statement names its close (what finance books) beside the recomputation.
  "$cli" billing --ledger "$ledger" --month "$month" --enterprise "$ent" --json |
    jq -e --arg d "$digest" --argjson s "$size" --argjson t "$total" \
      '.month_over and .close.statement_digest == $d and .close.at_size == $s and .close.total_fen == $t' >/dev/null ||
    fail "billing $ent $month does not name its close (at size $size, $total fen)"
done < <(jq -r '[.enterprise_id, .month, .at_size, .statement_digest, .total_fen] | @tsv' "$work/closes.jsonl")
echo "ok  all $closes closes reproduce their frozen digests, and billing names each"

# The exit mechanism: the enterprise writing ghost visits is suspended from
# the first visit its spot-checks found not delivered, a day of a month
# already closed and paid; the statement of the month it was decided in
# takes that back, closes below zero, finance sees money to recover, and
# then records it coming back.
line=$(grep '^exit mechanism:' "$work/a.out") || fail "the exit mechanism caught no enterprise"
read -r sent sfrom smonth < <(sed -n 's/^exit mechanism: \([^ ]*\) suspended from \([0-9-]*\) .*its statement of \([0-9-]*\) takes back.*/\1 \2 \3/p' <<<"$line")
[[ -n ${smonth:-} && ${sfrom:0:7} < $smonth ]] || fail "the suspension was not backdated into a closed month: $line"
"$cli" billing --ledger "$ledger" --month "$smonth" --enterprise "$sent" --json >"$work/clawback.json"
# The month the suspension reaches back into: closed on what was known then;
# recomputed today it pays less, and billing says finance books the close.
"$cli" billing --ledger "$ledger" --month "${sfrom:0:7}" --enterprise "$sent" |
  grep -Eq "^  closed on [0-9-]+ \(index [0-9]+\), computed at log size [0-9]+: payable [0-9.]+ yuan; recomputed at this size [0-9.-]+ yuan \(-[0-9.]+\): finance books the close" ||
  fail "billing $sent ${sfrom:0:7} does not show its close beside the lower recomputation"
taken=$(jq '[.adjustments[] | select(.month == "'"${sfrom:0:7}"'") | .now_fen - .accounted_fen] | add // 0' "$work/clawback.json")
((taken < 0)) || fail "$sent's statement of $smonth takes nothing back for ${sfrom:0:7} ($taken fen)"
payable=$(jq .payable_fen "$work/clawback.json")
"$cli" reconcile --ledger "$ledger" --month "$smonth" --json | jq -c 'select(.enterprise == "'"$sent"'")' >"$work/recovery.json"
[[ $(jq -r .closed "$work/recovery.json") == true ]] || fail "$sent's $smonth, holding the adjustment, was not closed"
[[ $(jq .statement_fen "$work/recovery.json") == "$payable" ]] || fail "reconciliation of $sent $smonth differs from its statement"
if ((payable < 0)); then
  # Finance records the money coming back: before that record the month is
  # money to recover, after it settled.
  rline=$(grep '^recovery:' "$work/a.out") || fail "$sent owes $((-payable)) fen and paid nothing back"
  rat=$(sed -n 's/^recovery: .*(recorded at log index \([0-9]*\))$/\1/p' <<<"$rline")
  [[ -n $rat ]] || fail "no log index in: $rline"
  [[ $("$cli" log --ledger "$ledger" --from "$rat" --limit 1 --json | jq -r .event.type) == recovery_received ]] ||
    fail "log index $rat is not the recovery"
  "$cli" reconcile --ledger "$ledger" --month "$smonth" --at-size "$rat" --json |
    jq -c 'select(.enterprise == "'"$sent"'")' >"$work/before-recovery.json"
  jq -e '.recovered_fen == 0 and (.flags | index("recovery_due"))' "$work/before-recovery.json" >/dev/null ||
    fail "$sent owed $((-payable)) fen before it paid back, not flagged: $(cat "$work/before-recovery.json")"
  jq -e '.recovered_fen == '"$((-payable))"' and .difference_fen == 0 and .flags == []' "$work/recovery.json" >/dev/null ||
    fail "$sent paid back $((-payable)) fen, reconciliation does not show it settled: $(cat "$work/recovery.json")"
fi
# The text's total line sums the rows finance books.
"$cli" reconcile --ledger "$ledger" --month "$smonth" --json >"$work/month.jsonl"
for col in "4 statement_fen" "7 paid_fen" "8 recovered_fen" "9 difference_fen"; do
  read -r field key <<<"$col"
  got=$("$cli" reconcile --ledger "$ledger" --month "$smonth" | awk -v f="$field" '$1 == "total" {print $f}')
  want=$(jq -s "map(.$key) | add" "$work/month.jsonl" | awk '{printf "%.2f", $1 / 100}')
  [[ $got == "$want" ]] || fail "reconcile $smonth: total $key $got, rows sum to $want"
done
# Its latest status, even when it changed after its last delivery.
exited=$(sed -n 's/.*, exited from \([0-9-]*\)$/\1/p' <<<"$line")
want="suspended since $sfrom"
[[ -z $exited ]] || want="exited since $exited"
"$cli" enterprise --ledger "$ledger" --id "$sent" | grep -Eq "^status at the end of [0-9-]+: $want\$" ||
  fail "enterprise $sent does not show its latest status ($want)"
if [[ -n $exited ]]; then
  # Its contract ends with it: no contract on the last day of the month it left.
  "$cli" supervision --ledger "$ledger" --enterprise "$sent" --month "${exited:0:7}" --json |
    jq -e '.status == "exited" and .contracts == []' >/dev/null || fail "$sent exited on $exited but still holds a contract"
fi
# Once suspended, its assigned elders need another enterprise: supervision
# names every one of them (DOMAIN.md, Exit).
"$cli" supervision --ledger "$ledger" --enterprise "$sent" --month "$smonth" --json >"$work/sup.json"
jq -e '.status != "active" and .assigned_elders > 0 and (.to_reassign | length) == .assigned_elders' "$work/sup.json" >/dev/null ||
  fail "$sent in $smonth: its elders to reassign are not listed: $(jq -c '{status, assigned_elders, to_reassign}' "$work/sup.json")"
"$cli" supervision --ledger "$ledger" --enterprise "$sent" --month "$smonth" |
  grep -Eq "^  to reassign \((suspended|exited)\): $(jq .assigned_elders "$work/sup.json") elders: " ||
  fail "$sent in $smonth: the text does not show the elders to reassign"
echo "ok  $sent suspended from $sfrom, decided in $smonth: $((-taken)) fen taken back, payable $payable fen$( ((payable < 0)) && echo ", paid back before the end")"

# Spot-check samples: the same on the original and on a copy restored from the export.
"$cli" restore --export "$work/export" --ledger "$work/copy" >/dev/null
plans=$("$cli" log --ledger "$ledger" --json --limit 10000000 | jq -r 'select(.event.type == "spot_check_planned") | .event.plan_id')
[[ -n $plans ]] || fail "the demo planned no spot-checks"
for plan in $plans; do
  diff <("$cli" spotcheck sample --ledger "$ledger" --plan "$plan" --json) \
    <("$cli" spotcheck sample --ledger "$work/copy" --plan "$plan" --json) >/dev/null ||
    fail "plan $plan draws different samples on the copy"
done
echo "ok  $(echo "$plans" | wc -w) spot-check plans draw the same samples on the restored copy"

# The names inspectors' scripts call (issue 3): enterprise, digest, rebuild, --program.
ent=$(jq -r '.enterprise_id' "$work/closes.jsonl" | head -1)
"$cli" enterprise --ledger "$ledger" --id "$ent" --json >"$work/ent.json"
months=$(jq '.months | length' "$work/ent.json")
((months >= 4)) || fail "enterprise $ent shows $months months"
# Its months are computed on every core: in month order, each that month's supervision record.
jq -e '[.months[].month] | . == sort' "$work/ent.json" >/dev/null || fail "enterprise $ent shows its months out of order"
for ((i = 0; i < months; i++)); do
  m=$(jq -r ".months[$i].month" "$work/ent.json")
  want=$("$cli" supervision --ledger "$ledger" --enterprise "$ent" --month "$m" --json | jq -c 'del(.at_size)')
  got=$(jq -c ".months[$i]" "$work/ent.json")
  [[ $got == "$want" ]] || fail "enterprise --id $ent month $m (row $i) differs from supervision: $got vs $want"
done
"$cli" enterprise --ledger "$ledger" --id "$ent" | grep -q "refusals by reason:" || fail "enterprise table lacks refusals"
"$cli" enterprise --ledger "$ledger" --id ent-nobody 2>/dev/null && fail "an unknown enterprise was shown"
size=$(jq -r '.at_size' "$work/closes.jsonl" | head -1)
d1=$("$cli" digest --ledger "$ledger" --at-size "$size" | tail -1)
d2=$("$cli" projection digest --ledger "$ledger" --at-size "$size" --json | jq -r .digest)
[[ $d1 =~ ^[0-9a-f]{64}$ && $d1 == "$d2" ]] || fail "digest's last line '$d1' is not the projection digest '$d2'"
[[ $d1 != "$("$cli" digest --ledger "$ledger" | tail -1)" ]] || fail "the digest at size $size equals today's"
"$cli" rebuild --ledger "$work/copy" | grep -q "(unchanged)" || fail "rebuild changed the restored copy's projections"
[[ $("$cli" digest --ledger "$work/copy" | tail -1) == "$("$cli" digest --ledger "$ledger" | tail -1)" ]] ||
  fail "the restored, rebuilt copy has another digest"
elder=$(jq -r 'select(.pattern == "double_benefit") | .elder' "$work/a/ground-truth.jsonl" | head -1)
diff <("$cli" eligibility --ledger "$ledger" --elder "$elder" --on 2024-02-15 --program home_visit) \
  <("$cli" eligibility --ledger "$ledger" --elder "$elder" --on 2024-02-15 --programme home_visit) >/dev/null ||
  fail "--program and --programme differ"
echo "ok  enterprise ($months months), digest, rebuild and --program"
