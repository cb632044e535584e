// Elders' personal data: sealed with AES-256-GCM under a per-elder data key;
// data keys live in a separate key store, wrapped by the operator's master
// key, never in the log. Erasing an elder = destroying its data key
// (crypto-shredding): the ciphertext stays in the log and every proof over it
// stays valid, but nobody can read it again.
//
//   sealed     = AES-256-GCM(data key, nonce[12], plaintext, aad) = ciphertext || tag[16]
//   aad        = "eldercare-personal:v1" || 0x00 || elderId || 0x00 || keyId
//   wrapped    = AES-256-GCM(master key, nonce[12], data key, "eldercare-dek:v1" || 0x00 || elderId || 0x00 || keyId)
//   id hmac    = HMAC-SHA256(HKDF-SHA256(master key, info "eldercare id-number hmac v1"), normalised ID number)
#ifndef ELDERCARE_LEDGER_PRIVACY_H_
#define ELDERCARE_LEDGER_PRIVACY_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <functional>

#include "ledger/bytes.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace eldercare {

using SymmetricKey = std::array<uint8_t, 32>;

Result<SymmetricKey> RandomKey();
Bytes RandomBytes(size_t n);

// Where data keys, key ids and nonces come from. The default is the OS
// CSPRNG (RAND_bytes). The demo substitutes a stream derived from its seed so
// that the same seed gives byte-identical ledgers; nothing else may.
using RandomSource = std::function<void(uint8_t* out, size_t n)>;
// SHA-256(seed || label || counter) blocks: deterministic, never repeating
// within one stream. For synthetic data only.
RandomSource SeededRandomSource(std::string_view seed);

struct Sealed {
  Bytes nonce;       // 12 bytes
  Bytes ciphertext;  // ciphertext || 16-byte tag
};
Sealed SealAesGcm(const SymmetricKey& key, ByteSpan plaintext, ByteSpan aad);
// With a caller-supplied 12-byte nonce (never reuse one under a key).
Sealed SealAesGcm(const SymmetricKey& key, ByteSpan plaintext, ByteSpan aad, Bytes nonce);
// PermissionDenied when the key or aad is wrong or the bytes were altered.
Result<Bytes> OpenAesGcm(const SymmetricKey& key, const Sealed& sealed, ByteSpan aad);

Hash HmacSha256(ByteSpan key, ByteSpan data);
SymmetricKey HkdfSha256(ByteSpan key, std::string_view info);

// The master key: 32 random bytes, base64 in a file (mode 0600) or in
// $ELDERCARE_MASTER_KEY.
Result<SymmetricKey> LoadMasterKey(const std::string& path_or_empty);
Status WriteMasterKeyFile(const std::string& path, const SymmetricKey& key);

// Chinese resident ID numbers are 17 digits and a digit or X; the HMAC is
// over the upper-cased number so "x" and "X" are the same person.
Result<std::string> NormaliseIdNumber(std::string_view id_number);

// The key store: DIR/keystore, its own RocksDB database. Keys:
//   "meta/check"        HMAC(master, "eldercare keystore check v1") -- a wrong master key is refused
//   "dek/" elderId      keyId[16] || nonce[12] || wrapped data key (48)
class KeyStore {
 public:
  // Opens (creating if needed) the key store of a ledger directory.
  static Result<std::unique_ptr<KeyStore>> Open(const std::string& ledger_dir, const SymmetricKey& master,
                                                rocksdb::Env* env = nullptr);
  // Opens without the master key: enough to destroy keys.
  static Result<std::unique_ptr<KeyStore>> OpenForErasure(const std::string& ledger_dir, rocksdb::Env* env = nullptr);
  ~KeyStore();

  struct DataKey {
    Bytes key_id;  // 16 bytes
    SymmetricKey key{};
  };
  // A new data key for the elder, stored (synced). AlreadyExists if one is.
  Result<DataKey> Create(const std::string& elder_id);
  // Many at once, in one synced write (bulk registration).
  Result<std::vector<DataKey>> CreateMany(const std::vector<std::string>& elder_ids);
  // NotFound when the elder has none (never registered, or shredded).
  Result<DataKey> Get(const std::string& elder_id) const;
  bool Has(const std::string& elder_id) const;
  // Deletes the elder's data key and compacts the store so that no file of
  // it holds the wrapped key any more.
  Status Destroy(const std::string& elder_id);
  // Destroys many at once (one compaction).
  Status DestroyMany(const std::vector<std::string>& elder_ids);

  // The keyed hash of an ID number (duplicate detection without plaintext).
  Result<Hash> IdNumberHmac(std::string_view id_number) const;

  // Replaces the CSPRNG for new keys and nonces (the demo only).
  void UseRandomSource(RandomSource source) { random_ = std::move(source); }
  // n bytes from the store's random source.
  Bytes Random(size_t n) const;

 private:
  KeyStore() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::optional<SymmetricKey> master_;
  RandomSource random_;
};

// The personal fields, as one JSON object {"name","id_number","phone",
// "address","notes"} sealed under the elder's data key.
Bytes PersonalAad(std::string_view elder_id, ByteSpan key_id);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_PRIVACY_H_
