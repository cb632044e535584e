#include "ledger/event_json.h"

#include <absl/container/flat_hash_map.h>
#include <capnp/dynamic.h>

#include <cmath>
#include <limits>
#include <set>

#include "ledger/bytes.h"
#include "ledger/event_schema.h"
#include "ledger/time_util.h"

namespace eldercare::events {
namespace {

using capnp::DynamicList;
using capnp::DynamicStruct;
using capnp::DynamicValue;
using capnp::StructSchema;
using nlohmann::json;
namespace st = capnp::schema;

const char* JsonTypeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: {
      // An integer literal past 64 bits reaches here as a float too.
      double v = j.get<double>();
      return std::isfinite(v) && std::trunc(v) == v && std::fabs(v) >= 9.2e18 ? "an integer too large for 64 bits"
                                                                               : "a decimal number";
    }
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unsupported value";
  }
}

Status WrongType(const std::string& name, const char* want, const json& got) {
  return Status::InvalidArgument("field '" + name + "': expected " + want + ", got " + JsonTypeName(got));
}

template <typename T>
Result<T> IntegerIn(const json& j, const std::string& name) {
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return Status::InvalidArgument("field '" + name + "': " + std::to_string(v) + " is out of range");
    }
    return static_cast<T>(v);
  }
  if (j.is_number_integer()) {
    auto v = j.get<int64_t>();
    if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        (v > 0 && static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
      return Status::InvalidArgument("field '" + name + "': " + std::to_string(v) + " is out of range");
    }
    return static_cast<T>(v);
  }
  return WrongType(name, "an integer", j);
}

bool IsAllDefault(DynamicStruct::Reader r) {
  for (auto f : r.getSchema().getFields()) {
    if (r.has(f, capnp::HasMode::NON_DEFAULT)) return false;
  }
  return true;
}

Status StructFromJson(const json& obj, DynamicStruct::Builder b, const std::string& path,
                      const std::string& skip_key, int depth);

Status EpochRefused(const std::string& name, const json& j) {
  return Status::InvalidArgument("field '" + name + "': " + j.get<std::string>() +
                                 " is the epoch, which the log keeps for a date or time not given");
}

