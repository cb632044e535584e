#include "ledger/personal.h"

namespace eldercare {
namespace {

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

}  // namespace

Result<PersonalData> PersonalData::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("'personal' must be an object");
  PersonalData p;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return Status::InvalidArgument("field 'personal." + it.key() + "' must be a string");
    std::string v = it.value().get<std::string>();
    if (!IsValidUtf8(v) || v.size() > 2000) return Status::InvalidArgument("field 'personal." + it.key() + "' is not valid text");
    if (it.key() == "name") p.name = v;
    else if (it.key() == "id_number") p.id_number = v;
    else if (it.key() == "phone") p.phone = v;
    else if (it.key() == "address") p.address = v;
    else if (it.key() == "notes") p.notes = v;
    else return Status::InvalidArgument("unknown field 'personal." + it.key() + "'");
  }
  if (p.name.empty()) return Status::InvalidArgument("missing required field 'personal.name'");
  if (!p.id_number.empty()) ELDERCARE_RETURN_IF_ERROR(NormaliseIdNumber(p.id_number).status());
  return p;
}

nlohmann::json PersonalData::ToJson() const {
  return {{"name", name}, {"id_number", id_number}, {"phone", phone}, {"address", address}, {"notes", notes}};
}

Status SealPersonal(KeyStore& keys, const PersonalData& data, schema::ElderRegistered::Builder out) {
  if (!data.id_number.empty()) ELDERCARE_RETURN_IF_ERROR(keys.IdNumberHmac(data.id_number).status());
  ELDERCARE_ASSIGN_OR_RETURN(KeyStore::DataKey dk, keys.Create(Str(out.getElderId())));
  return SealPersonalWith(keys, dk, data, out);
}

Status SealPersonalWith(const KeyStore& keys, const KeyStore::DataKey& dk, const PersonalData& data,
                        schema::ElderRegistered::Builder out) {
  std::string elder = Str(out.getElderId());
  Hash hmac{};
  if (!data.id_number.empty()) {
    ELDERCARE_ASSIGN_OR_RETURN(hmac, keys.IdNumberHmac(data.id_number));
  }
  std::string plain = data.ToJson().dump();
  Sealed sealed = SealAesGcm(dk.key, AsBytes(plain), PersonalAad(elder, dk.key_id), keys.Random(12));
  auto p = out.initPersonal();
  p.setKeyId(capnp::Data::Reader(dk.key_id.data(), dk.key_id.size()));
  p.setNonce(capnp::Data::Reader(sealed.nonce.data(), sealed.nonce.size()));
  p.setCiphertext(capnp::Data::Reader(sealed.ciphertext.data(), sealed.ciphertext.size()));
  if (!data.id_number.empty()) out.setIdNumberHmac(capnp::Data::Reader(hmac.data(), hmac.size()));
  return Status::Ok();
}

Result<PersonalData> OpenPersonal(const KeyStore& keys, schema::ElderRegistered::Reader registered) {
  std::string elder = Str(registered.getElderId());
  if (!registered.hasPersonal()) return Status::NotFound("elder '" + elder + "' was registered without personal data");
  ELDERCARE_ASSIGN_OR_RETURN(KeyStore::DataKey dk, keys.Get(elder));
  auto p = registered.getPersonal();
  Bytes key_id(p.getKeyId().begin(), p.getKeyId().end());
  if (key_id != dk.key_id) return Status::NotFound("elder '" + elder + "''s data key was replaced or erased");
  Sealed sealed{Bytes(p.getNonce().begin(), p.getNonce().end()), Bytes(p.getCiphertext().begin(), p.getCiphertext().end())};
  ELDERCARE_ASSIGN_OR_RETURN(Bytes plain, OpenAesGcm(dk.key, sealed, PersonalAad(elder, key_id)));
  auto j = nlohmann::json::parse(plain.begin(), plain.end(), nullptr, false);
  if (j.is_discarded()) return Status::Corruption("personal data of '" + elder + "' decrypts to something that is not JSON");
  return PersonalData::FromJson(j);
}

Result<PersonalData> RevealAfterRecording(Ledger& ledger, const KeyStore& keys, schema::Submission::Reader access,
                                          schema::ElderRegistered::Reader registered) {
  auto events = access.getEvents();
  if (events.size() != 1 || !events[0].isPersonalDataRevealed() ||
      events[0].getPersonalDataRevealed().getElderId() != registered.getElderId()) {
    return Status::InvalidArgument("a reveal is recorded by exactly one personal_data_revealed event for the elder");
  }
  // Fail before recording when there is nothing to decrypt.
  if (!keys.Has(Str(registered.getElderId()))) {
    return Status::NotFound("elder '" + Str(registered.getElderId()) + "' has no data key: never sealed, or erased");
  }
  ELDERCARE_ASSIGN_OR_RETURN(AppendResult recorded, ledger.Append(access));
  (void)recorded;
  return OpenPersonal(keys, registered);
}

}  // namespace eldercare
