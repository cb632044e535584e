#include "ledger/note.h"

#include <charconv>

namespace eldercare::note {
namespace {

constexpr std::string_view kSigPrefix = "\xe2\x80\x94 ";  // U+2014 EM DASH, space

Status ValidateText(std::string_view text) {
  if (text.empty() || text.back() != '\n') return Status::InvalidArgument("note text must end with a newline");
  if (text.size() > kMaxNoteBytes) return Status::InvalidArgument("note text is too long");
  if (!IsValidUtf8(text)) return Status::InvalidArgument("note text is not valid UTF-8");
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n') || c == 0x7f) {
      return Status::InvalidArgument("note text contains a control character");
    }
  }
  if (text.find("\n\n") != std::string_view::npos) {
    return Status::InvalidArgument("note text must not contain a blank line");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateKeyName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("key name is empty");
  if (!IsValidUtf8(name)) return Status::InvalidArgument("key name is not valid UTF-8");
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || c == '+') {
      return Status::InvalidArgument("key name '" + std::string(name) +
                                     "' must not contain spaces, control characters or '+'");
    }
  }
  // Unicode spaces outside ASCII (U+00A0, U+2000..U+200A, U+3000...) are rare in
  // origins; reject the common ones explicitly.
  for (std::string_view sp : {"\xc2\xa0", "\xe3\x80\x80", "\xe2\x80\x80", "\xe2\x80\x82", "\xe2\x80\x83"}) {
    if (name.find(sp) != std::string_view::npos) return Status::InvalidArgument("key name contains a space");
  }
  return Status::Ok();
}

uint32_t KeyId(std::string_view name, const PublicKey& key) {
  Sha256Hasher h;
  h.Update(name);
  h.Update(uint8_t{'\n'});
  h.Update(kAlgEd25519);
  h.Update(key.raw());
  Hash d = h.Finish();
  return uint32_t{d[0]} << 24 | uint32_t{d[1]} << 16 | uint32_t{d[2]} << 8 | d[3];
}

namespace {
std::string Hex8(uint32_t v) {
  uint8_t b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  return HexEncode(b);
}
}  // namespace

std::string VerifierKey(std::string_view name, const PublicKey& key) {
  Bytes typed;
  typed.push_back(kAlgEd25519);
  typed.insert(typed.end(), key.raw().begin(), key.raw().end());
  return std::string(name) + "+" + Hex8(KeyId(name, key)) + "+" + Base64Encode(typed);
}

Result<Verifier> ParseVerifierKey(std::string_view vkey) {
  size_t p1 = vkey.find('+');
  size_t p2 = p1 == std::string_view::npos ? p1 : vkey.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return Status::InvalidArgument("verifier key must be name+hexid+base64key");
  }
  std::string_view name = vkey.substr(0, p1), id_hex = vkey.substr(p1 + 1, p2 - p1 - 1),
                   key_b64 = vkey.substr(p2 + 1);
  ELDERCARE_RETURN_IF_ERROR(ValidateKeyName(name));
  auto id = HexDecode(id_hex);
  if (!id.ok() || id->size() != 4) return Status::InvalidArgument("verifier key id must be 8 hex digits");
  auto typed = Base64Decode(key_b64);
  if (!typed.ok()) return typed.status().WithPrefix("verifier key: ");
  if (typed->empty() || (*typed)[0] != kAlgEd25519) {
    return Status::InvalidArgument("verifier key is not an Ed25519 (type 0x01) key");
  }
  auto key = PublicKey::FromRaw(ByteSpan(*typed).subspan(1));
  if (!key.ok()) return key.status();
  uint32_t want = uint32_t{(*id)[0]} << 24 | uint32_t{(*id)[1]} << 16 | uint32_t{(*id)[2]} << 8 | (*id)[3];
  if (KeyId(name, *key) != want) return Status::InvalidArgument("verifier key id does not match its key");
  return Verifier{std::string(name), want, *key};
}

