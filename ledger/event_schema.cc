#include "ledger/event_schema.h"

#include <capnp/any.h>
#include <capnp/dynamic.h>

#include <map>
#include <memory>

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
  bool is_enum = false;
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
  i.is_enum = t.isEnum();
  for (auto a : f.getProto().getAnnotations()) {
    if (a.getId() == kAnnRequired) i.required = true;
    if (a.getId() == kAnnSize) i.exact_size = a.getValue().getUint32();
    if (a.getId() == kAnnMaxLength) i.max_length = a.getValue().getUint32();
    if (a.getId() == kAnnTimestamp) i.timestamp = true;
    if (a.getId() == kAnnDate) i.date = true;
  }
  return i;
}

// Per thread, so that threads validating in parallel share no lock.
const StructInfo& InfoFor(StructSchema s) {
  thread_local std::map<uint64_t, std::unique_ptr<StructInfo>> cache;
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
    if (!f.pointer && !f.timestamp && !f.date && !f.is_enum) continue;
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

// A fast path for ValidateBody. The dynamic API above resolves each field's
// type on every access, which made it the largest cost of verifying a log.
// A Plan holds what the dynamic checks need, resolved once: where each field
// lies (pointer index or data offset) and what to check. Validation then
// reads the struct's sections directly. It only ever answers "valid"; on
// anything it does not handle, and on any failure, the dynamic validator
// runs and gives the verdict and the message, so the two cannot disagree on
// what is accepted.
struct Plan;
struct PlanField {
  enum Kind : uint8_t { kSkip, kText, kData, kStruct, kEnum, kInt, kList, kUnsupported };
  Kind kind = kSkip;
  Kind element = kSkip;       // of a list
  capnp::ElementSize element_size = capnp::ElementSize::VOID;  // of a list of numbers
  bool pointer = false;
  uint32_t offset = 0;        // pointer index, or data offset in units of the value's size
  uint8_t bytes = 0;          // size of a data value
  bool is_signed = false;
  uint64_t default_bits = 0;  // data values are stored XOR their default
  uint32_t enumerants = 0;
  const Plan* nested = nullptr;  // struct, or list of structs
  uint16_t discriminant = 0;
  bool required = false;
  std::optional<uint32_t> exact_size;
  size_t max_length = kDefaultMaxFieldBytes;
  bool timestamp = false;
  bool date = false;
};
struct Plan {
  std::vector<PlanField> fields;
  std::vector<PlanField> union_fields;
  uint32_t discriminant_offset = 0;  // in 16-bit units
  bool supported = true;
};

const Plan* PlanFor(StructSchema s, std::map<uint64_t, std::unique_ptr<Plan>>& plans);

// How a text, data, struct or enum value is checked (its kind, and the plan
// of a struct or the number of enumerants); kUnsupported for anything else.
PlanField::Kind ValueKind(capnp::Type t, PlanField& p, std::map<uint64_t, std::unique_ptr<Plan>>& plans) {
  using T = capnp::schema::Type;
  switch (t.which()) {
    case T::TEXT: return PlanField::kText;
    case T::DATA: return PlanField::kData;
    case T::STRUCT:
      p.nested = PlanFor(t.asStruct(), plans);
      return PlanField::kStruct;
    case T::ENUM:
      p.enumerants = t.asEnum().getEnumerants().size();
      return PlanField::kEnum;
    default:
      return PlanField::kUnsupported;
  }
}

// The layout a list of numbers of this type must have (the dynamic reader
// refuses others); nullopt if t is not a number.
std::optional<capnp::ElementSize> NumberLayout(capnp::Type t) {
  using T = capnp::schema::Type;
  switch (t.which()) {
    case T::VOID: return capnp::ElementSize::VOID;
    case T::BOOL: return capnp::ElementSize::BIT;
    case T::INT8: case T::UINT8: return capnp::ElementSize::BYTE;
    case T::INT16: case T::UINT16: return capnp::ElementSize::TWO_BYTES;
    case T::INT32: case T::UINT32: case T::FLOAT32: return capnp::ElementSize::FOUR_BYTES;
    case T::INT64: case T::UINT64: case T::FLOAT64: return capnp::ElementSize::EIGHT_BYTES;
    default: return std::nullopt;
  }
}

PlanField MakePlanField(StructSchema::Field f, std::map<uint64_t, std::unique_ptr<Plan>>& plans) {
  PlanField p;
  FieldInfo info = MakeInfo(f);
  p.required = info.required;
  p.exact_size = info.exact_size;
  p.max_length = info.max_length;
  p.timestamp = info.timestamp;
  p.date = info.date;
  p.pointer = info.pointer;
  auto proto = f.getProto();
  p.discriminant = proto.getDiscriminantValue();
  if (!proto.isSlot()) {
    p.kind = PlanField::kUnsupported;  // groups
    return p;
  }
  auto slot = proto.getSlot();
  p.offset = slot.getOffset();
  capnp::Type t = f.getType();
  auto def = slot.getDefaultValue();
  using T = capnp::schema::Type;
  switch (t.which()) {
    case T::TEXT: case T::DATA: case T::STRUCT:
      p.kind = ValueKind(t, p, plans);
      return p;
    case T::LIST: {
      // Numbers in lists are not checked, but the list must be laid out as
      // numbers of that size.
      p.kind = PlanField::kList;
      capnp::Type e = t.asList().getElementType();
      if (auto layout = NumberLayout(e)) {
        p.element = PlanField::kSkip;
        p.element_size = *layout;
      } else {
        p.element = ValueKind(e, p, plans);
      }
      return p;
    }
    case T::ENUM:
      p.kind = ValueKind(t, p, plans);
      p.bytes = 2;
      p.default_bits = def.getEnum();
      return p;
    case T::INT8: p.bytes = 1; p.is_signed = true; p.default_bits = static_cast<uint8_t>(def.getInt8()); break;
    case T::INT16: p.bytes = 2; p.is_signed = true; p.default_bits = static_cast<uint16_t>(def.getInt16()); break;
    case T::INT32: p.bytes = 4; p.is_signed = true; p.default_bits = static_cast<uint32_t>(def.getInt32()); break;
    case T::INT64: p.bytes = 8; p.is_signed = true; p.default_bits = static_cast<uint64_t>(def.getInt64()); break;
    case T::UINT8: p.bytes = 1; p.default_bits = def.getUint8(); break;
    case T::UINT16: p.bytes = 2; p.default_bits = def.getUint16(); break;
    case T::UINT32: p.bytes = 4; p.default_bits = def.getUint32(); break;
    case T::UINT64: p.bytes = 8; p.default_bits = def.getUint64(); break;
    case T::VOID: case T::BOOL: case T::FLOAT32: case T::FLOAT64:
      p.kind = (p.timestamp || p.date) ? PlanField::kUnsupported : PlanField::kSkip;
      return p;
    default:
      p.kind = PlanField::kUnsupported;
      return p;
  }
  // An integer: checked only when it is a time or a date.
  p.kind = (p.timestamp || p.date) ? PlanField::kInt : PlanField::kSkip;
  return p;
}

const Plan* PlanFor(StructSchema s, std::map<uint64_t, std::unique_ptr<Plan>>& plans) {
  auto& slot = plans[s.getProto().getId()];
  if (slot) return slot.get();
  slot = std::make_unique<Plan>();
  Plan* plan = slot.get();  // registered before recursing: a struct may contain itself
  auto proto = s.getProto().getStruct();
  plan->discriminant_offset = proto.getDiscriminantOffset();
  for (auto f : s.getNonUnionFields()) plan->fields.push_back(MakePlanField(f, plans));
  for (auto f : s.getUnionFields()) plan->union_fields.push_back(MakePlanField(f, plans));
  for (const auto* list : {&plan->fields, &plan->union_fields}) {
    for (const auto& f : *list) {
      if (f.kind == PlanField::kUnsupported || f.element == PlanField::kUnsupported) plan->supported = false;
    }
  }
  return plan;
}

// The plans of every event type's struct, built once, read-only after.
// Where each event type's struct hangs off EventBody (its pointer slot)
// and its plan: built once, read-only after.
struct EventPlan {
  const Plan* plan = nullptr;
  uint32_t pointer = 0;
};
const std::vector<EventPlan>& EventPlans() {
  static std::map<uint64_t, std::unique_ptr<Plan>> plans;
  static const std::vector<EventPlan> by_type = [] {
    std::vector<EventPlan> v(EventTypes().size());
    for (size_t i = 0; i < EventTypes().size(); ++i) {
      const auto& field = EventTypes()[i].field;
      if (EventTypes()[i].name.empty() || !field.getType().isStruct()) continue;
      v[i] = {PlanFor(field.getType().asStruct(), plans), field.getProto().getSlot().getOffset()};
    }
    return v;
  }();
  return by_type;
}

uint64_t DataBits(capnp::Data::Reader data, const PlanField& f) {
  size_t at = size_t{f.offset} * f.bytes;
  uint64_t bits = 0;
  if (at + f.bytes <= data.size()) {
    for (size_t i = 0; i < f.bytes; ++i) bits |= uint64_t{data[at + i]} << (8 * i);
  }
  return bits;
}

bool FastValidStruct(capnp::AnyStruct::Reader r, const Plan& plan, int depth);

bool FastValidText(capnp::Text::Reader t, const PlanField& f) {
  return t.size() <= f.max_length && IsValidUtf8(std::string_view(t.cStr(), t.size()));
}
bool FastValidData(capnp::Data::Reader d, const PlanField& f) {
  return !(f.exact_size && d.size() != 0 && d.size() != *f.exact_size) && d.size() <= f.max_length;
}

bool FastValidPointer(capnp::AnyPointer::Reader ptr, const PlanField& f, int depth) {
  switch (f.kind) {
    case PlanField::kText: return FastValidText(ptr.getAs<capnp::Text>(), f);
    case PlanField::kData: return FastValidData(ptr.getAs<capnp::Data>(), f);
    case PlanField::kStruct: return FastValidStruct(ptr.getAs<capnp::AnyStruct>(), *f.nested, depth + 1);
    case PlanField::kList:
      switch (f.element) {
        case PlanField::kText: {
          auto list = ptr.getAs<capnp::List<capnp::Text>>();
          if (list.size() > 100000) return false;
          for (auto t : list) if (!FastValidText(t, f)) return false;
          return true;
        }
        case PlanField::kData: {
          auto list = ptr.getAs<capnp::List<capnp::Data>>();
          if (list.size() > 100000) return false;
          for (auto d : list) if (!FastValidData(d, f)) return false;
          return true;
        }
        case PlanField::kStruct: {
          auto any = ptr.getAs<capnp::AnyList>();
          if (any.getElementSize() != capnp::ElementSize::INLINE_COMPOSITE) return false;
          auto list = any.as<capnp::List<capnp::AnyStruct>>();
          if (list.size() > 100000) return false;
          for (auto e : list) if (!FastValidStruct(e, *f.nested, depth + 1)) return false;
          return true;
        }
        case PlanField::kEnum: {
          auto list = ptr.getAs<capnp::List<uint16_t>>();
          if (list.size() > 100000) return false;
          for (uint16_t v : list) if (v >= f.enumerants) return false;
          return true;
        }
        case PlanField::kSkip: {
          auto any = ptr.getAs<capnp::AnyList>();
          return any.getElementSize() == f.element_size && any.size() <= 100000;
        }
        default:
          return false;
      }
    default:
      return false;
  }
}

bool FastValidNumber(capnp::Data::Reader data, const PlanField& f) {
  uint64_t stored = DataBits(data, f);
  if (stored == 0) return true;  // the default: not checked
  uint64_t bits = stored ^ f.default_bits;
  if (f.kind == PlanField::kEnum) return bits < f.enumerants;
  int64_t n;
  if (f.is_signed) {
    int shift = 64 - 8 * f.bytes;
    n = static_cast<int64_t>(bits << shift) >> shift;
  } else {
    n = static_cast<int64_t>(bits);
    if (f.bytes == 8 && n < 0) return false;  // as the dynamic reader would refuse to convert
  }
  return !((f.timestamp && !MicrosInRange(n)) || (f.date && !DayInRange(n)));
}

bool FastValidStruct(capnp::AnyStruct::Reader r, const Plan& plan, int depth) {
  if (depth > 8 || !plan.supported) return false;
  auto data = r.getDataSection();
  auto pointers = r.getPointerSection();
  for (const PlanField& f : plan.fields) {
    if (f.pointer) {
      if (f.offset >= pointers.size() || pointers[f.offset].isNull()) {
        if (f.required) return false;
        continue;
      }
      if (!FastValidPointer(pointers[f.offset], f, depth)) return false;
    } else if (f.kind == PlanField::kEnum || f.kind == PlanField::kInt) {
      if (!FastValidNumber(data, f)) return false;
    }
  }
  if (!plan.union_fields.empty()) {
    PlanField d;
    d.offset = plan.discriminant_offset;
    d.bytes = 2;
    auto which = static_cast<uint16_t>(DataBits(data, d));
    for (const PlanField& f : plan.union_fields) {
      if (f.discriminant != which) continue;
      if (f.pointer) {
        // An unset struct variant reads as the default struct; leave it to
        // the dynamic validator.
        if (f.offset >= pointers.size() || pointers[f.offset].isNull()) return false;
        return FastValidPointer(pointers[f.offset], f, depth);
      }
      if (f.kind == PlanField::kEnum || f.kind == PlanField::kInt) return FastValidNumber(data, f);
      return f.kind == PlanField::kSkip;
    }
    return false;
  }
  return true;
}

// True only if the body is certainly valid.
bool FastValidBody(EventBody::Reader body, const EventType& type) {
  const auto& plans = EventPlans();
  if (type.which >= plans.size() || plans[type.which].plan == nullptr) return false;
  const EventPlan& ep = plans[type.which];
  try {
    auto pointers = capnp::AnyStruct::Reader(body).getPointerSection();
    if (ep.pointer >= pointers.size() || pointers[ep.pointer].isNull()) return false;
    return FastValidStruct(pointers[ep.pointer].getAs<capnp::AnyStruct>(), *ep.plan, 0);
  } catch (const kj::Exception&) {
    return false;
  }
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

bool FastBodyIsValid(EventBody::Reader body) {
  const EventType* type = EventTypeOf(body);
  return type != nullptr && FastValidBody(body, *type);
}

Status ValidateBodyDynamic(EventBody::Reader body) {
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

Status ValidateBody(EventBody::Reader body) {
  if (FastBodyIsValid(body)) return Status::Ok();
  return ValidateBodyDynamic(body);
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
