#!/usr/bin/env bash
# Verifies one exported submission's Ed25519 signature and one entry's Merkle
# leaf hash using nothing this project wrote: the schema, the stock `capnp`
# tool, `openssl`, `jq` and coreutils -- exactly the recipe of docs/FORMATS.md.
#
# usage: stock_tools_verify.sh AUDIT_CLI SCHEMA_DIR
set -euo pipefail
cli=$1
schema=$2/ledger.capnp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# --- Build a ledger with our tool (the part the evaluator does not trust) ---
"$cli" keygen --out op.pem >/dev/null 2>&1
"$cli" keygen --out clerk.pem >clerk.pub 2>/dev/null
"$cli" init --ledger L --origin stock.example/ledger --operator-key op.pem >/dev/null 2>&1
"$cli" keys register --ledger L --operator-key op.pem --actor clerk-1 --role operator \
  --public-key clerk.pub >/dev/null 2>&1
k() { "$cli" keygen --out "$1.pem" 2>/dev/null; }
printf '%s\n' \
  "{\"type\":\"key_registered\",\"actor_id\":\"ent-a\",\"role\":\"enterprise\",\"public_key\":\"$(k a)\",\"display_name\":\"安心养老服务中心\"}" \
  "{\"type\":\"key_registered\",\"actor_id\":\"ent-b\",\"role\":\"enterprise\",\"public_key\":\"$(k b)\"}" \
  "{\"type\":\"key_registered\",\"actor_id\":\"com-1\",\"role\":\"community\",\"public_key\":\"$(k c)\",\"valid_from\":\"2024-01-01T00:00:00+08:00\"}" \
  | "$cli" submit --ledger L --actor clerk-1 --key clerk.pem --submission-id day-2024-03-01 - >/dev/null 2>&1
"$cli" export --ledger L --out X >/dev/null 2>&1

# --- From here on: stock tools only ---
capnp convert binary:json --short "$schema" Entry <X/entries.bin >entries.json
[ "$(wc -l <entries.json)" -eq 5 ] || { echo "expected 5 entries"; exit 1; }

jq -c 'select(.submissionId == "day-2024-03-01")' entries.json | jq -s -c 'sort_by(.position)[]' >sub.json
[ "$(wc -l <sub.json)" -eq 3 ] || { echo "expected a 3-event submission"; exit 1; }

# The writer's key, from the operator's key_registered entry for clerk-1.
pub=$(jq -r 'select(.body.keyRegistered.actorId == "clerk-1") | .body.keyRegistered.publicKey' entries.json)
{ printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; printf '%s' "$pub" | base64 -d; } >pub.der
openssl pkey -pubin -inform DER -in pub.der -out pub.pem

# body_digest[i] = SHA-256(canonical(EventBody_i))
digests=()
while read -r entry; do
  d=$(printf '%s' "$entry" | jq -c .body | capnp convert json:canonical "$schema" EventBody \
      | openssl dgst -sha256 -binary | xxd -p -c 64)
  digests+=("0x\"$d\"")
done <sub.json
list=$(IFS=,; echo "${digests[*]}")
writer=$(head -1 sub.json | jq -r .writer)
sid=$(head -1 sub.json | jq -r .submissionId)

sign_message() {  # $1 = SignedHeader in capnp text form
  printf '%s' "$1" | capnp convert text:canonical "$schema" SignedHeader | openssl dgst -sha256 -binary >hd.bin
  { printf 'eldercare-ledger:submission:v1\0'; cat hd.bin; } >msg.bin
}
head -1 sub.json | jq -r .signature | base64 -d >sig.bin
[ "$(wc -c <sig.bin)" -eq 64 ] || { echo "signature is not 64 bytes"; exit 1; }

sign_message "(writer = \"$writer\", submissionId = \"$sid\", bodyDigests = [$list])"
openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin
echo "signature of $sid verified with openssl"

# A signature over anything else must fail: drop the last event.
short=$(IFS=,; echo "${digests[*]:0:2}")
sign_message "(writer = \"$writer\", submissionId = \"$sid\", bodyDigests = [$short])"
if openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in msg.bin -sigfile sig.bin >/dev/null 2>&1; then
  echo "a truncated submission verified: the check proves nothing"; exit 1
fi

# Leaf hash = SHA-256(0x00 || canonical(Entry)), compared with entries.jsonl.
line=$(sed -n 4p entries.json)
leaf=$(printf '%s' "$line" | capnp convert json:canonical "$schema" Entry \
       | { printf '\x00'; cat; } | openssl dgst -sha256 -binary | xxd -p -c 64)
want=$(sed -n 4p X/entries.jsonl | jq -r .leaf_hash)
[ "$leaf" = "$want" ] || { echo "leaf hash $leaf != $want"; exit 1; }
echo "leaf hash of entry 3 reproduced with capnp and openssl: $leaf"
