// What the schema says about events, read once by reflection: type names,
// which roles may write each type, and the structural rules (required fields,
// lengths, UTF-8, known enum values) that every body must satisfy.
//
// The permission table lives in schema/common.capnp's $writers annotations,
// so the schema an evaluator reads is the table the code enforces.
#ifndef ELDERCARE_LEDGER_EVENT_SCHEMA_H_
#define ELDERCARE_LEDGER_EVENT_SCHEMA_H_

#include <capnp/schema.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "schema/ledger.capnp.h"

namespace eldercare::events {

using schema::EventBody;
using schema::Role;

// Annotation ids, as declared in schema/common.capnp (a test pins them).
constexpr uint64_t kAnnWriters = 0xc7fec3da0711c098ull;
constexpr uint64_t kAnnRequired = 0x925be0a5479e835aull;
constexpr uint64_t kAnnTimestamp = 0x9f4ba2e2fe68f3b3ull;
constexpr uint64_t kAnnDate = 0xe860d915c21514f6ull;
constexpr uint64_t kAnnSize = 0xd6e5c3a2b1f0e9d8ull;
constexpr uint64_t kAnnMaxLength = 0xbd2c6a1e4f3b5a70ull;
constexpr uint64_t kAnnHex = 0xf3a1c9e2d4b60718ull;

// Default cap on a Text or Data field without $maxLength.
constexpr size_t kDefaultMaxFieldBytes = 4096;

bool HasAnnotation(const capnp::StructSchema::Field& field, uint64_t id);
std::optional<uint32_t> UInt32Annotation(const capnp::StructSchema::Field& field, uint64_t id);

// "actorId" -> "actor_id".
std::string SnakeCase(std::string_view camel);

std::string_view RoleName(Role role);
Result<Role> ParseRole(std::string_view name);
std::string AllRoleNames();  // "operator, bureau, ..." for error messages

struct EventType {
  uint16_t which = 0;          // EventBody discriminant
  std::string name;            // "key_registered"
  capnp::StructSchema::Field field;
  std::vector<Role> writers;   // from $writers
};

// One per member of EventBody's union, indexed by discriminant.
const std::vector<EventType>& EventTypes();
const EventType* FindEventType(std::string_view name);
// nullptr when the body's union member is unknown to this build.
const EventType* EventTypeOf(EventBody::Reader body);
bool RoleMayWrite(Role role, const EventType& type);

// Structural checks of one body; the message names the field at fault.
Status ValidateBody(EventBody::Reader body);
// The two halves of ValidateBody, for tests: a fast check over plans of the
// schema resolved once, which answers true only for bodies the dynamic
// (reflection) validator accepts, and that validator, which gives every
// verdict and message. ValidateBody is Ok when the fast check is true, and
// the dynamic verdict otherwise.
bool FastBodyIsValid(EventBody::Reader body);
Status ValidateBodyDynamic(EventBody::Reader body);

// Actor and submission ids: 1-128 bytes of [A-Za-z0-9._:@/-], starting with a
// letter or digit. `what` names the id in the error ("writer", "actor_id").
Status ValidateId(std::string_view what, std::string_view id);

}  // namespace eldercare::events

#endif  // ELDERCARE_LEDGER_EVENT_SCHEMA_H_
