#include "projections/records.h"

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

// True when anything inside `r` was made at or after `size`.
bool HasNewer(DynamicStruct::Reader r, uint64_t size) {
  for (auto field : r.getSchema().getFields()) {
    if (!r.has(field)) continue;
    auto v = r.get(field);
    switch (v.getType()) {
      case capnp::DynamicValue::UINT:
        if (field.getProto().getName() == "index" && v.as<uint64_t>() >= size) return true;
        break;
      case capnp::DynamicValue::STRUCT:
        if (HasNewer(v.as<DynamicStruct>(), size)) return true;
        break;
      case capnp::DynamicValue::LIST: {
        auto list = v.as<DynamicList>();
        if (list.getSchema().whichElementType() == capnp::schema::Type::STRUCT) {
          for (auto item : list) {
            if (HasNewer(item.as<DynamicStruct>(), size)) return true;
          }
        }
        break;
      }
      default:
        break;
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
