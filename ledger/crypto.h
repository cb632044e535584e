// SHA-256 and Ed25519 through OpenSSL 3.
//
// Thread-safety: every function and const method here may be called from
// many threads at once. PublicKey and PrivateKey are cheap to copy (the
// OpenSSL key object is shared and immutable).
#ifndef ELDERCARE_LEDGER_CRYPTO_H_
#define ELDERCARE_LEDGER_CRYPTO_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "ledger/bytes.h"
#include "ledger/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace eldercare {

constexpr size_t kHashSize = 32;
constexpr size_t kPublicKeySize = 32;
constexpr size_t kSignatureSize = 64;

using Hash = std::array<uint8_t, kHashSize>;
using RawPublicKey = std::array<uint8_t, kPublicKeySize>;
using Signature = std::array<uint8_t, kSignatureSize>;

Hash Sha256(ByteSpan data);

// Incremental SHA-256, through OpenSSL's SHA256_* functions: the EVP
// interface costs 40-60 ns more a hash (its provider dispatch, context
// cleansing and re-initialisation): a Merkle node took 149 ns through it
// against 106 ns, and the log hashes two to four times an entry.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void Update(ByteSpan data);
  void Update(std::string_view data) { Update(AsBytes(data)); }
  void Update(uint8_t byte) { Update(ByteSpan(&byte, 1)); }
  Hash Finish();  // resets the hasher for reuse

 private:
  alignas(8) unsigned char ctx_[112];  // OpenSSL's SHA256_CTX (checked in crypto.cc)
};

class PublicKey {
 public:
  static Result<PublicKey> FromRaw(ByteSpan raw);
  // The 32-byte key in standard base64 (44 characters).
  static Result<PublicKey> FromBase64(std::string_view text);

  const RawPublicKey& raw() const { return raw_; }
  std::string ToBase64() const { return Base64Encode(raw_); }
  // Pure Ed25519 (RFC 8032) verification of `signature` over `message`.
  bool Verify(ByteSpan message, ByteSpan signature) const;
  bool operator==(const PublicKey& o) const { return raw_ == o.raw_; }

 private:
  PublicKey() = default;
  RawPublicKey raw_{};
  std::shared_ptr<EVP_PKEY> pkey_;
};

class PrivateKey {
 public:
  static Result<PrivateKey> Generate();
  // The key whose RFC 8032 private seed is these 32 bytes (deterministic
  // keys for reproducible simulations; real actors use Generate()).
  static Result<PrivateKey> FromSeed(ByteSpan seed);
  // PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), as `openssl genpkey -algorithm ed25519` writes.
  static Result<PrivateKey> FromPem(std::string_view pem);
  static Result<PrivateKey> LoadPemFile(const std::string& path);

  std::string ToPem() const;
  // Writes the PEM with mode 0600; refuses to overwrite an existing file.
  Status SavePemFile(const std::string& path) const;

  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(ByteSpan message) const;

 private:
  PrivateKey(std::shared_ptr<EVP_PKEY> pkey, PublicKey pub)
      : pkey_(std::move(pkey)), public_key_(std::move(pub)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  PublicKey public_key_;
};

// Reads a file's whole contents.
Result<std::string> ReadFile(const std::string& path);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_CRYPTO_H_
