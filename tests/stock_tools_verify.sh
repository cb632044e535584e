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
"$cli" checkpoint --ledger L >/dev/null 2>&1   # at size 5
# Eight more entries, so that the tree has a few shapes of subtree.
for role in bureau subdistrict community assessor enterprise inspector finance evaluator; do
  echo "{\"type\":\"key_registered\",\"actor_id\":\"$role-9\",\"role\":\"$role\",\"public_key\":\"$(k "$role")\"}"
done | "$cli" submit --ledger L --actor clerk-1 --key clerk.pem --submission-id day-2024-03-02 - >/dev/null 2>&1
"$cli" checkpoint --ledger L >/dev/null 2>&1   # at size 13
"$cli" export --ledger L --out X >/dev/null 2>&1
# Proofs to check below: every leaf at sizes 5 and 13, every older size to 13.
for i in $(seq 0 12); do "$cli" prove inclusion --ledger L --index "$i" --size 13 --json >"inc-$i-13.json"; done
for i in $(seq 0 4); do "$cli" prove inclusion --ledger L --index "$i" --size 5 --json >"inc-$i-5.json"; done
for m in $(seq 1 12); do "$cli" prove consistency --ledger L --from "$m" --to 13 --json >"con-$m-13.json"; done

# --- From here on: stock tools only ---
capnp convert binary:json --short "$schema" Entry <X/entries.bin >entries.json
[ "$(wc -l <entries.json)" -eq 13 ] || { echo "expected 13 entries"; exit 1; }

jq -c 'select(.submissionId == "day-2024-03-01")' entries.json | jq -s -c 'sort_by(.position)[]' >sub.json
[ "$(wc -l <sub.json)" -eq 3 ] || { echo "expected a 3-event submission"; exit 1; }

# The writer's key, from the operator's key_registered entry for clerk-1.
pub=$(jq -r 'select(.body.keyRegistered.actorId == "clerk-1") | .body.keyRegistered.publicKey' entries.json)
# A raw Ed25519 public key (base64) as PEM: the SubjectPublicKeyInfo prefix, then the key.
pem_of() {  # BASE64 OUT
  { printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; printf '%s' "$1" | base64 -d; } >"$2.der"
  openssl pkey -pubin -inform DER -in "$2.der" -out "$2"
}
pem_of "$pub" pub.pem

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

# Leaf hash = SHA-256(0x00 || canonical(Entry)), of every entry; entry 3's
# compared with entries.jsonl.
hex_sha() { openssl dgst -sha256 -binary | xxd -p -c 64; }
leaves=()
while read -r e; do
  leaves+=("$(printf '%s' "$e" | capnp convert json:canonical "$schema" Entry | { printf '\x00'; cat; } | hex_sha)")
done <entries.json
want=$(sed -n 4p X/entries.jsonl | jq -r .leaf_hash)
[ "${leaves[3]}" = "$want" ] || { echo "leaf hash ${leaves[3]} != $want"; exit 1; }
echo "leaf hash of entry 3 reproduced with capnp and openssl: ${leaves[3]}"

# --- The Merkle tree, the checkpoints and the proofs (docs/FORMATS.md) ---
node() { { printf '\x01'; printf '%s%s' "$1" "$2" | xxd -r -p; } | hex_sha; }  # RFC 9162 2.1.1
mth() {  # mth FROM N: the root of the N leaves from FROM (N >= 1)
  local from=$1 n=$2 k=1
  if [ "$n" -eq 1 ]; then echo "${leaves[$from]}"; return; fi
  while [ $((k * 2)) -lt "$n" ]; do k=$((k * 2)); done
  node "$(mth "$from" "$k")" "$(mth $((from + k)) $((n - k)))"
}

# The operator's key, from the genesis entry, as a PEM public key.
opk=$(jq -r 'select(.index == "0") | .body.genesis.operatorKey' entries.json)
pem_of "$opk" op-pub.pem

# A checkpoint: C2SP tlog-checkpoint body, signed note. Prints its root (hex).
check_note() {  # FILE SIZE
  local f=$1 size=$2 origin line name blob id
  origin=$(sed -n 1p "$f")
  [ "$(sed -n 2p "$f")" = "$size" ] || { echo "$f: not at size $size" >&2; return 1; }
  [ -z "$(sed -n 4p "$f")" ] || { echo "$f: no blank line after the body" >&2; return 1; }
  head -n 3 "$f" >body.txt
  line=$(sed -n 5p "$f")
  [ "${line%% *}" = "—" ] || { echo "$f: the signature line does not start with an em dash" >&2; return 1; }
  name=$(printf '%s' "$line" | cut -d' ' -f2)
  [ "$name" = "$origin" ] || { echo "$f: signed by '$name', not the origin" >&2; return 1; }
  blob=$(printf '%s' "$line" | cut -d' ' -f3 | base64 -d | xxd -p -c 256)
  # key id = SHA-256(name || 0x0A || 0x01 || public key), first 4 bytes
  id=$({ printf '%s\n\x01' "$name"; printf '%s' "$opk" | base64 -d; } | openssl dgst -sha256 -binary | head -c 4 | xxd -p)
  [ "${blob:0:8}" = "$id" ] || { echo "$f: key id ${blob:0:8}, the operator's is $id" >&2; return 1; }
  printf '%s' "${blob:8}" | xxd -r -p >note.sig
  openssl pkeyutl -verify -pubin -inkey op-pub.pem -rawin -in body.txt -sigfile note.sig >/dev/null || return 1
  sed -n 3p "$f" | base64 -d | xxd -p -c 64
}
root5=$(check_note X/checkpoints/00000000000000000005.note 5)
root13=$(check_note X/checkpoints/00000000000000000013.note 13)
[ "$root5" = "$(mth 0 5)" ] || { echo "checkpoint 5's root $root5 is not the tree's $(mth 0 5)"; exit 1; }
[ "$root13" = "$(mth 0 13)" ] || { echo "checkpoint 13's root $root13 is not the tree's $(mth 0 13)"; exit 1; }
echo "checkpoints at sizes 5 and 13: signatures verified with openssl, roots recomputed from the entries"
# A note whose text was altered must not verify.
sed 's/^13$/14/' X/checkpoints/00000000000000000013.note >altered.note
if check_note altered.note 14 >/dev/null 2>&1; then echo "an altered checkpoint verified"; exit 1; fi

