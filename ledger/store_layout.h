// The RocksDB key layout of a ledger (docs/FORMATS.md, "RocksDB layout").
//
//   column family   key                                     value
//   default         "meta/<name>"                           meta value (below)
//   entries         BE64(index)                             canonical(Entry) = leaf data
//   merkle          u8(band) || BE64(tile index)            a tile: 32-byte subtree hashes (below)
//   submissions     writer || 0x00 || submissionId          SubmissionRecord (flat capnp)
//   actors          actor id                                ActorRecord (flat capnp)
//   checkpoints     BE64(tree size)                         signed note text
//   projections     projection keys (projections/keys.h)    projection records
//   deliveries      projection keys "dl ..." (delivery records)  projection records
//   visits          projection keys "dw ..." (workers' visits)   projection lookups
//   lookups         projection keys "di ...", "ev ..."           projection lookups
//
// Merkle nodes are stored in tiles (below): appending a leaf appends the
// nodes it completes to the end of its tiles' values (a RocksDB merge), so
// appends and a verifier's sequential scan walk the family front to back.
//
// entries and merkle are the log; everything else is derived from it and can
// be rebuilt, except checkpoints (signed by the operator, checked by verify).
#ifndef ELDERCARE_LEDGER_STORE_LAYOUT_H_
#define ELDERCARE_LEDGER_STORE_LAYOUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
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
constexpr char kDeliveriesCf[] = "deliveries";

constexpr char kVisitsCf[] = "visits";
constexpr char kLookupsCf[] = "lookups";

// The projection state is one keyspace kept in four families, by the key's
// first part (up to the first 0x00): "dl" (delivery records) in "deliveries",
// "dw" (a worker's visits) in "visits" -- both keyed month first
// (projections/keys.h) -- "di" and "ev" (a delivery's id and its evidence
// hash: point look-ups, keyed at random) in "lookups", and every other key in
// "projections". The point is what a memtable flush holds: in one family,
// each new level-0 file spanned the whole keyspace (new delivery records
// beside lookups keyed by random ids), so every compaction into level 1
// rewrote all of it: 2,293 bytes written per event at 10M events (755 at
// 1M), compaction 315 s of a 378 s ingest. With dl and dw in one family a
// level-0 file still spanned from the newest "dl" month to the newest "dw"
// month, and so every older "dw" month between them (1,473 bytes per event
// at 10M, 597 at 1M). In a family each, a new file holds only the newest
// months, and older months are mostly moved down rather than rewritten (the
// files holding the current month still are): 1,042 bytes per event at 10M,
// 496 at 1M. What still grows is the random-keyed lookups: every level of a
// sorted index of random keys rewrites them once more. "lookups" uses
// universal compaction (fewer rewrites than leveled for random keys; the
// fold and the queries only read it by key, never by a prefix scan): 540 ->
// 490 bytes per event at 10M; and since projector programme/9 its values
// are 8 and 22 bytes instead of ~53 (fold.cc, OnDelivered): 266 at 10M;
// merging its sorted runs only once 8 have gathered, 162 (ledger.cc,
// benchmarks/RESULTS.md).
enum class ProjectionFamily : uint8_t { kRecords = 0, kDeliveries = 1, kVisits = 2, kLookups = 3 };
constexpr size_t kProjectionFamilies = 4;
constexpr const char* kProjectionFamilyNames[kProjectionFamilies] = {kProjectionsCf, kDeliveriesCf, kVisitsCf,
                                                                     kLookupsCf};

// The family of a key, and of every key that starts with a prefix of at
// least three bytes (the part read here).
inline ProjectionFamily ProjectionFamilyOf(std::string_view key) {
  if (key.size() >= 3 && key[2] == '\0') {
    if (key[0] == 'd' && key[1] == 'l') return ProjectionFamily::kDeliveries;
    if (key[0] == 'd' && key[1] == 'w') return ProjectionFamily::kVisits;
    if ((key[0] == 'd' && key[1] == 'i') || (key[0] == 'e' && key[1] == 'v')) return ProjectionFamily::kLookups;
  }
  return ProjectionFamily::kRecords;
}

constexpr std::string_view kFormatVersion = "eldercare-ledger/3";
// Format 2 stored one key per Merkle node, u8(band) ‖ BE64(last leaf) ‖
// u8(level); format 1 the same without the band byte. Opening such a ledger
// for writing upgrades it in place (see Ledger::Open).
constexpr std::string_view kFormatVersion2 = "eldercare-ledger/2";
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

