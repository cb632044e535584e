#include "ledger/key_registry.h"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <cstring>
#include <set>

#include "ledger/event_schema.h"

namespace eldercare {
namespace {

std::string Str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

}  // namespace

Status KeyRegistry::Apply(uint64_t index, schema::EventBody::Reader body) {
  if (!IsKeyEvent(body.which())) return Status::Ok();
  switch (body.which()) {
    case schema::EventBody::GENESIS: {
      if (has_genesis() || index != 0) {
        return Status::InvalidArgument("genesis may appear only once, at index 0");
      }
      auto g = body.getGenesis();
      auto key = PublicKey::FromRaw(ByteSpan(g.getOperatorKey().begin(), g.getOperatorKey().size()));
      if (!key.ok()) return key.status().WithPrefix("genesis operator key: ");
      Actor a{Str(g.getOperatorId()), schema::Role::OPERATOR, "operator", {ActorKey{*key, 0, 0, 0}}};
      origin_ = Str(g.getOrigin());
      operator_id_ = a.id;
      actors_[a.id] = std::move(a);
      has_genesis_ = true;
      return Status::Ok();
    }
    case schema::EventBody::KEY_REGISTERED: {
      auto r = body.getKeyRegistered();
      std::string id = Str(r.getActorId());
      ELDERCARE_RETURN_IF_ERROR(events::ValidateId("actor_id", id));
      auto key = PublicKey::FromRaw(ByteSpan(r.getPublicKey().begin(), r.getPublicKey().size()));
      if (!key.ok()) return key.status().WithPrefix("field 'public_key': ");
      if (const Actor* existing = Find(id)) {
        if (existing->role != r.getRole()) {
          return Status::Conflict("actor '" + id + "' is registered as " +
                                  std::string(events::RoleName(existing->role)) + ", not " +
                                  std::string(events::RoleName(r.getRole())) + "; an actor's role never changes");
        }
        for (const ActorKey& k : existing->keys) {
          if (k.key == *key && k.revoked_at == 0) {
            return Status::AlreadyExists("this key is already registered for actor '" + id + "'");
          }
        }
        Actor* a = Mutable(id);
        a->keys.push_back(ActorKey{*key, index, r.getValidFrom(), 0});
        if (r.hasDisplayName()) a->display_name = Str(r.getDisplayName());
      } else {
        actors_[id] = Actor{id, r.getRole(), Str(r.getDisplayName()), {ActorKey{*key, index, r.getValidFrom(), 0}}};
      }
      return Status::Ok();
    }
    case schema::EventBody::KEY_REVOKED: {
      auto r = body.getKeyRevoked();
      std::string id = Str(r.getActorId());
      const Actor* existing = Find(id);
      if (existing == nullptr) return Status::NotFound("cannot revoke a key of unknown actor '" + id + "'");
      for (size_t i = 0; i < existing->keys.size(); ++i) {
        const ActorKey& k = existing->keys[i];
        if (k.revoked_at == 0 && k.key.raw().size() == r.getPublicKey().size() &&
            std::memcmp(k.key.raw().data(), r.getPublicKey().begin(), k.key.raw().size()) == 0) {
          if (existing->role == schema::Role::OPERATOR && !AnotherOperatorKey(id, i)) {
            return Status::FailedPrecondition(
                "this is the last unrevoked operator key: revoked, nobody could register or revoke a key again; "
                "register another operator key first");
          }
          Mutable(id)->keys[i].revoked_at = index;
          return Status::Ok();
        }
      }
      return Status::NotFound("actor '" + id + "' has no active key equal to the one to revoke");
    }
    default:
      return Status::Ok();
  }
}

bool KeyRegistry::AnotherOperatorKey(std::string_view actor_id, size_t key) const {
  std::set<std::string, std::less<>> ids;
  for (const KeyRegistry* r = this; r != nullptr; r = r->parent_) {
    for (const auto& [id, a] : r->actors_) ids.insert(id);
  }
  for (const std::string& id : ids) {
    const Actor* a = Find(id);  // the overlay's copy wins
    if (a == nullptr || a->role != schema::Role::OPERATOR) continue;
    for (size_t i = 0; i < a->keys.size(); ++i) {
      if (a->keys[i].revoked_at == 0 && !(id == actor_id && i == key)) return true;
    }
  }
  return false;
}

const Actor* KeyRegistry::Find(std::string_view actor_id) const {
  auto it = actors_.find(actor_id);
  if (it != actors_.end()) return &it->second;
  return parent_ ? parent_->Find(actor_id) : nullptr;
}

Actor* KeyRegistry::Mutable(const std::string& id) {
  auto it = actors_.find(id);
  if (it != actors_.end()) return &it->second;
  const Actor* inherited = parent_ ? parent_->Find(id) : nullptr;
  assert(inherited != nullptr && "Mutable() of an actor that does not exist");
  return &actors_.emplace(id, *inherited).first->second;
}

void KeyRegistry::MergeInto(KeyRegistry& target) && {
  for (auto& [id, actor] : actors_) target.actors_[id] = std::move(actor);
  if (has_genesis_) {
    target.has_genesis_ = true;
    target.origin_ = std::move(origin_);
    target.operator_id_ = std::move(operator_id_);
  }
  actors_.clear();
}

std::vector<const ActorKey*> KeyRegistry::SigningKeys(const Actor& actor, uint64_t index,
                                                      int64_t recorded_at) const {
  std::vector<const ActorKey*> out;
  for (const ActorKey& k : actor.keys) {
    bool registered = k.registered_at < index || (index == 0 && k.registered_at == 0);
    bool revoked = k.revoked_at != 0 && k.revoked_at <= index;
    if (registered && !revoked && recorded_at >= k.valid_from) out.push_back(&k);
  }
  return out;
}

const PublicKey* KeyRegistry::operator_key() const {
  const Actor* op = Find(operator_id_);
  return op == nullptr || op->keys.empty() ? nullptr : &op->keys.front().key;
}

std::string KeyRegistry::Serialize(const Actor& actor) {
  capnp::MallocMessageBuilder msg;
  auto r = msg.initRoot<schema::ActorRecord>();
  r.setActorId(actor.id);
  r.setRole(actor.role);
  r.setDisplayName(actor.display_name);
  auto keys = r.initKeys(static_cast<unsigned>(actor.keys.size()));
  for (size_t i = 0; i < actor.keys.size(); ++i) {
    auto k = keys[static_cast<unsigned>(i)];
    k.setPublicKey(capnp::Data::Reader(actor.keys[i].key.raw().data(), kPublicKeySize));
    k.setRegisteredAt(actor.keys[i].registered_at);
    k.setValidFrom(actor.keys[i].valid_from);
    k.setRevokedAt(actor.keys[i].revoked_at);
  }
  auto words = capnp::messageToFlatArray(msg);
  return std::string(reinterpret_cast<const char*>(words.asBytes().begin()), words.asBytes().size());
}

Result<Actor> KeyRegistry::Deserialize(std::string_view bytes) {
  if (bytes.size() % 8 != 0) return Status::Corruption("actor record is not word-aligned");
  auto words = kj::heapArray<capnp::word>(bytes.size() / 8);
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  try {
    capnp::FlatArrayMessageReader reader(words.asPtr());
    auto r = reader.getRoot<schema::ActorRecord>();
    Actor a{Str(r.getActorId()), r.getRole(), Str(r.getDisplayName()), {}};
    for (auto k : r.getKeys()) {
      auto key = PublicKey::FromRaw(ByteSpan(k.getPublicKey().begin(), k.getPublicKey().size()));
      if (!key.ok()) return Status::Corruption("actor record holds a bad key");
      a.keys.push_back(ActorKey{*key, k.getRegisteredAt(), k.getValidFrom(), k.getRevokedAt()});
    }
    return a;
  } catch (const kj::Exception& e) {
    return Status::Corruption(std::string("actor record: ") + e.getDescription().cStr());
  }
}

Status KeyRegistry::Restore(Actor actor, std::string origin, std::string operator_id) {
  origin_ = std::move(origin);
  operator_id_ = std::move(operator_id);
  has_genesis_ = true;
  std::string id = actor.id;
  actors_[id] = std::move(actor);
  return Status::Ok();
}

}  // namespace eldercare
