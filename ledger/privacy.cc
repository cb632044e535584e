#include "ledger/privacy.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <rocksdb/db.h>

#include <cstring>
#include <filesystem>

#include "ledger/file_io.h"
#include "ledger/rocks_util.h"

namespace eldercare {
namespace {

constexpr std::string_view kDekContext = "eldercare-dek:v1";
constexpr std::string_view kPersonalContext = "eldercare-personal:v1";
constexpr std::string_view kCheckContext = "eldercare keystore check v1";
constexpr std::string_view kHmacInfo = "eldercare id-number hmac v1";

Bytes Aad(std::string_view context, std::string_view elder, ByteSpan key_id) {
  Bytes a(context.begin(), context.end());
  a.push_back(0);
  a.insert(a.end(), elder.begin(), elder.end());
  a.push_back(0);
  a.insert(a.end(), key_id.begin(), key_id.end());
  return a;
}

std::string DekKey(std::string_view elder) { return "dek/" + std::string(elder); }

}  // namespace

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) std::abort();  // no randomness, no keys: never continue
  return b;
}

Result<SymmetricKey> RandomKey() {
  SymmetricKey k;
  if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) return Status::IoError("no randomness available");
  return k;
}

RandomSource SeededRandomSource(std::string_view seed) {
  struct State {
    std::string seed;
    uint64_t counter = 0;
    Hash block{};
    size_t used = 32;
  };
  auto st = std::make_shared<State>();
  st->seed = std::string(seed);
  return [st](uint8_t* out, size_t n) {
    while (n > 0) {
      if (st->used == st->block.size()) {
        std::string in = "eldercare demo randomness v1";
        in.push_back('\0');
        in += st->seed;
        for (int i = 7; i >= 0; --i) in.push_back(static_cast<char>(st->counter >> (8 * i)));
        ++st->counter;
        st->block = Sha256(AsBytes(in));
        st->used = 0;
      }
      size_t take = std::min(n, st->block.size() - st->used);
      std::memcpy(out, st->block.data() + st->used, take);
      st->used += take;
      out += take;
      n -= take;
    }
  };
}

Bytes KeyStore::Random(size_t n) const {
  if (!random_) return RandomBytes(n);
  Bytes b(n);
  random_(b.data(), n);
  return b;
}

Sealed SealAesGcm(const SymmetricKey& key, ByteSpan plaintext, ByteSpan aad) {
  return SealAesGcm(key, plaintext, aad, RandomBytes(12));
}

Sealed SealAesGcm(const SymmetricKey& key, ByteSpan plaintext, ByteSpan aad, Bytes nonce) {
  Sealed out{std::move(nonce), Bytes(plaintext.size() + 16)};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0, total = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), out.nonce.data());
  EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx, out.ciphertext.data(), &len, plaintext.data(), static_cast<int>(plaintext.size()));
  total = len;
  EVP_EncryptFinal_ex(ctx, out.ciphertext.data() + total, &len);
  total += len;
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, out.ciphertext.data() + total);
  EVP_CIPHER_CTX_free(ctx);
  return out;
}

Result<Bytes> OpenAesGcm(const SymmetricKey& key, const Sealed& sealed, ByteSpan aad) {
  if (sealed.nonce.size() != 12 || sealed.ciphertext.size() < 16) {
    return Status::InvalidArgument("sealed data is malformed (nonce 12 bytes, ciphertext with a 16-byte tag)");
  }
  size_t n = sealed.ciphertext.size() - 16;
  Bytes plain(n + 16);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), sealed.nonce.data());
  EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  EVP_DecryptUpdate(ctx, plain.data(), &len, sealed.ciphertext.data(), static_cast<int>(n));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(sealed.ciphertext.data() + n));
  int ok = EVP_DecryptFinal_ex(ctx, plain.data() + len, &len);
  EVP_CIPHER_CTX_free(ctx);
  if (ok != 1) return Status::PermissionDenied("the data does not open with this key (wrong key, or altered)");
  plain.resize(n);
  return plain;
}

Hash HmacSha256(ByteSpan key, ByteSpan data) {
  Hash out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out.data(), &len);
  return out;
}

SymmetricKey HkdfSha256(ByteSpan key, std::string_view info) {
  SymmetricKey out{};
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr);
  size_t len = out.size();
  bool ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
            EVP_PKEY_CTX_set1_hkdf_key(ctx, key.data(), static_cast<int>(key.size())) == 1 &&
            EVP_PKEY_CTX_add1_hkdf_info(ctx, reinterpret_cast<const unsigned char*>(info.data()),
                                        static_cast<int>(info.size())) == 1 &&
            EVP_PKEY_derive(ctx, out.data(), &len) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) std::abort();  // HKDF with valid inputs cannot fail
  return out;
}

