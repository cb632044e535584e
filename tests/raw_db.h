// Direct RocksDB access to a ledger's column families, for tests that alter
// stored bytes behind the ledger's back (tampering, corruption).
#ifndef ELDERCARE_TESTS_RAW_DB_H_
#define ELDERCARE_TESTS_RAW_DB_H_

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ledger/merkle_tiles.h"
#include "ledger/store_layout.h"

namespace eldercare::testing {

class RawDb {
 public:
  explicit RawDb(const std::string& ledger_dir) {
    std::string path = (std::filesystem::path(ledger_dir) / "log").string();
    std::vector<std::string> names;
    EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) {
      rocksdb::ColumnFamilyOptions o;
      if (n == layout::kMerkleCf) o.merge_operator = layout::NewTileAppendOperator();
      cfs.emplace_back(n, o);
    }
    rocksdb::DB* db = nullptr;
    auto s = rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  std::string Get(const std::string& cf, const std::string& key) {
    std::string v;
    EXPECT_TRUE(db_->Get(rocksdb::ReadOptions(), by_name_.at(cf), key, &v).ok()) << cf;
    return v;
  }
  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    EXPECT_TRUE(db_->Put(rocksdb::WriteOptions(), by_name_.at(cf), key, value).ok());
  }
  void Delete(const std::string& cf, const std::string& key) {
    EXPECT_TRUE(db_->Delete(rocksdb::WriteOptions(), by_name_.at(cf), key).ok());
  }
  // Drops a column family and all it holds.
  void DropFamily(const std::string& cf) {
    auto* h = by_name_.at(cf);
    EXPECT_TRUE(db_->DropColumnFamily(h).ok()) << cf;
    EXPECT_TRUE(db_->DestroyColumnFamilyHandle(h).ok());
    handles_.erase(std::find(handles_.begin(), handles_.end(), h));
    by_name_.erase(cf);
  }
  std::vector<std::pair<std::string, std::string>> All(const std::string& cf) {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), by_name_.at(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key().ToString(), it->value().ToString());
    return out;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

}  // namespace eldercare::testing

#endif  // ELDERCARE_TESTS_RAW_DB_H_
