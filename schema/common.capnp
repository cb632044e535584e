@0xa1b0382cbe0b620f;
# Shared vocabulary of the ledger schema: roles and the annotations that drive
# JSON conversion, validation and write permissions. See docs/FORMATS.md.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("eldercare::schema");

enum Role {
  # Who an actor is; each actor has exactly one role for its whole life.
  # Ordinals are stable forever: new roles are appended, never renumbered.
  operator @0;     # ledger owner (the bureau's IT): genesis, keys, checkpoints
  bureau @1;       # district civil-affairs bureau (区民政局)
  subdistrict @2;  # sub-district / township office (街道/乡镇)
  community @3;    # community / village committee (社区/村)
  assessor @4;     # third-party ability assessor
  enterprise @5;   # contracted service enterprise (服务企业)
  inspector @6;    # civil-affairs inspector
  finance @7;      # city / district finance
  evaluator @8;    # third-party evaluator
}

# --- Annotations -------------------------------------------------------------
# They are part of the schema so that an outside reader learns the rules from
# the same file the code is generated from.

annotation writers @0xc7fec3da0711c098 (field) :List(Role);
# On a member of EventBody's union: the roles allowed to sign that event type.

annotation required @0x925be0a5479e835a (field) :Void;
# The JSON form must carry this field (Cap'n Proto itself has no "required").

annotation timestamp @0x9f4ba2e2fe68f3b3 (field) :Void;
# Int64 microseconds since 1970-01-01T00:00:00Z; JSON: RFC 3339 text
# ("2024-03-01T08:30:00+08:00" or "...Z").

annotation date @0xe860d915c21514f6 (field) :Void;
# Int32 days since 1970-01-01 (a calendar date, no time zone); JSON: "YYYY-MM-DD".

annotation size @0xd6e5c3a2b1f0e9d8 (field) :UInt32;
# Data field: exact length in bytes.

annotation maxLength @0xbd2c6a1e4f3b5a70 (field) :UInt32;
# Text or Data field: maximum length in bytes.

annotation hex @0xf3a1c9e2d4b60718 (field) :Void;
# Data field rendered as lower-case hex in JSON (default for Data is base64).
