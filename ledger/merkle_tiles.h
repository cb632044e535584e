// How a Merkle tile grows in RocksDB: each append merges the hashes it
// completes onto the end of the tile's value (store_layout.h, "Merkle
// tiles"). Every handle that opens the merkle column family needs this
// operator, or RocksDB cannot read a tile that still has merge operands.
#ifndef ELDERCARE_LEDGER_MERKLE_TILES_H_
#define ELDERCARE_LEDGER_MERKLE_TILES_H_

#include <memory>

#include <rocksdb/merge_operator.h>

namespace eldercare::layout {

// Concatenation: the merged value is the existing value followed by every
// operand in order. Name: "eldercare.TileAppend".
std::shared_ptr<rocksdb::MergeOperator> NewTileAppendOperator();

}  // namespace eldercare::layout

#endif  // ELDERCARE_LEDGER_MERKLE_TILES_H_
