// Who may sign, with which key, at which log position.
//
// The registry is a fold of the log's key events (genesis, keyRegistered,
// keyRevoked). The ledger uses it to accept submissions and the verifier
// replays it to check them, so both sides apply exactly the same rules:
//   - an actor has one role for life;
//   - a key registered at index r may sign a submission whose first entry is
//     at index f > r, recorded at or after its validFrom, and before any
//     revocation at index v (f < v).
// Overlays: a registry built with a parent reads through to it and keeps its
// own changes (copying only the actors it touches) until MergeInto. The
// ledger stages a group commit this way, and each submission within it.
// Not thread-safe; the ledger guards the root with a lock.
#ifndef ELDERCARE_LEDGER_KEY_REGISTRY_H_
#define ELDERCARE_LEDGER_KEY_REGISTRY_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"
#include "ledger/status.h"
#include "schema/ledger.capnp.h"
#include "schema/store.capnp.h"

namespace eldercare {

struct ActorKey {
  PublicKey key;
  uint64_t registered_at = 0;
  int64_t valid_from = 0;
  uint64_t revoked_at = 0;  // 0 = not revoked (index 0 is always genesis)
};

struct Actor {
  std::string id;
  schema::Role role = schema::Role::OPERATOR;
  std::string display_name;
  std::vector<ActorKey> keys;
};

class KeyRegistry {
 public:
  KeyRegistry() = default;
  explicit KeyRegistry(const KeyRegistry* parent) : parent_(parent) {}
  KeyRegistry(const KeyRegistry&) = delete;
  KeyRegistry& operator=(const KeyRegistry&) = delete;

  // Moves this overlay's changes into `target` (normally its parent).
  void MergeInto(KeyRegistry& target) &&;

  // Applies one event at log `index` if it is a key event; other events are
  // ignored. Errors leave the registry unchanged.
  Status Apply(uint64_t index, schema::EventBody::Reader body);
  // Whether Apply changes anything for an event of this type (genesis and
  // the key events): a reader that has only the type can skip the others.
  static bool IsKeyEvent(schema::EventBody::Which which) {
    return which == schema::EventBody::GENESIS || which == schema::EventBody::KEY_REGISTERED ||
           which == schema::EventBody::KEY_REVOKED;
  }

  const Actor* Find(std::string_view actor_id) const;
  // Keys of `actor` allowed to sign a submission starting at `index`,
  // recorded at `recorded_at` (microseconds).
  std::vector<const ActorKey*> SigningKeys(const Actor& actor, uint64_t index, int64_t recorded_at) const;

  bool has_genesis() const { return has_genesis_ || (parent_ && parent_->has_genesis()); }
  const std::string& origin() const { return has_genesis_ || !parent_ ? origin_ : parent_->origin(); }
  const std::string& operator_id() const { return has_genesis_ || !parent_ ? operator_id_ : parent_->operator_id(); }
  const PublicKey* operator_key() const;

  // This registry's own actors (for a root registry: all of them).
  const std::map<std::string, Actor, std::less<>>& actors() const { return actors_; }

  // Persistence of one actor (column family "actors").
  static std::string Serialize(const Actor& actor);
  static Result<Actor> Deserialize(std::string_view bytes);
  Status Restore(Actor actor, std::string origin, std::string operator_id);

 private:
  // The actor to modify: this overlay's copy, made on first touch.
  Actor* Mutable(const std::string& id);
  // Whether an operator key other than `actor_id`'s key number `key` is unrevoked.
  bool AnotherOperatorKey(std::string_view actor_id, size_t key) const;

  const KeyRegistry* parent_ = nullptr;
  std::map<std::string, Actor, std::less<>> actors_;
  bool has_genesis_ = false;
  std::string origin_;
  std::string operator_id_;
};

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_KEY_REGISTRY_H_