// Converts one JSON value of a field's (element) type into a DynamicValue and
// hands it to `set`. Structs and lists are built in place through `init`.
Status ValueFromJson(const StructSchema::Field& field, capnp::Type type, const json& j,
                     const std::string& name, int depth, const std::function<void(DynamicValue::Reader)>& set,
                     const std::function<DynamicValue::Builder(uint32_t)>& init) {
  switch (type.which()) {
    case st::Type::BOOL:
      if (!j.is_boolean()) return WrongType(name, "true or false", j);
      set(j.get<bool>());
      return Status::Ok();
    case st::Type::INT8: { ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<int8_t>(j, name)); set(v); return Status::Ok(); }
    case st::Type::INT16: { ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<int16_t>(j, name)); set(v); return Status::Ok(); }
    case st::Type::UINT8: { ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<uint8_t>(j, name)); set(v); return Status::Ok(); }
    case st::Type::UINT16: { ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<uint16_t>(j, name)); set(v); return Status::Ok(); }
    case st::Type::UINT32: { ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<uint32_t>(j, name)); set(v); return Status::Ok(); }
    case st::Type::UINT64: { ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<uint64_t>(j, name)); set(v); return Status::Ok(); }
    case st::Type::INT32: {
      if (HasAnnotation(field, kAnnDate)) {
        if (!j.is_string()) return WrongType(name, "a date \"YYYY-MM-DD\"", j);
        auto d = ParseDate(j.get<std::string>());
        if (!d.ok()) return d.status().WithPrefix("field '" + name + "': ");
        // Day 0 is how the log stores "no date": shown back it would read
        // as absent, not as what was signed.
        if (*d == 0) return EpochRefused(name, j);
        set(*d);
        return Status::Ok();
      }
      ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<int32_t>(j, name));
      set(v);
      return Status::Ok();
    }
    case st::Type::INT64: {
      if (HasAnnotation(field, kAnnTimestamp)) {
        if (!j.is_string()) return WrongType(name, "an RFC 3339 time string", j);
        auto t = ParseTimestamp(j.get<std::string>());
        if (!t.ok()) return t.status().WithPrefix("field '" + name + "': ");
        if (*t == 0) return EpochRefused(name, j);
        set(*t);
        return Status::Ok();
      }
      ELDERCARE_ASSIGN_OR_RETURN(auto v, IntegerIn<int64_t>(j, name));
      set(v);
      return Status::Ok();
    }
    case st::Type::FLOAT32:
    case st::Type::FLOAT64:
      if (!j.is_number()) return WrongType(name, "a number", j);
      if (!std::isfinite(j.get<double>()) ||
          (type.which() == st::Type::FLOAT32 && std::abs(j.get<double>()) > std::numeric_limits<float>::max())) {
        return Status::InvalidArgument("field '" + name + "': " + j.dump() + " is out of range");
      }
      set(j.get<double>());
      return Status::Ok();
    case st::Type::TEXT: {
      if (!j.is_string()) return WrongType(name, "a string", j);
      const auto& s = j.get_ref<const std::string&>();
      if (!IsValidUtf8(s)) return Status::InvalidArgument("field '" + name + "' is not valid UTF-8");
      size_t max = UInt32Annotation(field, kAnnMaxLength).value_or(kDefaultMaxFieldBytes);
      if (s.size() > max) {
        return Status::InvalidArgument("field '" + name + "' is " + std::to_string(s.size()) +
                                       " bytes, more than its limit of " + std::to_string(max));
      }
      // "" is left unset, as an empty list is: one spelling, one encoding.
      if (!s.empty()) set(capnp::Text::Reader(s.c_str(), s.size()));
      return Status::Ok();
    }
    case st::Type::DATA: {
      bool hex = HasAnnotation(field, kAnnHex);
      if (!j.is_string()) return WrongType(name, hex ? "a hex string" : "a base64 string", j);
      auto bytes = hex ? HexDecode(j.get<std::string>()) : Base64Decode(j.get<std::string>());
      if (!bytes.ok()) return bytes.status().WithPrefix("field '" + name + "': ");
      if (bytes->empty()) return Status::Ok();  // unset, as shown for an unset field
      if (auto exact = UInt32Annotation(field, kAnnSize); exact && bytes->size() != *exact) {
        return Status::InvalidArgument("field '" + name + "' must be " + std::to_string(*exact) + " bytes, got " +
                                       std::to_string(bytes->size()));
      }
      set(capnp::Data::Reader(bytes->data(), bytes->size()));
      return Status::Ok();
    }
    case st::Type::ENUM: {
      if (!j.is_string()) return WrongType(name, "a string", j);
      for (auto e : type.asEnum().getEnumerants()) {
        if (SnakeCase(e.getProto().getName().cStr()) == j.get<std::string>()) {
          set(capnp::DynamicEnum(e));
          return Status::Ok();
        }
      }
      std::string names;
      for (auto e : type.asEnum().getEnumerants()) names += (names.empty() ? "" : ", ") + SnakeCase(e.getProto().getName().cStr());
      return Status::InvalidArgument("field '" + name + "': unknown value '" + j.get<std::string>() +
                                     "' (one of: " + names + ")");
    }
    case st::Type::STRUCT:
      if (!j.is_object()) return WrongType(name, "an object", j);
      return StructFromJson(j, init(0).as<DynamicStruct>(), name + ".", "", depth + 1);
    case st::Type::LIST: {
      if (!j.is_array()) return WrongType(name, "an array", j);
      if (j.size() > 100000) return Status::InvalidArgument("field '" + name + "' has too many items");
      // An empty list is left unset: it shows as [] either way, and one
      // value must have one canonical encoding (what was signed is what is shown).
      if (j.empty()) return Status::Ok();
      DynamicList::Builder list = init(static_cast<uint32_t>(j.size())).as<DynamicList>();
      capnp::Type elem = type.asList().getElementType();
      for (uint32_t i = 0; i < j.size(); ++i) {
        std::string ename = name + "[" + std::to_string(i) + "]";
        ELDERCARE_RETURN_IF_ERROR(ValueFromJson(
            field, elem, j[i], ename, depth,
            [&](DynamicValue::Reader v) { list.set(i, v); },
            [&](uint32_t n) -> DynamicValue::Builder {
              if (elem.isStruct()) return list[i];
              return list.init(i, n);
            }));
      }
      return Status::Ok();
    }
    default:
      return Status::InvalidArgument("field '" + name + "' has a type JSON cannot carry");
  }
}

