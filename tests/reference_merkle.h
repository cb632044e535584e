// A tiny, obviously-correct RFC 9162 implementation, straight from the
// definitions in section 2.1, used only to check the real one.
#ifndef ELDERCARE_TESTS_REFERENCE_MERKLE_H_
#define ELDERCARE_TESTS_REFERENCE_MERKLE_H_

#include <vector>

#include "ledger/merkle.h"

namespace eldercare::reference {

using merkle::HashChildren;
using merkle::HashLeaf;

inline uint64_t K(uint64_t n) {  // largest power of two smaller than n
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// MTH(D[begin:end]) over leaf hashes.
inline Hash Mth(const std::vector<Hash>& d, uint64_t begin, uint64_t end) {
  if (end == begin) return merkle::EmptyRoot();
  if (end - begin == 1) return d[begin];
  uint64_t k = K(end - begin);
  return HashChildren(Mth(d, begin, begin + k), Mth(d, begin + k, end));
}

inline std::vector<Hash> Path(uint64_t m, const std::vector<Hash>& d, uint64_t begin, uint64_t end) {
  if (end - begin <= 1) return {};
  uint64_t k = K(end - begin);
  std::vector<Hash> out;
  if (m - begin < k) {
    out = Path(m, d, begin, begin + k);
    out.push_back(Mth(d, begin + k, end));
  } else {
    out = Path(m, d, begin + k, end);
    out.push_back(Mth(d, begin, begin + k));
  }
  return out;
}

inline std::vector<Hash> Subproof(uint64_t m, const std::vector<Hash>& d, uint64_t begin, uint64_t end, bool b) {
  uint64_t n = end - begin;
  if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{Mth(d, begin, end)};
  uint64_t k = K(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = Subproof(m, d, begin, begin + k, b);
    out.push_back(Mth(d, begin + k, end));
  } else {
    out = Subproof(m - k, d, begin + k, end, false);
    out.push_back(Mth(d, begin, begin + k));
  }
  return out;
}

inline std::vector<Hash> Proof(uint64_t m, const std::vector<Hash>& d, uint64_t n) {
  if (m == 0 || m == n) return {};
  return Subproof(m, d, 0, n, true);
}

// A NodeReader over a vector of leaf hashes that counts its reads.
class VectorNodeReader : public merkle::NodeReader {
 public:
  explicit VectorNodeReader(const std::vector<Hash>& leaves) : leaves_(leaves) {}
  Result<Hash> ReadNode(merkle::NodeId id) override {
    ++reads;
    if (id.last_leaf() >= leaves_.size()) return Status::NotFound("node beyond the tree");
    return Mth(leaves_, id.first_leaf(), id.last_leaf() + 1);
  }
  int reads = 0;

 private:
  const std::vector<Hash>& leaves_;
};

}  // namespace eldercare::reference

#endif  // ELDERCARE_TESTS_REFERENCE_MERKLE_H_
