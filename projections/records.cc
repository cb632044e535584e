#include "projections/records.h"

#include <map>
#include <vector>

namespace eldercare::proj {
namespace {

using capnp::DynamicList;
using capnp::DynamicStruct;
using capnp::StructSchema;

// Where log positions can lie in a struct: its own "index" fields (any
// unsigned width), and the fields -- structs and lists of structs -- whose
// types hold one, however deep. Read from the schema once per type, per
// thread (as-of reads of one snapshot run on several): walking every field
// of every record through reflection, its type resolved each time, was most
// of an as-of statement's time.
struct IndexPlan {
  // Its uint64 "index": the log position that made the struct, which is
  // dropped whole as of an earlier size.
  std::optional<StructSchema::Field> own;
  std::vector<StructSchema::Field> indexes;
  std::vector<StructSchema::Field> structs;
  struct List {
    StructSchema::Field field;
    capnp::ListSchema type;
    StructSchema element;
  };
  std::vector<List> lists;
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
        if (field.getProto().getName() == "index") {
          built.indexes.push_back(field);
          if (type.which() == capnp::schema::Type::UINT64) built.own = field;
        }
        break;
      case capnp::schema::Type::STRUCT:
        if (PlanOf(type.asStruct()).holds_index()) built.structs.push_back(field);
        break;
      case capnp::schema::Type::LIST: {
        auto element = type.asList().getElementType();
        if (element.isStruct() && PlanOf(element.asStruct()).holds_index()) {
          built.lists.push_back({field, type.asList(), element.asStruct()});
        }
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
  for (const auto& list : plan.lists) {
    if (!r.has(list.field)) continue;
    for (auto item : r.get(list.field).as<DynamicList>()) {
      if (HasNewer(item.as<DynamicStruct>(), size)) return true;
    }
  }
  return false;
}

// When the struct was made: its own index, or 0 for a struct without one.
uint64_t IndexOf(DynamicStruct::Reader r) {
  const auto& own = PlanOf(r.getSchema()).own;
  return own ? r.get(*own).as<uint64_t>() : 0;
}

// Drops from `b` whatever was made at or after `size`: a struct whose own
// index is that late goes whole, as does a list element; only the fields
// whose types hold an index are visited.
void Filter(DynamicStruct::Builder b, uint64_t size) {
  const IndexPlan& plan = PlanOf(b.getSchema());
  for (const auto& field : plan.structs) {
    if (!b.has(field)) continue;
    auto child = b.get(field).as<DynamicStruct>();
    if (PlanOf(child.getSchema()).own && IndexOf(child.asReader()) >= size) {
      b.clear(field);
    } else {
      Filter(child, size);
    }
  }
  for (const auto& l : plan.lists) {
    if (!b.has(l.field)) continue;
    auto list = b.get(l.field).as<DynamicList>();
    auto item = [&](uint32_t i) { return list[i].as<DynamicStruct>(); };
    if (!PlanOf(l.element).own) {
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
      b.clear(l.field);
      continue;
    }
    auto orphan = capnp::Orphanage::getForMessageContaining(b).newOrphan(l.type, keep);
    auto fresh = orphan.get();
    uint32_t j = 0;
    for (uint32_t i = 0; i < list.size(); ++i) {
      if (IndexOf(item(i).asReader()) < size) {
        fresh.set(j, item(i).asReader());
        Filter(fresh[j].as<DynamicStruct>(), size);
        ++j;
      }
    }
    b.adopt(l.field, kj::mv(orphan));
  }
}

}  // namespace

std::optional<std::string> AsOf(std::string_view record_bytes, capnp::StructSchema schema, uint64_t size) {
  auto m = CanonicalMessage::Parse(record_bytes, /*require_canonical=*/false);
  if (!m.ok()) return std::nullopt;
  auto root = m->Root<capnp::AnyStruct>();
  DynamicStruct::Reader r = root.as<DynamicStruct>(schema);
  const auto& own = PlanOf(schema).own;
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