Result<SymmetricKey> LoadMasterKey(const std::string& path) {
  std::string text;
  if (!path.empty()) {
    auto t = ReadFile(path);
    if (!t.ok()) return t.status().WithPrefix("master key: ");
    text = *t;
  } else if (const char* env = std::getenv("ELDERCARE_MASTER_KEY")) {
    text = env;
  } else {
    return Status::InvalidArgument("no master key: pass --master-key FILE or set ELDERCARE_MASTER_KEY");
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.pop_back();
  auto raw = Base64Decode(text);
  if (!raw.ok() || raw->size() != 32) return Status::InvalidArgument("the master key must be 32 bytes in base64");
  SymmetricKey k;
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

Status WriteMasterKeyFile(const std::string& path, const SymmetricKey& key) {
  return WriteNewFile(path, Base64Encode(key) + "\n", 0600);
}

Result<std::string> NormaliseIdNumber(std::string_view id) {
  std::string out;
  for (char c : id) out += static_cast<char>(c == 'x' ? 'X' : c);
  bool ok = out.size() == 18;
  for (size_t i = 0; ok && i < 17; ++i) ok = out[i] >= '0' && out[i] <= '9';
  ok = ok && ((out[17] >= '0' && out[17] <= '9') || out[17] == 'X');
  if (!ok) return Status::InvalidArgument("field 'id_number' is not an 18-character resident ID number");
  return out;
}

Bytes PersonalAad(std::string_view elder_id, ByteSpan key_id) { return Aad(kPersonalContext, elder_id, key_id); }

KeyStore::~KeyStore() {
  if (db_) db_->Close();
}

namespace {
Result<std::unique_ptr<rocksdb::DB>> OpenStore(const std::string& ledger_dir, rocksdb::Env* env, bool create) {
  rocksdb::Options o;
  o.create_if_missing = create;
  o.paranoid_checks = true;
  o.keep_log_file_num = 1;
  o.WAL_ttl_seconds = 0;
  o.WAL_size_limit_MB = 0;
  if (env) o.env = env;
  rocksdb::DB* raw = nullptr;
  std::string path = (std::filesystem::path(ledger_dir) / "keystore").string();
  auto s = rocksdb::DB::Open(o, path, &raw);
  if (!s.ok()) {
    if (!create) return Status::NotFound("ledger " + ledger_dir + " has no key store");
    return Status::IoError("opening the key store: " + s.ToString());
  }
  return std::unique_ptr<rocksdb::DB>(raw);
}
}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::Open(const std::string& ledger_dir, const SymmetricKey& master,
                                                 rocksdb::Env* env) {
  if (!std::filesystem::exists(std::filesystem::path(ledger_dir) / "log")) {
    return Status::NotFound("no ledger at " + ledger_dir);
  }
  ELDERCARE_ASSIGN_OR_RETURN(auto db, OpenStore(ledger_dir, env, true));
  std::unique_ptr<KeyStore> ks(new KeyStore());
  ks->db_ = std::move(db);
  ks->master_ = master;
  Hash check = HmacSha256(master, AsBytes(kCheckContext));
  std::string stored;
  auto s = ks->db_->Get(rocksdb::ReadOptions(), "meta/check", &stored);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ELDERCARE_RETURN_IF_ERROR(FromRocks(ks->db_->Put(wo, "meta/check", std::string(check.begin(), check.end())), "key store"));
  } else if (!s.ok()) {
    return FromRocks(s, "key store");
  } else if (stored != std::string(check.begin(), check.end())) {
    return Status::PermissionDenied("this master key is not the one the key store was created with");
  }
  return ks;
}

Result<std::unique_ptr<KeyStore>> KeyStore::OpenForErasure(const std::string& ledger_dir, rocksdb::Env* env) {
  ELDERCARE_ASSIGN_OR_RETURN(auto db, OpenStore(ledger_dir, env, false));
  std::unique_ptr<KeyStore> ks(new KeyStore());
  ks->db_ = std::move(db);
  return ks;
}

Result<KeyStore::DataKey> KeyStore::Create(const std::string& elder_id) {
  if (!master_) return Status::FailedPrecondition("the key store was opened without the master key");
  if (Has(elder_id)) return Status::AlreadyExists("elder '" + elder_id + "' already has a data key");
  SymmetricKey key;
  Bytes kb = Random(key.size());
  std::copy(kb.begin(), kb.end(), key.begin());
  DataKey dk{Random(16), key};
  Sealed wrapped = SealAesGcm(*master_, key, Aad(kDekContext, elder_id, dk.key_id), Random(12));
  std::string value(dk.key_id.begin(), dk.key_id.end());
  value.append(wrapped.nonce.begin(), wrapped.nonce.end());
  value.append(wrapped.ciphertext.begin(), wrapped.ciphertext.end());
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ELDERCARE_RETURN_IF_ERROR(FromRocks(db_->Put(wo, DekKey(elder_id), value), "storing a data key"));
  return dk;
}

Result<std::vector<KeyStore::DataKey>> KeyStore::CreateMany(const std::vector<std::string>& elder_ids) {
  if (!master_) return Status::FailedPrecondition("the key store was opened without the master key");
  rocksdb::WriteBatch batch;
  std::vector<DataKey> out;
  for (const auto& id : elder_ids) {
    if (Has(id)) return Status::AlreadyExists("elder '" + id + "' already has a data key");
    SymmetricKey key;
    Bytes kb = Random(key.size());
    std::copy(kb.begin(), kb.end(), key.begin());
    DataKey dk{Random(16), key};
    Sealed wrapped = SealAesGcm(*master_, key, Aad(kDekContext, id, dk.key_id), Random(12));
    std::string value(dk.key_id.begin(), dk.key_id.end());
    value.append(wrapped.nonce.begin(), wrapped.nonce.end());
    value.append(wrapped.ciphertext.begin(), wrapped.ciphertext.end());
    batch.Put(DekKey(id), value);
    out.push_back(std::move(dk));
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ELDERCARE_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "storing data keys"));
  return out;
}

