@0xe5515e3a6b91e7e2;
# Records of the ledger's derived stores in RocksDB (not signed, not exported).
# Everything here can be rebuilt from the entries; see docs/FORMATS.md,
# "RocksDB layout".

using Cxx = import "/capnp/c++.capnp";
using Common = import "common.capnp";
$Cxx.namespace("eldercare::schema");

struct SubmissionRecord {
  # Column family "submissions", key: writer || 0x00 || submissionId.
  firstIndex @0 :UInt64;
  count @1 :UInt32;
  headerDigest @2 :Data;   # SHA-256(canonical(SignedHeader)): what "the same content" means
}

struct KeyRecord {
  publicKey @0 :Data;
  registeredAt @1 :UInt64;  # log index of the keyRegistered (or genesis) entry
  validFrom @2 :Int64;      # microseconds; 0 = from registration
  revokedAt @3 :UInt64;     # log index of the keyRevoked entry; 0 = not revoked
}

struct ActorRecord {
  # Column family "actors", key: actor id.
  actorId @0 :Text;
  role @1 :Common.Role;
  displayName @2 :Text;
  keys @3 :List(KeyRecord);
}