// Merkle tiles. The levels of the tree are cut into bands of 8; band b holds
// levels 8b .. 8b+7. A tile of band b is the part of those levels above 256
// consecutive nodes of level 8b (its "units"): tile t of band 0 holds every
// node of levels 0-7 over leaves 256t .. 256t+255, 510 hashes when complete
// (256 + 128 + ... + 2). Its value is those hashes in the order they
// complete as leaves are appended (leaf 0; leaf 1 and the level-1 node over
// 0..1; leaf 2; leaf 3, then levels 1 and 2 ...), so the tile of a growing
// tree is always a prefix of the complete tile, and an append only adds to
// the end of its value. A proof reads one tile per band: at 10M leaves, the
// leaf's band-0 tile, a band-1 tile and the single band-2 tile, instead of a
// node per level scattered over several blocks.
//
// Key: u8(band) ‖ BE64(tile index).
constexpr uint32_t kMerkleBandLevels = 8;
constexpr uint32_t kMerkleBands = 64 / kMerkleBandLevels;
constexpr uint64_t kTileUnits = uint64_t{1} << kMerkleBandLevels;  // 256
constexpr size_t kTileKeySize = 9;

struct TileId {
  uint32_t band = 0;
  uint64_t index = 0;
  bool operator==(const TileId&) const = default;
};

inline uint32_t MerkleBand(uint32_t level) { return level / kMerkleBandLevels; }

inline TileId TileOf(merkle::NodeId id) {
  uint32_t band = MerkleBand(id.level);
  uint32_t shift = band * kMerkleBandLevels + kMerkleBandLevels;
  return TileId{band, shift >= 64 ? 0 : id.first_leaf() >> shift};
}

inline std::string TileKey(TileId t) {
  std::string k(1, static_cast<char>(t.band));
  k += BigEndianKey(t.index);
  return k;
}
inline std::string MerkleTileKey(merkle::NodeId id) { return TileKey(TileOf(id)); }

// The tile a key names, if it is a well-formed tile key.
inline std::optional<TileId> ParseTileKey(std::string_view key) {
  if (key.size() != kTileKeySize || static_cast<uint8_t>(key[0]) >= kMerkleBands) return std::nullopt;
  return TileId{static_cast<uint8_t>(key[0]), GetBigEndian64(reinterpret_cast<const uint8_t*>(key.data() + 1))};
}

// How many nodes of a tile are complete once its first `units` units are.
constexpr uint64_t TileNodesAfter(uint64_t units) {
  uint64_t n = 0;
  for (uint32_t l = 0; l < kMerkleBandLevels; ++l) n += units >> l;
  return n;
}
constexpr uint64_t kTileNodes = TileNodesAfter(kTileUnits);  // a complete tile
static_assert(kTileNodes == 510);

// Where a node sits in its tile's value, counted in hashes.
inline uint64_t TilePosition(merkle::NodeId id) {
  uint32_t rel = id.level % kMerkleBandLevels;
  uint64_t last_unit = ((id.index + 1) << rel) - 1;
  return TileNodesAfter(last_unit % kTileUnits) + rel;
}

// How many hashes tile `t` holds in a tree of `size` leaves.
inline uint64_t TileNodesAt(TileId t, uint64_t size) {
  uint32_t shift = t.band * kMerkleBandLevels;
  uint64_t units = shift >= 64 ? 0 : size >> shift;
  uint64_t first = t.index * kTileUnits;
  if (units <= first) return 0;
  return TileNodesAfter(std::min(units - first, kTileUnits));
}

// The node at `position` of tile `t` (inverse of TilePosition).
inline merkle::NodeId TileNode(TileId t, uint64_t position) {
  uint64_t m = 0;
  while (m + 1 < kTileUnits && TileNodesAfter(m + 1) <= position) ++m;
  uint32_t rel = static_cast<uint32_t>(position - TileNodesAfter(m));
  uint64_t unit = t.index * kTileUnits + m;
  return merkle::NodeId{t.band * kMerkleBandLevels + rel, unit >> rel};
}

// Format 2's key of one node (read by the upgrade and by verify).
inline std::string MerkleKeyFormat2(merkle::NodeId id) {
  std::string k(1, static_cast<char>(MerkleBand(id.level)));
  k += BigEndianKey(id.last_leaf());
  k.push_back(static_cast<char>(id.level));
  return k;
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
