// Events as JSON, for people and for `audit-cli submit`.
//
// One event is one JSON object: {"type": "<snake_case union member>", ...the
// member's fields in snake_case}. Conversion is driven by the schema (see
// schema/common.capnp's annotations), so every event type gets the same rules:
//   - unknown fields, missing $required fields and wrong JSON types are errors
//     that name the field;
//   - Data is base64 (hex with $hex), $timestamp is RFC 3339 text, $date is
//     "YYYY-MM-DD", enums are their snake_case names, 64-bit integers are JSON
//     numbers; null means "not set".
#ifndef ELDERCARE_LEDGER_EVENT_JSON_H_
#define ELDERCARE_LEDGER_EVENT_JSON_H_

#include <capnp/dynamic.h>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ledger/status.h"
#include "schema/ledger.capnp.h"

namespace eldercare::events {

Status EventFromJson(const nlohmann::json& j, schema::EventBody::Builder body);
// Parses `text` as one JSON object first; syntax errors give the column.
Status EventFromJsonText(std::string_view text, schema::EventBody::Builder body);
// JSON text, refusing what is ambiguous as well as what is malformed: an
// object with one key twice is an error naming the key.
Result<nlohmann::json> ParseStrictJson(std::string_view text);

nlohmann::json EventToJson(schema::EventBody::Reader body);

// A stored entry for people: {"index", "recorded_at", "writer",
// "submission_id", "position", "count", "signature", "leaf_hash", "event"}.
nlohmann::json EntryToJson(schema::Entry::Reader entry, const std::string& leaf_hash_hex);

// Any struct (for nested use by reports): same conventions, no "type" key.
nlohmann::json StructToJson(capnp::DynamicStruct::Reader r);

}  // namespace eldercare::events

#endif  // ELDERCARE_LEDGER_EVENT_JSON_H_
