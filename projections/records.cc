#include "projections/records.h"

#include <map>
#include <vector>

namespace eldercare::proj {
namespace {

using capnp::DynamicList;
using capnp::DynamicStruct;
using capnp::StructSchema;

std::optional<StructSchema::Field> IndexField(StructSchema s) {
  KJ_IF_MAYBE(f, s.findFieldByName("index")) {
    if (f->getType().which() == capnp::schema::Type::UINT64) return *f;
  }
  return std::nullopt;
}

uint64_t IndexOf(DynamicStruct::Reader r) {
  auto f = IndexField(r.getSchema());
  return f ? r.get(*f).as<uint64_t>() : 0;
}

// Where log positions can lie in a struct: its own "index" fields (any
// unsigned width), and the fields -- structs and lists of structs -- whose
// types hold one, however deep. Read from the schema once per type, per
// thread (as-of reads of one snapshot run on several): walking every field
// of every record through reflection, its type resolved each time, was most
// of an as-of statement's time.
struct IndexPlan {
  std::vector<StructSchema::Field> indexes;
  std::vector<StructSchema::Field> structs;
  std::vector<StructSchema::Field> lists;
  bool holds_index() const { return !indexes.empty() || !structs.empty() || !lists.empty(); }
};

const IndexPlan& PlanOf(StructSchema s) {
  thread_local std::map<uint64_t, IndexPlan> plans;
  const uint64_t id = s.getProto().getId();
  if (auto it = plans.find(id); it != plans.end()) return it->second;
  // Placed before the fields are read: a type that holds itself (none does
  // today) sees its own plan as holding nothing beyond what is found so far.
  IndexPlan& plan = plans[id];
  IndexPlan built;
  for (auto field : s.getFields()) {
    auto type = field.getType();
    switch (type.which()) {
      case capnp::schema::Type::UINT8:
      case capnp::schema::Type::UINT16:
      case capnp::schema::Type::UINT32:
      case capnp::schema::Type::UINT64:
        if (field.getProto().getName() == "index") built.indexes.push_back(field);
        break;
      case capnp::schema::Type::STRUCT:
        if (PlanOf(type.asStruct()).holds_index()) built.structs.push_back(field);
        break;
      case capnp::schema::Type::LIST: {
        auto element = type.asList().getElementType();
        if (element.isStruct() && PlanOf(element.asStruct()).holds_index()) built.lists.push_back(field);
        break;
      }
      default:
        break;
    }
  }
  plan = std::move(built);
  return plan;
}

// True when anything inside `r` was made at or after `size`.
bool HasNewer(DynamicStruct::Reader r, uint64_t size) {
  const IndexPlan& plan = PlanOf(r.getSchema());
  for (const auto& field : plan.indexes) {
    if (r.has(field) && r.get(field).as<uint64_t>() >= size) return true;
  }
  for (const auto& field : plan.structs) {
    if (r.has(field) && HasNewer(r.get(field).as<DynamicStruct>(), size)) return true;
  }
  for (const auto& field : plan.lists) {
    if (!r.has(field)) continue;
    for (auto item : r.get(field).as<DynamicList>()) {
      if (HasNewer(item.as<DynamicStruct>(), size)) return true;
    }
  }
  return false;
}

void Filter(DynamicStruct::Builder b, uint64_t size) {
  for (auto field : b.getSchema().getFields()) {
    if (!b.has(field)) continue;
    auto type = field.getType();
    if (type.isStruct()) {
      auto child = b.get(field).as<DynamicStruct>();
      uint64_t idx = IndexOf(child.asReader());
      if (IndexField(child.getSchema()) && idx >= size) {
        b.clear(field);
      } else {
        Filter(child, size);
      }
    } else if (type.isList() && type.asList().getElementType().isStruct()) {
      auto list = b.get(field).as<DynamicList>();
      StructSchema elem = type.asList().getElementType().asStruct();
      auto item = [&](uint32_t i) { return list[i].as<DynamicStruct>(); };
      if (!IndexField(elem)) {
        for (uint32_t i = 0; i < list.size(); ++i) Filter(item(i), size);
        continue;
      }
      uint32_t keep = 0;
      for (uint32_t i = 0; i < list.size(); ++i) keep += IndexOf(item(i).asReader()) < size ? 1 : 0;
      if (keep == list.size()) {
        for (uint32_t i = 0; i < list.size(); ++i) Filter(item(i), size);
        continue;
      }
      if (keep == 0) {
        // As if the list had never been started: a null pointer, which is
        // what a log that stopped at `size` holds (canonical bytes differ
        // between an empty list and none).
        b.clear(field);
        continue;
      }
      auto orphan = capnp::Orphanage::getForMessageContaining(b).newOrphan(type.asList(), keep);
      auto fresh = orphan.get();
      uint32_t j = 0;
      for (uint32_t i = 0; i < list.size(); ++i) {
        if (IndexOf(item(i).asReader()) < size) {
          fresh.set(j, item(i).asReader());
          Filter(fresh[j].as<DynamicStruct>(), size);
          ++j;
        }
      }
      b.adopt(field, kj::mv(orphan));
    }
  }
}

}  // namespace

std::optional<std::string> AsOf(std::string_view record_bytes, capnp::StructSchema schema, uint64_t size) {
  auto m = CanonicalMessage::Parse(record_bytes, /*require_canonical=*/false);
  if (!m.ok()) return std::nullopt;
  auto root = m->Root<capnp::AnyStruct>();
  DynamicStruct::Reader r = root.as<DynamicStruct>(schema);
  auto own = IndexField(schema);
  if (own && r.get(*own).as<uint64_t>() >= size) return std::nullopt;
  if (!HasNewer(r, size)) return std::string(record_bytes);
  capnp::MallocMessageBuilder msg;
  msg.setRoot(r);
  auto b = msg.getRoot<DynamicStruct>(schema);
  Filter(b, size);
  kj::Array<capnp::word> words = b.asReader().as<capnp::AnyStruct>().canonicalize();
  return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
}

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

}  // namespace eldercare::proj
