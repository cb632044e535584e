#include "ledger/note.h"

#include <gtest/gtest.h>

namespace eldercare {
namespace {

// Vector from Go's golang.org/x/mod/sumdb/note documentation.
constexpr char kGoText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kGoVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kGoSig[] =
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(SignedNote, OpensTheGoReferenceNote) {
  auto v = note::ParseVerifierKey(kGoVkey);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->name, "PeterNeumann");
  EXPECT_EQ(v->key_id, 0xc74f20a3u);
  std::string n = std::string(kGoText) + "\n" + kGoSig;
  auto text = note::Open(n, *v);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, kGoText);
  // Our verifier-key encoding reproduces the published one.
  EXPECT_EQ(note::VerifierKey(v->name, v->key), kGoVkey);
}

TEST(SignedNote, RejectsAlteredText) {
  auto v = *note::ParseVerifierKey(kGoVkey);
  std::string n = std::string(kGoText) + "\n" + kGoSig;
  n[3] = 'X';
  auto text = note::Open(n, v);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Status::Code::kPermissionDenied);
}

TEST(SignedNote, SignsAndOpensRoundTrip) {
  auto key = *PrivateKey::Generate();
  auto n = note::Sign("example.org/log\n5\nAAAA\n", "example.org/log", key);
  ASSERT_TRUE(n.ok());
  note::Verifier v{"example.org/log", note::KeyId("example.org/log", key.public_key()), key.public_key()};
  auto text = note::Open(*n, v);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ(*text, "example.org/log\n5\nAAAA\n");
  auto parsed = note::ParseVerifierKey(note::VerifierKey("example.org/log", key.public_key()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->key_id, v.key_id);
}

TEST(SignedNote, RejectsAnotherKeyWithTheSameName) {
  auto key = *PrivateKey::Generate();
  auto other = *PrivateKey::Generate();
  auto n = *note::Sign("hello\n", "log.example", key);
  note::Verifier v{"log.example", note::KeyId("log.example", other.public_key()), other.public_key()};
  EXPECT_FALSE(note::Open(n, v).ok());
}

TEST(SignedNote, RejectsMalformedNotes) {
  auto key = *PrivateKey::Generate();
  EXPECT_FALSE(note::Sign("no newline", "n", key).ok());
  EXPECT_FALSE(note::Sign("a\n\nb\n", "n", key).ok());
  EXPECT_FALSE(note::Sign("tab\there\n", "n", key).ok());
  EXPECT_FALSE(note::Sign("ok\n", "bad name", key).ok());
  EXPECT_FALSE(note::Sign("ok\n", "bad+name", key).ok());
  EXPECT_FALSE(note::Parse("text\n").ok());                       // no signatures
  EXPECT_FALSE(note::Parse("text\n\n-- n AAAA\n").ok());          // not an em dash
  EXPECT_FALSE(note::Parse("text\n\n\xe2\x80\x94 n !!!!\n").ok());  // not base64
  EXPECT_FALSE(note::Parse("text\n\n\xe2\x80\x94 n AAAA").ok());     // no final newline
  EXPECT_FALSE(note::ParseVerifierKey("name+zz+AAAA").ok());
  EXPECT_FALSE(note::ParseVerifierKey("nameonly").ok());
}

TEST(Checkpoint, FormatsAndParsesTheC2spBody) {
  checkpoint::Checkpoint c{"example.com/log", 1234, {}, {"ext line"}};
  c.root[0] = 0xab;
  std::string body = checkpoint::FormatBody(c);
  EXPECT_EQ(body.substr(0, 21), "example.com/log\n1234\n");
  auto back = checkpoint::ParseBody(body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->origin, c.origin);
  EXPECT_EQ(back->size, 1234u);
  EXPECT_EQ(back->root, c.root);
  ASSERT_EQ(back->extensions.size(), 1u);
}

TEST(Checkpoint, RejectsMalformedBodies) {
  std::string root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
  EXPECT_TRUE(checkpoint::ParseBody("o\n0\n" + root + "\n").ok());
  EXPECT_FALSE(checkpoint::ParseBody("o\n01\n" + root + "\n").ok());   // leading zero
  EXPECT_FALSE(checkpoint::ParseBody("o\n-1\n" + root + "\n").ok());
  EXPECT_FALSE(checkpoint::ParseBody("o\n1\nAAAA\n").ok());            // root not 32 bytes
  EXPECT_FALSE(checkpoint::ParseBody("o\n1\n").ok());
  EXPECT_FALSE(checkpoint::ParseBody("\n1\n" + root + "\n").ok());     // empty origin
  EXPECT_FALSE(checkpoint::ParseBody("o\n18446744073709551616\n" + root + "\n").ok());
}

}  // namespace
}  // namespace eldercare
