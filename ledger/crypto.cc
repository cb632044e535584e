#include "ledger/crypto.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// kept through the 3.x series; see Sha256Hasher in crypto.h for why they are used.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ledger/file_io.h"

namespace eldercare {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

std::shared_ptr<EVP_PKEY> Wrap(EVP_PKEY* p) { return {p, EVP_PKEY_free}; }

}  // namespace

Sha256Hasher::Sha256Hasher() {
  static_assert(sizeof(SHA256_CTX) <= sizeof(ctx_) && alignof(SHA256_CTX) <= 8,
                "Sha256Hasher's storage must hold a SHA256_CTX");
  SHA256_Init(reinterpret_cast<SHA256_CTX*>(ctx_));
}
Sha256Hasher::~Sha256Hasher() = default;
void Sha256Hasher::Update(ByteSpan data) { SHA256_Update(reinterpret_cast<SHA256_CTX*>(ctx_), data.data(), data.size()); }
Hash Sha256Hasher::Finish() {
  Hash h;
  SHA256_Final(h.data(), reinterpret_cast<SHA256_CTX*>(ctx_));
  SHA256_Init(reinterpret_cast<SHA256_CTX*>(ctx_));
  return h;
}

Hash Sha256(ByteSpan data) {
  thread_local Sha256Hasher hasher;
  hasher.Update(data);
  return hasher.Finish();
}

Result<PublicKey> PublicKey::FromRaw(ByteSpan raw) {
  if (raw.size() != kPublicKeySize) {
    return Status::InvalidArgument("an Ed25519 public key is 32 bytes, got " + std::to_string(raw.size()));
  }
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (p == nullptr) return Status::InvalidArgument("not an Ed25519 public key: " + OpenSslError());
  PublicKey k;
  std::copy(raw.begin(), raw.end(), k.raw_.begin());
  k.pkey_ = Wrap(p);
  return k;
}

Result<PublicKey> PublicKey::FromBase64(std::string_view text) {
  auto raw = Base64Decode(text);
  if (!raw.ok()) return raw.status().WithPrefix("public key: ");
  return FromRaw(*raw);
}

bool PublicKey::Verify(ByteSpan message, ByteSpan signature) const {
  if (!pkey_ || signature.size() != kSignatureSize) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
            EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) ERR_clear_error();
  return ok;
}

Result<PrivateKey> PrivateKey::Generate() {
  EVP_PKEY* p = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (p == nullptr) return Status::IoError("Ed25519 key generation failed: " + OpenSslError());
  auto pkey = Wrap(p);
  RawPublicKey raw;
  size_t len = raw.size();
  EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &len);
  auto pub = PublicKey::FromRaw(raw);
  if (!pub.ok()) return pub.status();
  return PrivateKey(pkey, *pub);
}

Result<PrivateKey> PrivateKey::FromSeed(ByteSpan seed) {
  if (seed.size() != 32) return Status::InvalidArgument("an Ed25519 seed is 32 bytes");
  EVP_PKEY* p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (p == nullptr) return Status::InvalidArgument("not an Ed25519 seed: " + OpenSslError());
  auto pkey = Wrap(p);
  RawPublicKey raw;
  size_t len = raw.size();
  EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &len);
  auto pub = PublicKey::FromRaw(raw);
  if (!pub.ok()) return pub.status();
  return PrivateKey(pkey, *pub);
}

Result<PrivateKey> PrivateKey::FromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* p = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (p == nullptr) return Status::InvalidArgument("not a PEM private key: " + OpenSslError());
  auto pkey = Wrap(p);
  if (EVP_PKEY_get_id(pkey.get()) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument("the private key is not an Ed25519 key");
  }
  RawPublicKey raw;
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), raw.data(), &len) != 1) {
    return Status::InvalidArgument("cannot derive the public key: " + OpenSslError());
  }
  auto pub = PublicKey::FromRaw(raw);
  if (!pub.ok()) return pub.status();
  return PrivateKey(pkey, *pub);
}

Result<PrivateKey> PrivateKey::LoadPemFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto key = FromPem(*text);
  if (!key.ok()) return key.status().WithPrefix("key file " + path + ": ");
  return key;
}

std::string PrivateKey::ToPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

Status PrivateKey::SavePemFile(const std::string& path) const { return WriteNewFile(path, ToPem(), 0600); }

Signature PrivateKey::Sign(ByteSpan message) const {
  Signature sig{};
  size_t len = sig.size();
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
           EVP_DigestSign(ctx, sig.data(), &len, message.data(), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  assert(ok && len == kSignatureSize && "Ed25519 signing cannot fail with a valid key");
  (void)ok;
  return sig;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError("cannot read " + path);
  return ss.str();
}

}  // namespace eldercare
