#include "ledger/event_schema.h"

#include <capnp/dynamic.h>

#include <map>
#include <memory>
#include <mutex>

#include "ledger/bytes.h"
#include "ledger/time_util.h"

namespace eldercare::events {
namespace {

using capnp::DynamicStruct;
using capnp::DynamicValue;
using capnp::StructSchema;

std::optional<capnp::schema::Value::Reader> FindAnnotation(const StructSchema::Field& field, uint64_t id) {
  for (auto a : field.getProto().getAnnotations()) {
    if (a.getId() == id) return a.getValue();
  }
  return std::nullopt;
}

std::vector<EventType> LoadEventTypes() {
  std::vector<EventType> out;
  StructSchema s = capnp::Schema::from<EventBody>();
  for (auto field : s.getUnionFields()) {
    EventType t{static_cast<uint16_t>(field.getProto().getDiscriminantValue()),
                SnakeCase(field.getProto().getName().cStr()), field, {}};
    if (auto v = FindAnnotation(field, kAnnWriters)) {
      for (Role r : v->getList().getAs<capnp::List<Role>>()) t.writers.push_back(r);
    }
    if (out.size() <= t.which) out.resize(t.which + 1u);
    out[t.which] = std::move(t);
  }
  return out;
}

// What validation needs to know about a field, read from the schema once.
struct FieldInfo {
  StructSchema::Field field;
  std::string name;  // snake_case
  bool required = false;
  bool pointer = false;
  std::optional<uint32_t> exact_size;
  size_t max_length = kDefaultMaxFieldBytes;
  bool timestamp = false;  // int64 microseconds: years 0001 to 9999
  bool date = false;       // int32 days: years 0001 to 9999
};
struct StructInfo {
  std::vector<FieldInfo> fields;        // non-union
  std::vector<FieldInfo> union_fields;  // by discriminant order
};

FieldInfo MakeInfo(StructSchema::Field f) {
  FieldInfo i;
  i.field = f;
  i.name = SnakeCase(f.getProto().getName().cStr());
  capnp::Type t = f.getType();
  i.pointer = t.isText() || t.isData() || t.isList() || t.isStruct() || t.isAnyPointer();
  for (auto a : f.getProto().getAnnotations()) {
    if (a.getId() == kAnnRequired) i.required = true;
    if (a.getId() == kAnnSize) i.exact_size = a.getValue().getUint32();
    if (a.getId() == kAnnMaxLength) i.max_length = a.getValue().getUint32();
    if (a.getId() == kAnnTimestamp) i.timestamp = true;
    if (a.getId() == kAnnDate) i.date = true;
  }
  return i;
}

const StructInfo& InfoFor(StructSchema s) {
  static std::mutex mu;
  static std::map<uint64_t, std::unique_ptr<StructInfo>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[s.getProto().getId()];
  if (!slot) {
    slot = std::make_unique<StructInfo>();
    for (auto f : s.getNonUnionFields()) slot->fields.push_back(MakeInfo(f));
    for (auto f : s.getUnionFields()) slot->union_fields.push_back(MakeInfo(f));
  }
  return *slot;
}

Status ValidateStruct(DynamicStruct::Reader r, const std::string& path, int depth);

Status ValidateValue(const FieldInfo& info, DynamicValue::Reader v, const std::string& path, int depth) {
  auto name = [&] { return path + info.name; };
  switch (v.getType()) {
    case DynamicValue::TEXT: {
      auto t = v.as<capnp::Text>();
      if (t.size() > info.max_length) {
        return Status::InvalidArgument("field '" + name() + "' is " + std::to_string(t.size()) +
                                       " bytes, more than its limit of " + std::to_string(info.max_length));
      }
      if (!IsValidUtf8(std::string_view(t.cStr(), t.size()))) {
        return Status::InvalidArgument("field '" + name() + "' is not valid UTF-8");
      }
      return Status::Ok();
    }
    case DynamicValue::DATA: {
      auto d = v.as<capnp::Data>();
      if (info.exact_size && d.size() != 0 && d.size() != *info.exact_size) {
        return Status::InvalidArgument("field '" + name() + "' must be " + std::to_string(*info.exact_size) +
                                       " bytes, got " + std::to_string(d.size()));
      }
      if (d.size() > info.max_length) return Status::InvalidArgument("field '" + name() + "' is too long");
      return Status::Ok();
    }
    case DynamicValue::ENUM: {
      auto e = v.as<capnp::DynamicEnum>();
      if (e.getEnumerant() == nullptr) {
        return Status::InvalidArgument("field '" + name() + "' has unknown enum value " + std::to_string(e.getRaw()));
      }
      return Status::Ok();
    }
    case DynamicValue::STRUCT:
      return ValidateStruct(v.as<DynamicStruct>(), name() + ".", depth + 1);
    case DynamicValue::LIST: {
      auto list = v.as<capnp::DynamicList>();
      if (list.size() > 100000) return Status::InvalidArgument("field '" + name() + "' has too many items");
      for (uint32_t i = 0; i < list.size(); ++i) {
        FieldInfo item = info;
        item.name = info.name + "[" + std::to_string(i) + "]";
        if (list[i].getType() == DynamicValue::STRUCT || list[i].getType() == DynamicValue::TEXT ||
            list[i].getType() == DynamicValue::DATA || list[i].getType() == DynamicValue::ENUM ||
            list[i].getType() == DynamicValue::LIST) {
          ELDERCARE_RETURN_IF_ERROR(ValidateValue(item, list[i], path, depth));
        }
      }
      return Status::Ok();
    }
    case DynamicValue::INT: {
      int64_t n = v.as<int64_t>();
      if ((info.timestamp && !MicrosInRange(n)) || (info.date && !DayInRange(n))) {
        return Status::InvalidArgument("field '" + name() + "': " + std::to_string(n) + " is not a " +
                                       (info.timestamp ? "time" : "date") + " in the years 0001 to 9999");
      }
      return Status::Ok();
    }
    default:
      return Status::Ok();
  }
}

Status ValidateStruct(DynamicStruct::Reader r, const std::string& path, int depth) {
  if (depth > 8) return Status::InvalidArgument("event nests too deeply");
  const StructInfo& info = InfoFor(r.getSchema());
  for (const FieldInfo& f : info.fields) {
    if (!r.has(f.field, capnp::HasMode::NON_DEFAULT)) {
      // Presence is knowable only for pointer fields; a required number or
      // enum is enforced where JSON is decoded.
      if (f.pointer && f.required) return Status::InvalidArgument("missing required field '" + path + f.name + "'");
      continue;
    }
    // Numbers are always valid, except times and dates (years 0001 to 9999).
    if (!f.pointer && !f.timestamp && !f.date && f.field.getType().which() != capnp::schema::Type::ENUM) continue;
    ELDERCARE_RETURN_IF_ERROR(ValidateValue(f, r.get(f.field), path, depth));
  }
  if (!info.union_fields.empty()) {
    KJ_IF_MAYBE(active, r.which()) {
      for (const FieldInfo& f : info.union_fields) {
        if (f.field == *active) return ValidateValue(f, r.get(f.field), path, depth);
      }
    }
    return Status::InvalidArgument("unknown variant in '" + path + "'");
  }
  return Status::Ok();
}

}  // namespace

bool HasAnnotation(const StructSchema::Field& field, uint64_t id) {
  return FindAnnotation(field, id).has_value();
}

std::optional<uint32_t> UInt32Annotation(const StructSchema::Field& field, uint64_t id) {
  if (auto v = FindAnnotation(field, id)) return v->getUint32();
  return std::nullopt;
}

std::string SnakeCase(std::string_view camel) {
  std::string out;
  out.reserve(camel.size() + 4);
  for (char c : camel) {
    if (c >= 'A' && c <= 'Z') {
      out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

std::string_view RoleName(Role role) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (auto e : capnp::Schema::from<Role>().getEnumerants()) v.push_back(SnakeCase(e.getProto().getName().cStr()));
    return v;
  }();
  auto i = static_cast<size_t>(role);
  return i < names.size() ? std::string_view(names[i]) : std::string_view("unknown");
}

Result<Role> ParseRole(std::string_view name) {
  for (auto e : capnp::Schema::from<Role>().getEnumerants()) {
    if (SnakeCase(e.getProto().getName().cStr()) == name) return static_cast<Role>(e.getOrdinal());
  }
  return Status::InvalidArgument("unknown role '" + std::string(name) + "' (roles: " + AllRoleNames() + ")");
}

std::string AllRoleNames() {
  std::string out;
  for (auto e : capnp::Schema::from<Role>().getEnumerants()) {
    if (!out.empty()) out += ", ";
    out += SnakeCase(e.getProto().getName().cStr());
  }
  return out;
}

const std::vector<EventType>& EventTypes() {
  static const std::vector<EventType> types = LoadEventTypes();
  return types;
}

const EventType* FindEventType(std::string_view name) {
  for (const auto& t : EventTypes()) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const EventType* EventTypeOf(EventBody::Reader body) {
  auto which = static_cast<size_t>(body.which());
  const auto& types = EventTypes();
  return which < types.size() ? &types[which] : nullptr;
}

bool RoleMayWrite(Role role, const EventType& type) {
  for (Role r : type.writers) {
    if (r == role) return true;
  }
  return false;
}

Status ValidateBody(EventBody::Reader body) {
  const EventType* type = EventTypeOf(body);
  if (type == nullptr) {
    return Status::InvalidArgument("unknown event type (union tag " + std::to_string(static_cast<int>(body.which())) + ")");
  }
  DynamicStruct::Reader dyn = capnp::toDynamic(body);
  try {
    return ValidateStruct(dyn.get(type->field).as<DynamicStruct>(), "", 0).WithPrefix("event '" + type->name + "': ");
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument("event '" + type->name + "' is malformed: " + e.getDescription().cStr());
  }
}

Status ValidateId(std::string_view what, std::string_view id) {
  if (id.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (id.size() > 128) return Status::InvalidArgument(std::string(what) + " is longer than 128 bytes");
  auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '@' || c == '/' || c == '-';
  };
  if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= '0' && id[0] <= '9'))) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(id) + "' must start with a letter or digit");
  }
  for (char c : id) {
    if (!ok_char(c)) {
      return Status::InvalidArgument(std::string(what) + " '" + std::string(id) +
                                     "' may hold only letters, digits and . _ : @ / -");
    }
  }
  return Status::Ok();
}

}  // namespace eldercare::events