bool KeyStore::Has(const std::string& elder_id) const {
  std::string v;
  return db_->Get(rocksdb::ReadOptions(), DekKey(elder_id), &v).ok();
}

Result<KeyStore::DataKey> KeyStore::Get(const std::string& elder_id) const {
  if (!master_) return Status::FailedPrecondition("the key store was opened without the master key");
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), DekKey(elder_id), &v);
  if (s.IsNotFound()) {
    return Status::NotFound("elder '" + elder_id + "' has no data key: never sealed, or erased");
  }
  ELDERCARE_RETURN_IF_ERROR(FromRocks(s, "reading a data key"));
  if (v.size() != 16 + 12 + 48) return Status::Corruption("data key record of '" + elder_id + "' is malformed");
  DataKey dk;
  dk.key_id.assign(v.begin(), v.begin() + 16);
  Sealed wrapped{Bytes(v.begin() + 16, v.begin() + 28), Bytes(v.begin() + 28, v.end())};
  auto key = OpenAesGcm(*master_, wrapped, Aad(kDekContext, elder_id, dk.key_id));
  if (!key.ok()) return Status::Corruption("data key of '" + elder_id + "' does not unwrap");
  std::copy(key->begin(), key->end(), dk.key.begin());
  return dk;
}

Status KeyStore::Destroy(const std::string& elder_id) { return DestroyMany({elder_id}); }

Status KeyStore::DestroyMany(const std::vector<std::string>& elder_ids) {
  rocksdb::WriteBatch batch;
  for (const auto& id : elder_ids) batch.Delete(DekKey(id));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ELDERCARE_RETURN_IF_ERROR(FromRocks(db_->Write(wo, &batch), "deleting data keys"));
  // A delete only hides the old value: flush the memtable and rewrite every
  // file so that no SST, and no WAL still needed, holds the wrapped key.
  ELDERCARE_RETURN_IF_ERROR(FromRocks(db_->Flush(rocksdb::FlushOptions()), "flushing the key store"));
  rocksdb::CompactRangeOptions c;
  c.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  ELDERCARE_RETURN_IF_ERROR(FromRocks(db_->CompactRange(c, nullptr, nullptr), "compacting the key store"));
  return FromRocks(db_->FlushWAL(true), "syncing the key store");
}

Result<Hash> KeyStore::IdNumberHmac(std::string_view id_number) const {
  if (!master_) return Status::FailedPrecondition("the key store was opened without the master key");
  ELDERCARE_ASSIGN_OR_RETURN(std::string normal, NormaliseIdNumber(id_number));
  SymmetricKey hmac_key = HkdfSha256(*master_, kHmacInfo);
  return HmacSha256(hmac_key, AsBytes(normal));
}

}  // namespace eldercare
