#include "ledger/merkle.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "ledger/bytes.h"
#include "tests/reference_merkle.h"

namespace eldercare {
namespace {

using merkle::NodeId;

Hash H(const std::string& hex) {
  auto b = HexDecode(hex);
  EXPECT_TRUE(b.ok());
  Hash h{};
  std::copy(b->begin(), b->end(), h.begin());
  return h;
}

// RFC 6962 / Certificate Transparency test vectors (transparency-dev/merkle testonly).
const char* kLeafHex[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"};
const char* kRootHex[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Hash> CtLeaves() {
  std::vector<Hash> out;
  for (const char* hex : kLeafHex) out.push_back(merkle::HashLeaf(*HexDecode(hex)));
  return out;
}

std::vector<Hash> SyntheticLeaves(size_t n) {
  std::vector<Hash> out;
  for (size_t i = 0; i < n; ++i) {
    std::string data = "leaf-" + std::to_string(i);
    out.push_back(merkle::HashLeaf(AsBytes(data)));
  }
  return out;
}

TEST(MerkleHash, RootsMatchCertificateTransparencyVectors) {
  auto leaves = CtLeaves();
  merkle::CompactRange range;
  EXPECT_EQ(HexEncode(range.Root()), kRootHex[0]);
  for (size_t n = 1; n <= leaves.size(); ++n) {
    range.Append(leaves[n - 1]);
    EXPECT_EQ(HexEncode(range.Root()), kRootHex[n]) << "size " << n;
    reference::VectorNodeReader reader(leaves);
    auto root = merkle::RootAt(reader, n);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(HexEncode(*root), kRootHex[n]) << "size " << n;
  }
}

TEST(MerkleHash, LeafAndNodeArePrefixed) {
  // SHA-256(0x00) and SHA-256(0x01 || a || b) -- a leaf can never pass as a node.
  EXPECT_EQ(HexEncode(merkle::HashLeaf({})), kRootHex[1]);
  auto leaves = CtLeaves();
  EXPECT_EQ(HexEncode(merkle::HashChildren(leaves[0], leaves[1])), kRootHex[2]);
  EXPECT_NE(merkle::HashLeaf({}), Sha256({}));
}

TEST(MerkleProof, InclusionMatchesCtVectors) {
  auto leaves = CtLeaves();
  reference::VectorNodeReader reader(leaves);
  auto p0 = merkle::InclusionProof(reader, 0, 8);
  ASSERT_TRUE(p0.ok());
  std::vector<Hash> want0 = {H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                             H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                             H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
  EXPECT_EQ(*p0, want0);
  auto p5 = merkle::InclusionProof(reader, 5, 8);
  ASSERT_TRUE(p5.ok());
  std::vector<Hash> want5 = {H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                             H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                             H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")};
  EXPECT_EQ(*p5, want5);
}

TEST(MerkleProof, ConsistencyMatchesCtVectors) {
  auto leaves = CtLeaves();
  reference::VectorNodeReader reader(leaves);
  auto p = merkle::ConsistencyProof(reader, 2, 5);
  ASSERT_TRUE(p.ok());
  std::vector<Hash> want = {H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")};
  EXPECT_EQ(*p, want);
  auto p1 = merkle::ConsistencyProof(reader, 1, 8);
  ASSERT_TRUE(p1.ok());
  std::vector<Hash> want1 = {H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                             H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                             H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")};
  EXPECT_EQ(*p1, want1);
}

TEST(MerkleProof, EveryInclusionProofMatchesReferenceAndVerifies) {
  auto leaves = SyntheticLeaves(300);
  reference::VectorNodeReader reader(leaves);
  for (uint64_t n = 1; n <= leaves.size(); n += (n < 70 ? 1 : 7)) {
    Hash root = reference::Mth(leaves, 0, n);
    for (uint64_t i = 0; i < n; ++i) {
      auto proof = merkle::InclusionProof(reader, i, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, reference::Path(i, leaves, 0, n)) << "index " << i << " size " << n;
      ASSERT_TRUE(merkle::VerifyInclusion(leaves[i], i, n, *proof, root).ok()) << i << "/" << n;
    }
  }
}

TEST(MerkleProof, EveryConsistencyProofMatchesReferenceAndVerifies) {
  auto leaves = SyntheticLeaves(260);
  reference::VectorNodeReader reader(leaves);
  for (uint64_t n = 1; n <= leaves.size(); n += (n < 80 ? 1 : 9)) {
    Hash root2 = reference::Mth(leaves, 0, n);
    for (uint64_t m = 0; m <= n; ++m) {
      auto proof = merkle::ConsistencyProof(reader, m, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, reference::Proof(m, leaves, n)) << m << "->" << n;
      Hash root1 = reference::Mth(leaves, 0, m);
      ASSERT_TRUE(merkle::VerifyConsistency(m, n, root1, root2, *proof).ok()) << m << "->" << n;
    }
  }
}

TEST(MerkleProof, RejectsTamperedSibling) {
  auto leaves = SyntheticLeaves(77);
  reference::VectorNodeReader reader(leaves);
  Hash root = reference::Mth(leaves, 0, 77);
  for (uint64_t i : {0u, 1u, 38u, 63u, 64u, 76u}) {
    auto proof = *merkle::InclusionProof(reader, i, 77);
    for (size_t k = 0; k < proof.size(); ++k) {
      auto bad = proof;
      bad[k][k % 32] ^= 0x01;
      EXPECT_FALSE(merkle::VerifyInclusion(leaves[i], i, 77, bad, root).ok()) << i << " sibling " << k;
    }
    EXPECT_FALSE(merkle::VerifyInclusion(leaves[i], i + 1 < 77 ? i + 1 : i - 1, 77, proof, root).ok());
    // The size fixes the proof's shape; against another tree's root it fails.
    EXPECT_FALSE(merkle::VerifyInclusion(leaves[i], i, 77, proof, reference::Mth(leaves, 0, 76)).ok());
    EXPECT_FALSE(merkle::VerifyInclusion(leaves[i], i, 2, proof, root).ok());
    auto shorter = proof;
    shorter.pop_back();
    EXPECT_FALSE(merkle::VerifyInclusion(leaves[i], i, 77, shorter, root).ok());
  }
}

TEST(MerkleProof, RejectsTamperedConsistency) {
  auto leaves = SyntheticLeaves(100);
  reference::VectorNodeReader reader(leaves);
  for (auto [m, n] : std::vector<std::pair<uint64_t, uint64_t>>{{3, 7}, {4, 8}, {31, 100}, {64, 99}, {1, 2}}) {
    Hash r1 = reference::Mth(leaves, 0, m), r2 = reference::Mth(leaves, 0, n);
    auto proof = *merkle::ConsistencyProof(reader, m, n);
    ASSERT_TRUE(merkle::VerifyConsistency(m, n, r1, r2, proof).ok());
    for (size_t k = 0; k < proof.size(); ++k) {
      auto bad = proof;
      bad[k][0] ^= 0x80;
      EXPECT_FALSE(merkle::VerifyConsistency(m, n, r1, r2, bad).ok()) << m << "->" << n << " #" << k;
    }
    Hash wrong = r1;
    wrong[5] ^= 1;
    EXPECT_FALSE(merkle::VerifyConsistency(m, n, wrong, r2, proof).ok());
    EXPECT_FALSE(merkle::VerifyConsistency(m, n, r1, wrong, proof).ok());
  }
}

TEST(MerkleProof, RejectsIndexOutsideTree) {
  auto leaves = SyntheticLeaves(5);
  reference::VectorNodeReader reader(leaves);
  EXPECT_FALSE(merkle::InclusionProof(reader, 5, 5).ok());
  EXPECT_FALSE(merkle::ConsistencyProof(reader, 6, 5).ok());
}

TEST(MerkleProof, UsesLogarithmicReads) {
  // A tree of 2^40 leaves is never materialised: the reader fabricates any
  // node, and we count how many the proof needs.
  class Fabricating : public merkle::NodeReader {
   public:
    Result<Hash> ReadNode(NodeId id) override {
      ++reads;
      Hash h{};
      PutBigEndian64(id.index, h.data());
      h[31] = static_cast<uint8_t>(id.level);
      return h;
    }
    int reads = 0;
  };
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    uint64_t n = (rng() % (uint64_t{1} << 40)) + 2;
    uint64_t i = rng() % n, m = rng() % n + 1;
    Fabricating f;
    ASSERT_TRUE(merkle::InclusionProof(f, i, n).ok());
    EXPECT_LE(f.reads, 2 * 41) << "inclusion " << i << "/" << n;
    Fabricating g;
    ASSERT_TRUE(merkle::ConsistencyProof(g, m, n).ok());
    EXPECT_LE(g.reads, 2 * 41 + 2) << "consistency " << m << "->" << n;
    Fabricating r;
    ASSERT_TRUE(merkle::RootAt(r, n).ok());
    EXPECT_LE(r.reads, 41);
  }
}

TEST(CompactRange, ReportsExactlyTheNodesThatComplete) {
  merkle::CompactRange range;
  std::map<std::pair<uint32_t, uint64_t>, Hash> stored;
  auto leaves = SyntheticLeaves(1000);
  for (const Hash& l : leaves) {
    range.Append(l, [&](NodeId id, const Hash& h) {
      EXPECT_TRUE(stored.emplace(std::make_pair(id.level, id.index), h).second) << "node reported twice";
      EXPECT_EQ(h, reference::Mth(leaves, id.first_leaf(), id.last_leaf() + 1));
    });
  }
  // Every complete node of a 1000-leaf tree: 1000 + 500 + 250 + ... floor sums.
  size_t want = 0;
  for (uint64_t w = 1000; w > 0; w >>= 1) want += w;
  EXPECT_EQ(stored.size(), want);

  class MapReader : public merkle::NodeReader {
   public:
    explicit MapReader(const std::map<std::pair<uint32_t, uint64_t>, Hash>& m) : m_(m) {}
    Result<Hash> ReadNode(NodeId id) override {
      auto it = m_.find({id.level, id.index});
      if (it == m_.end()) return Status::NotFound("no node");
      return it->second;
    }
    const std::map<std::pair<uint32_t, uint64_t>, Hash>& m_;
  } reader(stored);
  auto loaded = merkle::CompactRange::Load(reader, 1000);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->Root(), range.Root());
  EXPECT_EQ(range.Root(), reference::Mth(leaves, 0, 1000));
}

}  // namespace
}  // namespace eldercare