Status StructFromJson(const json& obj, DynamicStruct::Builder b, const std::string& path,
                      const std::string& skip_key, int depth) {
  if (depth > 8) return Status::InvalidArgument("object nests too deeply");
  StructSchema s = b.getSchema();
  bool union_set = false;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == skip_key) continue;
    std::string name = path + it.key();
    std::optional<StructSchema::Field> field;
    for (auto f : s.getFields()) {
      if (SnakeCase(f.getProto().getName().cStr()) == it.key()) field = f;
    }
    if (!field) return Status::InvalidArgument("unknown field '" + name + "'");
    if (it.value().is_null()) {
      if (HasAnnotation(*field, kAnnRequired)) return Status::InvalidArgument("required field '" + name + "' is null");
      continue;
    }
    if (field->getProto().getDiscriminantValue() != st::Field::NO_DISCRIMINANT) {
      if (union_set) return Status::InvalidArgument("more than one variant given in '" + path + "'");
      union_set = true;
    }
    ELDERCARE_RETURN_IF_ERROR(ValueFromJson(
        *field, field->getType(), it.value(), name, depth,
        [&](DynamicValue::Reader v) { b.set(*field, v); },
        [&](uint32_t n) -> DynamicValue::Builder {
          return field->getType().isStruct() ? b.init(*field) : b.init(*field, n);
        }));
    // A nested struct whose every field is a default shows exactly as an
    // unset one does; keep it unset, so the shown JSON has one encoding.
    if (field->getType().isStruct() && IsAllDefault(b.get(*field).as<DynamicStruct>().asReader())) b.clear(*field);
  }
  for (auto f : s.getFields()) {
    if (!HasAnnotation(f, kAnnRequired)) continue;
    std::string key = SnakeCase(f.getProto().getName().cStr());
    if (!obj.contains(key)) return Status::InvalidArgument("missing required field '" + path + key + "'");
  }
  return Status::Ok();
}

// What showing a field as JSON needs from the schema, read once per field
// instead of for every value shown (the annotations are a linear search, the
// name a conversion). Per thread: exports render on every core. A field, or
// an enumerant, is known by where its name lies in the compiled-in schema
// (static data, one place for each; nothing here loads schemas at run time,
// whose names could be freed and their addresses reused).
struct ShownField {
  std::string name;  // snake_case
  bool timestamp = false;
  bool date = false;
  bool hex = false;
};

const ShownField& Shown(const StructSchema::Field& f) {
  thread_local absl::flat_hash_map<const char*, ShownField> known;
  const char* key = f.getProto().getName().cStr();
  auto it = known.find(key);
  if (it == known.end()) {
    it = known
             .emplace(key, ShownField{SnakeCase(f.getProto().getName().cStr()), HasAnnotation(f, kAnnTimestamp),
                                      HasAnnotation(f, kAnnDate), HasAnnotation(f, kAnnHex)})
             .first;
  }
  return it->second;
}

const std::string& ShownEnumerant(const capnp::EnumSchema::Enumerant& e) {
  thread_local absl::flat_hash_map<const char*, std::string> known;
  const char* key = e.getProto().getName().cStr();
  auto it = known.find(key);
  if (it == known.end()) it = known.emplace(key, SnakeCase(e.getProto().getName().cStr())).first;
  return it->second;
}

json ValueToJson(const StructSchema::Field& field, DynamicValue::Reader v);

json ListToJson(const StructSchema::Field& field, DynamicList::Reader list) {
  json arr = json::array();
  for (auto item : list) arr.push_back(ValueToJson(field, item));
  return arr;
}

json ValueToJson(const StructSchema::Field& field, DynamicValue::Reader v) {
  switch (v.getType()) {
    case DynamicValue::VOID: return nullptr;
    case DynamicValue::BOOL: return v.as<bool>();
    case DynamicValue::INT: {
      int64_t i = v.as<int64_t>();
      const ShownField& shown = Shown(field);
      if (shown.timestamp) return i == 0 ? json(nullptr) : json(FormatTimestamp(i));
      if (shown.date) return i == 0 ? json(nullptr) : json(FormatDate(static_cast<int32_t>(i)));
      return i;
    }
    case DynamicValue::UINT: return v.as<uint64_t>();
    case DynamicValue::FLOAT: return v.as<double>();
    case DynamicValue::TEXT: {
      auto t = v.as<capnp::Text>();
      return std::string(t.cStr(), t.size());
    }
    case DynamicValue::DATA: {
      auto d = v.as<capnp::Data>();
      return Shown(field).hex ? HexEncode(ByteSpan(d.begin(), d.size())) : Base64Encode(ByteSpan(d.begin(), d.size()));
    }
    case DynamicValue::ENUM: {
      auto e = v.as<capnp::DynamicEnum>();
      KJ_IF_MAYBE(en, e.getEnumerant()) { return ShownEnumerant(*en); }
      return e.getRaw();
    }
    case DynamicValue::STRUCT: return StructToJson(v.as<DynamicStruct>());
    case DynamicValue::LIST: return ListToJson(field, v.as<DynamicList>());
    default: return nullptr;
  }
}

}  // namespace

