#include "ledger/merkle_tiles.h"

#include <deque>
#include <string>

namespace eldercare::layout {
namespace {

class TileAppend : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    size_t n = in.existing_value != nullptr ? in.existing_value->size() : 0;
    for (const rocksdb::Slice& op : in.operand_list) n += op.size();
    out->new_value.clear();
    out->new_value.reserve(n);
    if (in.existing_value != nullptr) out->new_value.append(in.existing_value->data(), in.existing_value->size());
    for (const rocksdb::Slice& op : in.operand_list) out->new_value.append(op.data(), op.size());
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* /*logger*/) const override {
    size_t n = 0;
    for (const rocksdb::Slice& op : operands) n += op.size();
    new_value->clear();
    new_value->reserve(n);
    for (const rocksdb::Slice& op : operands) new_value->append(op.data(), op.size());
    return true;
  }

  const char* Name() const override { return "eldercare.TileAppend"; }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewTileAppendOperator() { return std::make_shared<TileAppend>(); }

}  // namespace eldercare::layout
