#!/usr/bin/env bash
# Renders `audit-cli report` in headless Chromium and checks that the numbers a
# browser shows are the ledger's own: the statement against `billing --json`,
# the anomaly count against `anomalies --json`, the refusal counts by reason,
# and every inclusion proof on the page against the checkpoint's root.
#
# usage: report_chromium.sh AUDIT_CLI
set -euo pipefail
cli=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

browser=$(command -v chromium || command -v chromium-browser || true)
[[ -n $browser ]] || fail "chromium is not installed (scripts/test installs it)"

"$cli" demo --ledger "$work/d/ledger" --elders 500 --months 3 --fraud-rate 0.05 --seed 7 >/dev/null
ledger=$work/d/ledger
month=2024-03

# The enterprise with the most anomalies this month, so the page has proofs to check.
"$cli" anomalies --ledger "$ledger" --month "$month" --json >"$work/all.jsonl"
ent=$(jq -r .enterprise "$work/all.jsonl" | sort | uniq -c | sort -rn | awk 'NR==1{print $2}')
[[ -n $ent ]] || fail "the demo injected no anomalies for $month"

"$cli" report --ledger "$ledger" --enterprise "$ent" --month "$month" --out "$work/report.html" >/dev/null
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$work/profile" \
  --dump-dom "file://$work/report.html" >"$work/dom.html" 2>"$work/chromium.log" ||
  { cat "$work/chromium.log" >&2; fail "chromium could not render the report"; }
grep -q '<svg' "$work/dom.html" || fail "the rendered page has no SVG chart"

# Text of the element with this id, as the browser parsed it.
text_of() { grep -o "id=\"$1\"[^>]*>[^<]*<" "$work/dom.html" | head -1 | sed 's/.*>\([^<]*\)<$/\1/'; }
yuan() { printf '%d.%02d' $(($1 / 100)) $(($1 % 100)); }

"$cli" billing --ledger "$ledger" --month "$month" --enterprise "$ent" --json >"$work/billing.json"
b() { jq -r "$1" "$work/billing.json"; }
check() {  # name shown expected
  [[ "$2" == "$3" ]] || fail "$1: the page shows '$2', the ledger says '$3'"
  echo "ok  $1 = $2"
}
check enterprise "$(text_of enterprise)" "$ent"
check deliveries "$(text_of deliveries)" "$(b .deliveries)"
check billable "$(text_of billable)" "$(b .billable)"
check claimed "$(text_of claimed)" "$(yuan "$(b .claimed_fen)")"
check billed "$(text_of billed)" "$(yuan "$(b .billed_fen)")"
check payable "$(text_of payable)" "$(yuan "$(b .payable_fen)")"
check digest "$(text_of digest)" "$(b .digest)"
check "log size" "$(text_of size)" "$(b .at_size)"
while IFS=$'\t' read -r reason count; do
  shown=$(grep -o "refused-$reason\"[^>]*>[^<]*<" "$work/dom.html" | sed 's/.*>\([^<]*\)<$/\1/')
  check "refused $reason" "$shown" "$count"
done < <(jq -r '.refusals[] | [.refusal, .count] | @tsv' "$work/billing.json")

expected=$(jq -r "select(.enterprise == \"$ent\") | .code" "$work/all.jsonl" | wc -l)
check anomalies "$(text_of anomalies)" "$expected"
rows=$(grep -o 'class="finding"' "$work/dom.html" | wc -l)
check "anomaly rows" "$rows" "$expected"

# Every proof on the page reaches the page's checkpoint root, and that root is the ledger's.
size=$(text_of checkpoint-size)
root=$(text_of checkpoint-root)
check "checkpoint root" "$root" "$("$cli" prove inclusion --ledger "$ledger" --index 0 --size "$size" --json | jq -r .root)"
n=0
while read -r idx leaf path; do
  jq -n --argjson i "$idx" --arg l "$leaf" --arg p "$path" --arg r "$root" --argjson s "$size" \
    '{index: $i, size: $s, leaf_hash: $l, root: $r, proof: ($p | split(","))}' >"$work/proof.json"
  "$cli" verify-proof --proof "$work/proof.json" >/dev/null || fail "the proof for #$idx on the page does not verify"
  # A changed leaf must not verify.
  jq '.leaf_hash |= (if startswith("0") then "1" else "0" end) + .[1:]' "$work/proof.json" >"$work/bad.json"
  if "$cli" verify-proof --proof "$work/bad.json" >/dev/null 2>&1; then fail "a tampered proof for #$idx verified"; fi
  n=$((n + 1))
done < <(grep -o 'data-index="[0-9]*" data-leaf="[0-9a-f]*" data-path="[0-9a-f,]*"' "$work/dom.html" |
  sed 's/data-index="\([0-9]*\)" data-leaf="\([0-9a-f]*\)" data-path="\([0-9a-f,]*\)"/\1 \2 \3/')
((n > 0)) || fail "the page carries no inclusion proofs"
echo "ok  $n inclusion proofs on the page verify against root $root"