# RFC 9162 2.1.3.2. Succeeds when FILE's proof leads from its leaf hash to its root.
verify_inclusion() {  # FILE
  local f=$1 fn sn r p
  fn=$(jq -r .index "$f"); sn=$(($(jq -r .size "$f") - 1)); r=$(jq -r .leaf_hash "$f")
  for p in $(jq -r '.proof[]' "$f"); do
    [ "$sn" -gt 0 ] || return 1
    if [ $((fn & 1)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
      r=$(node "$p" "$r")
      while [ $((fn & 1)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn >> 1)); sn=$((sn >> 1)); done
    else
      r=$(node "$r" "$p")
    fi
    fn=$((fn >> 1)); sn=$((sn >> 1))
  done
  [ "$sn" -eq 0 ] && [ "$r" = "$(jq -r .root "$f")" ]
}
# RFC 9162 2.1.4.2. Succeeds when FILE's proof leads to both of its roots.
verify_consistency() {  # FILE
  local f=$1 m n fn sn fr sr c
  local -a path
  m=$(jq -r .from "$f"); n=$(jq -r .to "$f")
  mapfile -t path < <(jq -r '.proof[]' "$f")
  [ "$m" -gt 0 ] && [ "$m" -lt "$n" ] && [ "${#path[@]}" -gt 0 ] || return 1
  if [ $((m & (m - 1))) -eq 0 ]; then path=("$(jq -r .old_root "$f")" "${path[@]}"); fi
  fn=$((m - 1)); sn=$((n - 1))
  while [ $((fn & 1)) -eq 1 ]; do fn=$((fn >> 1)); sn=$((sn >> 1)); done
  fr=${path[0]}; sr=${path[0]}
  for c in "${path[@]:1}"; do
    [ "$sn" -gt 0 ] || return 1
    if [ $((fn & 1)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
      fr=$(node "$c" "$fr"); sr=$(node "$c" "$sr")
      while [ $((fn & 1)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn >> 1)); sn=$((sn >> 1)); done
    else
      sr=$(node "$sr" "$c")
    fi
    fn=$((fn >> 1)); sn=$((sn >> 1))
  done
  [ "$sn" -eq 0 ] && [ "$fr" = "$(jq -r .old_root "$f")" ] && [ "$sr" = "$(jq -r .new_root "$f")" ]
}

for size in 5 13; do
  root=$root5; [ "$size" = 13 ] && root=$root13
  for i in $(seq 0 $((size - 1))); do
    f=inc-$i-$size.json
    [ "$(jq -r .leaf_hash "$f")" = "${leaves[$i]}" ] || { echo "$f: not entry $i's leaf hash"; exit 1; }
    [ "$(jq -r .root "$f")" = "$root" ] || { echo "$f: not the checkpoint's root"; exit 1; }
    verify_inclusion "$f" || { echo "$f: the inclusion proof does not verify"; exit 1; }
  done
done
for m in $(seq 1 12); do
  f=con-$m-13.json
  [ "$(jq -r .old_root "$f")" = "$(mth 0 "$m")" ] || { echo "$f: old root is not the first $m entries' root"; exit 1; }
  [ "$(jq -r .new_root "$f")" = "$root13" ] || { echo "$f: new root is not the checkpoint's"; exit 1; }
  verify_consistency "$f" || { echo "$f: the consistency proof does not verify"; exit 1; }
done
echo "18 inclusion and 12 consistency proofs verified against the signed checkpoints (RFC 9162, in shell)"
# A proof with one hash altered (its first hex digit changed) must fail.
flip='(if .[0:1] == "0" then "1" else "0" end) + .[1:]'
jq -c ".proof[0] |= ($flip)" inc-6-13.json >bad-inc.json
if verify_inclusion bad-inc.json; then echo "an altered inclusion proof verified"; exit 1; fi
jq -c ".proof[-1] |= ($flip)" con-5-13.json >bad-con.json
if verify_consistency bad-con.json; then echo "an altered consistency proof verified"; exit 1; fi