Result<std::string> Sign(std::string_view text, std::string_view name, const PrivateKey& key) {
  ELDERCARE_RETURN_IF_ERROR(ValidateText(text));
  ELDERCARE_RETURN_IF_ERROR(ValidateKeyName(name));
  auto sig = key.Sign(AsBytes(text));
  uint32_t id = KeyId(name, key.public_key());
  Bytes blob = {uint8_t(id >> 24), uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id)};
  blob.insert(blob.end(), sig.begin(), sig.end());
  std::string out(text);
  out += "\n";
  out += kSigPrefix;
  out += name;
  out += " ";
  out += Base64Encode(blob);
  out += "\n";
  return out;
}

Result<Note> Parse(std::string_view note) {
  if (note.size() > kMaxNoteBytes) return Status::InvalidArgument("note is too long");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return Status::InvalidArgument("note has no signature block");
  Note out;
  out.text = std::string(note.substr(0, split + 1));
  ELDERCARE_RETURN_IF_ERROR(ValidateText(out.text));
  std::string_view rest = note.substr(split + 2);
  if (rest.empty() || rest.back() != '\n') {
    return Status::InvalidArgument("note's last signature line must end with a newline");
  }
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return Status::InvalidArgument("note signature line does not start with an em dash and a space");
    }
    line.remove_prefix(kSigPrefix.size());
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return Status::InvalidArgument("note signature line has no signature");
    Signature s;
    s.name = std::string(line.substr(0, sp));
    ELDERCARE_RETURN_IF_ERROR(ValidateKeyName(s.name));
    auto blob = Base64Decode(line.substr(sp + 1));
    if (!blob.ok()) return blob.status().WithPrefix("note signature: ");
    if (blob->size() < 5) return Status::InvalidArgument("note signature is too short");
    s.key_id = uint32_t{(*blob)[0]} << 24 | uint32_t{(*blob)[1]} << 16 | uint32_t{(*blob)[2]} << 8 | (*blob)[3];
    s.signature.assign(blob->begin() + 4, blob->end());
    out.signatures.push_back(std::move(s));
    if (out.signatures.size() > kMaxSignatures) return Status::InvalidArgument("note has too many signatures");
  }
  return out;
}

Result<std::string> Open(std::string_view note, const Verifier& verifier) {
  auto parsed = Parse(note);
  if (!parsed.ok()) return parsed.status();
  for (const Signature& s : parsed->signatures) {
    if (s.name != verifier.name || s.key_id != verifier.key_id) continue;
    if (!verifier.key.Verify(AsBytes(parsed->text), s.signature)) {
      return Status::PermissionDenied("note signature by " + verifier.name + " is invalid");
    }
    return std::move(parsed->text);
  }
  return Status::PermissionDenied("note is not signed by " + verifier.name + "+" + Hex8(verifier.key_id));
}

}  // namespace eldercare::note

namespace eldercare::checkpoint {

std::string FormatBody(const Checkpoint& c) {
  std::string out = c.origin + "\n" + std::to_string(c.size) + "\n" + Base64Encode(c.root) + "\n";
  for (const auto& e : c.extensions) out += e + "\n";
  return out;
}

Result<Checkpoint> ParseBody(std::string_view text) {
  std::vector<std::string_view> lines;
  if (text.empty() || text.back() != '\n') return Status::InvalidArgument("checkpoint must end with a newline");
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    lines.push_back(rest.substr(0, eol));
    rest.remove_prefix(eol + 1);
  }
  if (lines.size() < 3) return Status::InvalidArgument("checkpoint needs origin, size and root lines");
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) return Status::InvalidArgument("checkpoint origin is empty");
  std::string_view sz = lines[1];
  if (sz.empty() || (sz.size() > 1 && sz[0] == '0')) {
    return Status::InvalidArgument("checkpoint size must be a decimal number without leading zeros");
  }
  auto [ptr, ec] = std::from_chars(sz.data(), sz.data() + sz.size(), c.size);
  if (ec != std::errc() || ptr != sz.data() + sz.size()) {
    return Status::InvalidArgument("checkpoint size '" + std::string(sz) + "' is not a 64-bit decimal");
  }
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != kHashSize) {
    return Status::InvalidArgument("checkpoint root must be the base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), c.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Status::InvalidArgument("checkpoint extension line is empty");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

}  // namespace eldercare::checkpoint
