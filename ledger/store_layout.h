// The RocksDB key layout of a ledger (docs/FORMATS.md, "RocksDB layout").
//
//   column family   key                                     value
//   default         "meta/<name>"                           meta value (below)
//   entries         BE64(index)                             canonical(Entry) = leaf data
//   merkle          BE64(last leaf covered) || u8(level)    32-byte subtree hash
//   submissions     writer || 0x00 || submissionId          SubmissionRecord (flat capnp)
//   actors          actor id                                ActorRecord (flat capnp)
//   checkpoints     BE64(tree size)                         signed note text
//   projections     projection keys (projections/keys.h)    projection records
//
// Merkle keys sort in the order the nodes complete: appending leaf i writes
// (i, 0), then (i, 1)... for each parent it completes, so both appends and a
// verifier's sequential scan walk the column family front to back.
//
// entries and merkle are the log; everything else is derived from it and can
// be rebuilt, except checkpoints (signed by the operator, checked by verify).
#ifndef ELDERCARE_LEDGER_STORE_LAYOUT_H_
#define ELDERCARE_LEDGER_STORE_LAYOUT_H_

#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/merkle.h"

namespace eldercare::layout {

constexpr char kEntriesCf[] = "entries";
constexpr char kMerkleCf[] = "merkle";
constexpr char kSubmissionsCf[] = "submissions";
constexpr char kActorsCf[] = "actors";
constexpr char kCheckpointsCf[] = "checkpoints";
constexpr char kProjectionsCf[] = "projections";

constexpr std::string_view kFormatVersion = "eldercare-ledger/2";
// Format 1 keyed Merkle nodes without the band byte; opening such a ledger
// for writing upgrades it in place (see Ledger::Open).
constexpr std::string_view kFormatVersion1 = "eldercare-ledger/1";
constexpr char kMetaFormat[] = "meta/format";              // kFormatVersion
constexpr char kMetaSize[] = "meta/size";                  // BE64 number of entries
constexpr char kMetaOrigin[] = "meta/origin";              // checkpoint origin
constexpr char kMetaOperatorId[] = "meta/operator_id";
constexpr char kMetaOperatorKeyPath[] = "meta/operator_key_path";  // convenience for `checkpoint`
constexpr char kMetaLastRecorded[] = "meta/last_recorded_at";     // BE64 microseconds
constexpr char kMetaProjectionSize[] = "meta/projection_size";     // BE64: entries folded in
constexpr char kMetaProjectionVersion[] = "meta/projection_version";

inline std::string EntryKey(uint64_t index) { return BigEndianKey(index); }

// Merkle nodes in bands of 8 levels: u8(level / 8) ‖ BE64(last leaf) ‖
// u8(level). Within a band, keys sort in completion order (appending leaf i
// completes (i, 0), (i, 1), …), so appends and a verifier's scan of each band
// walk it front to back. The bands keep an inclusion proof's nodes close
// together: its 8 lowest levels lie within 256 leaves of the leaf, the next 8
// within 65,536 leaves in a band 256 times smaller, and so on, so a proof
// reads a few blocks instead of one per level.
constexpr uint32_t kMerkleBandLevels = 8;
constexpr uint32_t kMerkleBands = 64 / kMerkleBandLevels;
inline char MerkleBand(uint32_t level) { return static_cast<char>(level / kMerkleBandLevels); }
inline std::string MerkleKey(merkle::NodeId id) {
  std::string k(1, MerkleBand(id.level));
  k += BigEndianKey(id.last_leaf());
  k.push_back(static_cast<char>(id.level));
  return k;
}
// The last leaf a (format 2) Merkle key covers.
inline uint64_t MerkleKeyLastLeaf(std::string_view key) {
  return key.size() == 10 ? GetBigEndian64(reinterpret_cast<const uint8_t*>(key.data() + 1)) : 0;
}

inline std::string SubmissionKey(std::string_view writer, std::string_view submission_id) {
  std::string k(writer);
  k.push_back('\0');
  k.append(submission_id);
  return k;
}

inline std::string CheckpointKey(uint64_t size) { return BigEndianKey(size); }

}  // namespace eldercare::layout

#endif  // ELDERCARE_LEDGER_STORE_LAYOUT_H_
