#include "ledger/merkle_store.h"

#include <cstring>

namespace eldercare {

std::optional<Hash> HashInTile(std::string_view tile, uint64_t position) {
  if (tile.size() % kHashSize != 0 || tile.size() / kHashSize <= position) return std::nullopt;
  Hash h;
  std::memcpy(h.data(), tile.data() + position * kHashSize, kHashSize);
  return h;
}

Status MissingNode(merkle::NodeId id) {
  return Status::Corruption("Merkle node at level " + std::to_string(id.level) + ", index " +
                            std::to_string(id.index) + " is missing");
}

Result<Hash> DbNodeReader::ReadNode(merkle::NodeId id) {
  rocksdb::PinnableSlice value;
  auto s = db_->Get(rocksdb::ReadOptions(), cf_, layout::MerkleTileKey(id), &value);
  if (s.IsNotFound()) return MissingNode(id);
  ELDERCARE_RETURN_IF_ERROR(FromRocks(s, "reading a Merkle tile"));
  auto h = HashInTile(std::string_view(value.data(), value.size()), layout::TilePosition(id));
  if (!h) return MissingNode(id);
  return *h;
}

}  // namespace eldercare