json StructToJson(DynamicStruct::Reader r) {
  json obj = json::object();
  StructSchema s = r.getSchema();
  for (auto f : s.getNonUnionFields()) obj[Shown(f).name] = ValueToJson(f, r.get(f));
  KJ_IF_MAYBE(active, r.which()) { obj[Shown(*active).name] = ValueToJson(*active, r.get(*active)); }
  return obj;
}

Status EventFromJson(const json& j, schema::EventBody::Builder body) {
  if (!j.is_object()) return Status::InvalidArgument(std::string("an event must be a JSON object, got ") + JsonTypeName(j));
  auto type_it = j.find("type");
  if (type_it == j.end()) return Status::InvalidArgument("missing field 'type' (the event type)");
  if (!type_it->is_string()) return WrongType("type", "a string", *type_it);
  const EventType* type = FindEventType(type_it->get<std::string>());
  if (type == nullptr) return Status::InvalidArgument("unknown event type '" + type_it->get<std::string>() + "'");
  try {
    DynamicStruct::Builder dyn = capnp::toDynamic(body);
    DynamicStruct::Builder member = dyn.init(type->field).as<DynamicStruct>();
    return StructFromJson(j, member, "", "type", 0);
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(std::string("event cannot be built: ") + e.getDescription().cStr());
  }
}

Result<json> ParseStrictJson(std::string_view text) {
  // Objects are checked for repeated keys as they are parsed: with one key
  // twice, which value was meant is anybody's guess, so neither is taken.
  std::vector<std::set<std::string>> open;
  std::string repeated;
  json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open.emplace_back();
    if (event == json::parse_event_t::object_end && !open.empty()) open.pop_back();
    if (event == json::parse_event_t::key && !open.empty() && !open.back().insert(parsed.get<std::string>()).second &&
        repeated.empty()) {
      repeated = parsed.get<std::string>();
    }
    return true;
  };
  json j = json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again with exceptions only to learn where the syntax breaks.
    try {
      json again = json::parse(text.begin(), text.end());
      (void)again;
    } catch (const json::parse_error& e) {
      return Status::InvalidArgument("malformed JSON at column " + std::to_string(e.byte) + ": " +
                                     std::string(e.what()).substr(std::string(e.what()).find(':') + 2));
    } catch (const json::exception& e) {
      // A number too large for a double ("number overflow parsing '2e999'"),
      // found by the submission_json fuzz target.
      return Status::InvalidArgument("malformed JSON: " + std::string(e.what()).substr(std::string(e.what()).find(']') + 2));
    }
    return Status::InvalidArgument("malformed JSON");
  }
  if (!repeated.empty()) return Status::InvalidArgument("field '" + repeated + "' appears more than once in an object");
  return j;
}

Status EventFromJsonText(std::string_view text, schema::EventBody::Builder body) {
  ELDERCARE_ASSIGN_OR_RETURN(json j, ParseStrictJson(text));
  return EventFromJson(j, body);
}

json EventToJson(schema::EventBody::Reader body) {
  const EventType* type = EventTypeOf(body);
  if (type == nullptr) return json{{"type", "unknown"}};
  DynamicStruct::Reader dyn = capnp::toDynamic(body);
  // No event struct has a field named "type" (the JSON would lose its
  // event type); the fields' object gains it in place rather than being
  // copied, value by value, into another.
  json obj = StructToJson(dyn.get(type->field).as<DynamicStruct>());
  obj["type"] = type->name;
  return obj;
}

json EntryToJson(schema::Entry::Reader e, const std::string& leaf_hash_hex) {
  json j = json::object();
  j["index"] = e.getIndex();
  j["recorded_at"] = FormatTimestamp(e.getRecordedAt());
  j["writer"] = std::string(e.getWriter().cStr(), e.getWriter().size());
  j["submission_id"] = std::string(e.getSubmissionId().cStr(), e.getSubmissionId().size());
  j["position"] = e.getPosition();
  j["count"] = e.getCount();
  j["signature"] = Base64Encode(ByteSpan(e.getSignature().begin(), e.getSignature().size()));
  j["leaf_hash"] = leaf_hash_hex;
  j["event"] = EventToJson(e.getBody());
  return j;
}

}  // namespace eldercare::events
