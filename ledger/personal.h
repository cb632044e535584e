// Sealing and revealing an elder's personal data (see ledger/privacy.h for
// the cryptography). Nothing here writes plaintext anywhere: it exists only
// in the caller's memory.
#ifndef ELDERCARE_LEDGER_PERSONAL_H_
#define ELDERCARE_LEDGER_PERSONAL_H_

#include <nlohmann/json.hpp>
#include <string>

#include "ledger/ledger.h"
#include "ledger/privacy.h"
#include "ledger/status.h"
#include "schema/ledger.capnp.h"

namespace eldercare {

struct PersonalData {
  std::string name;
  std::string id_number;
  std::string phone;
  std::string address;
  std::string notes;

  // {"name","id_number","phone","address","notes"}; unknown keys are errors.
  static Result<PersonalData> FromJson(const nlohmann::json& j);
  nlohmann::json ToJson() const;
};

// Creates the elder's data key in `keys`, seals `data` into `out`'s
// `personal` and sets `id_number_hmac`. AlreadyExists if the elder has a key.
Status SealPersonal(KeyStore& keys, const PersonalData& data, schema::ElderRegistered::Builder out);

// The same with a data key already created (bulk registration).
Status SealPersonalWith(const KeyStore& keys, const KeyStore::DataKey& dk, const PersonalData& data,
                        schema::ElderRegistered::Builder out);

// Decrypts the `personal` of a registration. NotFound once the key is shredded.
Result<PersonalData> OpenPersonal(const KeyStore& keys, schema::ElderRegistered::Reader registered);

// Appends `access` (a signed submission holding one personal_data_revealed
// event for this elder) and only then decrypts: a reveal the ledger refuses
// (role, contract, erased) shows nothing, and every reveal shown is in the log.
Result<PersonalData> RevealAfterRecording(Ledger& ledger, const KeyStore& keys,
                                          schema::Submission::Reader access,
                                          schema::ElderRegistered::Reader registered);

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_PERSONAL_H_
