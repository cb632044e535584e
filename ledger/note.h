// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and
// C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint).
//
// Note grammar:
//   note      = text "\n" 1*sigline        ; text ends in "\n", so a blank line separates
//   sigline   = "\u2014 " keyname " " base64(keyid[4] || ed25519sig[64]) "\n"
//   keyid     = SHA-256(keyname || 0x0A || 0x01 || pubkey)[:4]
//   vkey      = keyname "+" hex(keyid) "+" base64(0x01 || pubkey)
// The signature covers exactly the text, including its final newline.
//
// Checkpoint body grammar:
//   origin "\n" decimal(tree size) "\n" base64(root hash) "\n" *(extension "\n")
#ifndef ELDERCARE_LEDGER_NOTE_H_
#define ELDERCARE_LEDGER_NOTE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace eldercare::note {

constexpr uint8_t kAlgEd25519 = 0x01;
constexpr size_t kMaxSignatures = 100;
constexpr size_t kMaxNoteBytes = 1 << 20;

// Key names are non-empty, valid UTF-8, with no whitespace and no '+'.
Status ValidateKeyName(std::string_view name);
uint32_t KeyId(std::string_view name, const PublicKey& key);
std::string VerifierKey(std::string_view name, const PublicKey& key);

struct Verifier {
  std::string name;
  uint32_t key_id = 0;
  PublicKey key;
};
Result<Verifier> ParseVerifierKey(std::string_view vkey);

struct Signature {
  std::string name;
  uint32_t key_id = 0;
  Bytes signature;  // without the key id
};

struct Note {
  std::string text;  // what the signatures cover, final newline included
  std::vector<Signature> signatures;
};

// Signs `text` (must satisfy the note text rules) and returns the whole note.
Result<std::string> Sign(std::string_view text, std::string_view name, const PrivateKey& key);

// Parses syntax only; nothing is trusted yet.
Result<Note> Parse(std::string_view note);

// Parses and verifies: OK only if a signature line by `verifier` (same name
// and key id) is present and valid. Returns the verified text.
Result<std::string> Open(std::string_view note, const Verifier& verifier);

}  // namespace eldercare::note

namespace eldercare::checkpoint {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
};

std::string FormatBody(const Checkpoint& c);
Result<Checkpoint> ParseBody(std::string_view text);

}  // namespace eldercare::checkpoint

#endif  // ELDERCARE_LEDGER_NOTE_H_
