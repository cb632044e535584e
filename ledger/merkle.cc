#include "ledger/merkle.h"

#include <bit>

namespace eldercare::merkle {

Hash HashLeaf(ByteSpan leaf_data) {
  thread_local Sha256Hasher h;
  h.Update(uint8_t{0x00});
  h.Update(leaf_data);
  return h.Finish();
}

Hash HashChildren(const Hash& left, const Hash& right) {
  thread_local Sha256Hasher h;
  h.Update(uint8_t{0x01});
  h.Update(left);
  h.Update(right);
  return h.Finish();
}

Hash EmptyRoot() { return Sha256({}); }

Hash CompactRange::Root() const {
  if (hashes_.empty()) return EmptyRoot();
  Hash h = hashes_.back();
  for (size_t i = hashes_.size() - 1; i-- > 0;) h = HashChildren(hashes_[i], h);
  return h;
}

Result<CompactRange> CompactRange::Load(NodeReader& reader, uint64_t size) {
  CompactRange r;
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    if (!((size >> level) & 1)) continue;
    auto h = reader.ReadNode(NodeId{static_cast<uint32_t>(level), begin >> level});
    if (!h.ok()) return h.status();
    r.hashes_.push_back(*h);
    begin += uint64_t{1} << level;
  }
  r.size_ = size;
  return r;
}

namespace {

// Largest power of two strictly smaller than n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

Result<Hash> RangeHash(NodeReader& reader, uint64_t begin, uint64_t end) {
  if (begin >= end) return Status::InvalidArgument("empty Merkle range");
  // Cover [begin, end) with aligned perfect subtrees, largest first, then fold
  // right to left: for the ranges RFC 9162 visits this is exactly MTH.
  Hash parts[64];
  int n = 0;
  while (begin < end) {
    uint32_t level = static_cast<uint32_t>(std::bit_width(end - begin) - 1);
    if (begin != 0) level = std::min<uint32_t>(level, static_cast<uint32_t>(std::countr_zero(begin)));
    auto h = reader.ReadNode(NodeId{level, begin >> level});
    if (!h.ok()) return h.status();
    parts[n++] = *h;
    begin += uint64_t{1} << level;
  }
  Hash h = parts[n - 1];
  for (int i = n - 2; i >= 0; --i) h = HashChildren(parts[i], h);
  return h;
}

Result<Hash> RootAt(NodeReader& reader, uint64_t size) {
  if (size == 0) return EmptyRoot();
  return RangeHash(reader, 0, size);
}

namespace {

// PATH(m, D[begin:end]) of RFC 9162 2.1.3.1, appended leaf-to-root.
Status AppendPath(NodeReader& reader, uint64_t m, uint64_t begin, uint64_t end,
                  std::vector<Hash>& out) {
  if (end - begin == 1) return Status::Ok();
  uint64_t k = SplitPoint(end - begin);
  Result<Hash> sibling = Status::InvalidArgument("unset");
  if (m < begin + k) {
    ELDERCARE_RETURN_IF_ERROR(AppendPath(reader, m, begin, begin + k, out));
    sibling = RangeHash(reader, begin + k, end);
  } else {
    ELDERCARE_RETURN_IF_ERROR(AppendPath(reader, m, begin + k, end, out));
    sibling = RangeHash(reader, begin, begin + k);
  }
  if (!sibling.ok()) return sibling.status();
  out.push_back(*sibling);
  return Status::Ok();
}

// SUBPROOF(m, D[begin:end], b) of RFC 9162 2.1.4.1.
Status AppendSubproof(NodeReader& reader, uint64_t m, uint64_t begin, uint64_t end, bool b,
                      std::vector<Hash>& out) {
  uint64_t n = end - begin;
  if (m == n) {
    if (b) return Status::Ok();
    auto h = RangeHash(reader, begin, end);
    if (!h.ok()) return h.status();
    out.push_back(*h);
    return Status::Ok();
  }
  uint64_t k = SplitPoint(n);
  Result<Hash> sibling = Status::InvalidArgument("unset");
  if (m <= k) {
    ELDERCARE_RETURN_IF_ERROR(AppendSubproof(reader, m, begin, begin + k, b, out));
    sibling = RangeHash(reader, begin + k, end);
  } else {
    ELDERCARE_RETURN_IF_ERROR(AppendSubproof(reader, m - k, begin + k, end, false, out));
    sibling = RangeHash(reader, begin, begin + k);
  }
  if (!sibling.ok()) return sibling.status();
  out.push_back(*sibling);
  return Status::Ok();
}

}  // namespace

Result<std::vector<Hash>> InclusionProof(NodeReader& reader, uint64_t index, uint64_t size) {
  if (index >= size) {
    return Status::InvalidArgument("leaf index " + std::to_string(index) +
                                   " is not in a tree of size " + std::to_string(size));
  }
  std::vector<Hash> proof;
  proof.reserve(64);
  ELDERCARE_RETURN_IF_ERROR(AppendPath(reader, index, 0, size, proof));
  return proof;
}

Result<std::vector<Hash>> ConsistencyProof(NodeReader& reader, uint64_t size1, uint64_t size2) {
  if (size1 > size2) {
    return Status::InvalidArgument("consistency from size " + std::to_string(size1) +
                                   " to the smaller size " + std::to_string(size2));
  }
  std::vector<Hash> proof;
  if (size1 == 0 || size1 == size2) return proof;
  ELDERCARE_RETURN_IF_ERROR(AppendSubproof(reader, size1, 0, size2, true, proof));
  return proof;
}

Status VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                       std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return Status::InvalidArgument("leaf index is not below the tree size");
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::InvalidArgument("inclusion proof is longer than the tree is deep");
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::InvalidArgument("inclusion proof is too short for the tree size");
  if (r != root) return Status::InvalidArgument("inclusion proof does not lead to the root");
  return Status::Ok();
}

Status VerifyConsistency(uint64_t size1, uint64_t size2, const Hash& root1, const Hash& root2,
                         std::span<const Hash> proof) {
  if (size1 > size2) return Status::InvalidArgument("first tree is larger than the second");
  if (size1 == size2) {
    if (!proof.empty()) return Status::InvalidArgument("consistency proof between equal sizes must be empty");
    if (root1 != root2) return Status::InvalidArgument("equal sizes with different roots");
    return Status::Ok();
  }
  if (size1 == 0) {
    if (!proof.empty()) return Status::InvalidArgument("consistency proof from the empty tree must be empty");
    return Status::Ok();
  }
  if (proof.empty()) return Status::InvalidArgument("consistency proof is empty");
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (std::has_single_bit(size1)) path.push_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Status::InvalidArgument("consistency proof is too long");
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::InvalidArgument("consistency proof is too short");
  if (fr != root1) return Status::InvalidArgument("consistency proof does not lead to the old root");
  if (sr != root2) return Status::InvalidArgument("consistency proof does not lead to the new root");
  return Status::Ok();
}

}  // namespace eldercare::merkle
