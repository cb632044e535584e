@0xddd2697b474adb73;
# The ledger's envelope and event bodies.
#
# Canonical bytes (capnp::canonicalize, single segment, no segment table) of
# these structs are what is signed and hashed; docs/FORMATS.md gives the exact
# bytes. Evolution rules: ordinals are never reused or renumbered; new event
# types are appended to EventBody's union; new fields are appended to structs.

using Cxx = import "/capnp/c++.capnp";
using Json = import "/capnp/compat/json.capnp";
using Common = import "common.capnp";
using P = import "programme.capnp";
$Cxx.namespace("eldercare::schema");

using Role = Common.Role;

struct Genesis {
  # Entry 0 of every ledger, signed by the operator key it names.
  origin @0 :Text $Common.required $Common.maxLength(200);
  # The checkpoint origin line, e.g. "dawukou.mca.example/eldercare".
  operatorId @1 :Text $Common.required $Common.maxLength(128);
  operatorKey @2 :Data $Common.required $Common.size(32) $Json.base64;
  # Ed25519 public key, 32 raw bytes.
}

struct KeyRegistered {
  actorId @0 :Text $Common.required $Common.maxLength(128);
  role @1 :Role $Common.required;
  publicKey @2 :Data $Common.required $Common.size(32) $Json.base64;
  validFrom @3 :Int64 $Common.timestamp;
  # Earliest recording time at which the key may sign; 0 = from registration.
  displayName @4 :Text $Common.maxLength(200);
  # Human-readable name of the actor (an enterprise's registered name).
}

struct KeyRevoked {
  actorId @0 :Text $Common.required $Common.maxLength(128);
  publicKey @1 :Data $Common.required $Common.size(32) $Json.base64;
  reason @2 :Text $Common.maxLength(1000);
}

struct EventBody {
  # One event. Each member names the roles allowed to sign it.
  union {
    genesis @0 :Genesis $Common.writers([operator]);
    keyRegistered @1 :KeyRegistered $Common.writers([operator]);
    keyRevoked @2 :KeyRevoked $Common.writers([operator]);

    policyPublished @3 :P.PolicyPublished $Common.writers([bureau]);
    enterpriseRegistered @4 :P.EnterpriseRegistered $Common.writers([bureau]);
    contractSigned @5 :P.ContractSigned $Common.writers([bureau, subdistrict]);
    contractEnded @6 :P.ContractEnded $Common.writers([bureau, subdistrict]);
    elderRegistered @7 :P.ElderRegistered $Common.writers([community, bureau]);
    circumstanceRecorded @8 :P.CircumstanceRecorded $Common.writers([community, bureau]);
    assessmentRecorded @9 :P.AssessmentRecorded $Common.writers([assessor]);
    applicationSubmitted @10 :P.ApplicationSubmitted $Common.writers([enterprise, community]);
    communityReview @11 :P.Review $Common.writers([community]);
    subdistrictReview @12 :P.Review $Common.writers([subdistrict]);
    applicationDecided @13 :P.ApplicationDecided $Common.writers([bureau]);
    entitlementEnded @14 :P.EntitlementEnded $Common.writers([bureau]);
    serviceAssigned @15 :P.ServiceAssigned $Common.writers([enterprise, bureau]);
    serviceDelivered @16 :P.ServiceDelivered $Common.writers([enterprise]);
    deliveryVoided @17 :P.DeliveryVoided $Common.writers([enterprise]);
    followUpCall @18 :P.FollowUpCall $Common.writers([inspector]);
    complaintFiled @19 :P.ComplaintFiled $Common.writers([inspector]);
    complaintClosed @20 :P.ComplaintClosed $Common.writers([inspector, bureau]);
    spotCheckPlanned @21 :P.SpotCheckPlanned $Common.writers([bureau]);
    spotCheckResult @22 :P.SpotCheckResult $Common.writers([bureau, inspector]);
    enterpriseSuspended @23 :P.EnterpriseStatusChanged $Common.writers([bureau]);
    enterpriseReinstated @24 :P.EnterpriseStatusChanged $Common.writers([bureau]);
    enterpriseExited @25 :P.EnterpriseStatusChanged $Common.writers([bureau]);
    billingPeriodClosed @26 :P.BillingPeriodClosed $Common.writers([bureau]);
    fundsAllocated @27 :P.FundsAllocated $Common.writers([finance]);
    disbursementPaid @28 :P.DisbursementPaid $Common.writers([finance]);
    evaluationFiled @29 :P.EvaluationFiled $Common.writers([evaluator]);
    elderDataErased @30 :P.ElderDataErased $Common.writers([operator]);
    personalDataRevealed @31 :P.PersonalDataRevealed $Common.writers([bureau, enterprise]);
    recoveryReceived @32 :P.RecoveryReceived $Common.writers([finance]);
  }
}

struct Submission {
  # What a writer sends: one or many events under one signature.
  writer @0 :Text;
  submissionId @1 :Text;
  events @2 :List(EventBody);
  signature @3 :Data $Json.base64;
  # Ed25519 over "eldercare-ledger:submission:v1" || 0x00 || SHA-256(canonical(SignedHeader)).
}

struct SignedHeader {
  # Never stored: rebuilt by every verifier from a submission's entries.
  writer @0 :Text;
  submissionId @1 :Text;
  bodyDigests @2 :List(Data) $Json.hex;
  # SHA-256(canonical(EventBody)) of each event, in submission order.
}

struct Entry {
  # One stored event. Leaf data of the Merkle log = canonical(Entry).
  index @0 :UInt64;          # position in the log, from 0
  recordedAt @1 :Int64;      # microseconds since the epoch, the ledger's clock
  writer @2 :Text;           # actor id of the submission's signer
  submissionId @3 :Text;     # the submission this event came in
  position @4 :UInt32;       # this event's place within its submission
  count @5 :UInt32;          # number of events in the submission
  signature @6 :Data $Json.base64;  # the submission's signature
  body @7 :EventBody;
}
