// RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proofs.
//
//   leaf hash  = SHA-256(0x00 || leaf data)
//   node hash  = SHA-256(0x01 || left || right)
//   empty root = SHA-256("")
//
// The tree is never recomputed to answer a question: the hashes of complete
// (perfect, aligned) subtrees are stored once when they complete, and any
// root, inclusion proof or consistency proof is assembled from O(log n) of
// them through a NodeReader. Proof planning is separate from storage, as in
// transparency-dev/merkle: this file knows nothing of RocksDB.
#ifndef ELDERCARE_LEDGER_MERKLE_H_
#define ELDERCARE_LEDGER_MERKLE_H_

#include <cstdint>
#include <span>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace eldercare::merkle {

Hash HashLeaf(ByteSpan leaf_data);
Hash HashChildren(const Hash& left, const Hash& right);
Hash EmptyRoot();

// A complete subtree: covers leaves [index << level, (index + 1) << level).
struct NodeId {
  uint32_t level = 0;
  uint64_t index = 0;
  uint64_t first_leaf() const { return index << level; }
  uint64_t last_leaf() const { return ((index + 1) << level) - 1; }
  bool operator==(const NodeId&) const = default;
};

// Where complete-subtree hashes come from (a store, a test's vector).
class NodeReader {
 public:
  virtual ~NodeReader() = default;
  // REQUIRES: the node is complete in the tree the reader holds.
  [[nodiscard]] virtual Result<Hash> ReadNode(NodeId id) = 0;
};

// The right frontier of a growing tree: one hash per set bit of its size,
// largest (leftmost) subtree first. Enough to append and to compute the root;
// memory is O(log n).
class CompactRange {
 public:
  CompactRange() = default;
  // Rebuilds the frontier of a tree of `size` leaves from stored nodes.
  static Result<CompactRange> Load(NodeReader& reader, uint64_t size);

  uint64_t size() const { return size_; }
  const std::vector<Hash>& hashes() const { return hashes_; }
  Hash Root() const;

  // Appends one leaf hash. `on_node(NodeId, const Hash&)` is called for the
  // leaf itself and for every parent it completes, bottom-up: exactly the
  // nodes a store must persist for this leaf.
  template <typename F>
  void Append(const Hash& leaf_hash, F&& on_node) {
    Hash h = leaf_hash;
    NodeId id{0, size_};
    on_node(id, h);
    while (id.index & 1) {
      h = HashChildren(hashes_.back(), h);
      hashes_.pop_back();
      id = NodeId{id.level + 1, id.index >> 1};
      on_node(id, h);
    }
    hashes_.push_back(h);
    ++size_;
  }
  void Append(const Hash& leaf_hash) {
    Append(leaf_hash, [](NodeId, const Hash&) {});
  }

 private:
  uint64_t size_ = 0;
  std::vector<Hash> hashes_;
};

// MTH(D[begin:end]) for the ranges RFC 9162's recursion visits.
// REQUIRES: begin < end, and begin is 0 or a multiple of the smallest power of
// two >= end - begin.
Result<Hash> RangeHash(NodeReader& reader, uint64_t begin, uint64_t end);

// Root of the tree's first `size` leaves (EmptyRoot() for 0).
Result<Hash> RootAt(NodeReader& reader, uint64_t size);

// RFC 9162 section 2.1.3.1: the audit path of leaf `index` in the tree of
// `size` leaves, leaf to root. REQUIRES: index < size (else InvalidArgument).
Result<std::vector<Hash>> InclusionProof(NodeReader& reader, uint64_t index, uint64_t size);

// RFC 9162 section 2.1.4.1: proof that the tree of size1 is a prefix of the
// tree of size2. Empty when size1 == 0 or size1 == size2.
Result<std::vector<Hash>> ConsistencyProof(NodeReader& reader, uint64_t size1, uint64_t size2);

// RFC 9162 section 2.1.3.2. OK, or an error saying why the proof fails.
Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       std::span<const Hash> proof, const Hash& root);

// RFC 9162 section 2.1.4.2.
Status VerifyConsistency(uint64_t size1, uint64_t size2, const Hash& root1, const Hash& root2,
                         std::span<const Hash> proof);

}  // namespace eldercare::merkle

#endif  // ELDERCARE_LEDGER_MERKLE_H_
