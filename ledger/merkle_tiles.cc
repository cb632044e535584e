#include "ledger/merkle_tiles.h"

#include <deque>
#include <string>

namespace eldercare::layout {
namespace {

// Appends the operands, in order, to `existing` (if any).
template <typename Operands>
void Concatenate(const rocksdb::Slice* existing, const Operands& operands, std::string* out) {
  size_t n = existing != nullptr ? existing->size() : 0;
  for (const rocksdb::Slice& op : operands) n += op.size();
  out->clear();
  out->reserve(n);
  if (existing != nullptr) out->append(existing->data(), existing->size());
  for (const rocksdb::Slice& op : operands) out->append(op.data(), op.size());
}

class TileAppend : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    Concatenate(in.existing_value, in.operand_list, &out->new_value);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    Concatenate(nullptr, operands, new_value);
    return true;
  }

  const char* Name() const override { return "eldercare.TileAppend"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewTileAppendOperator() { return std::make_shared<TileAppend>(); }

}  // namespace eldercare::layout
