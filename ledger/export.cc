#include "ledger/export.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ledger/entry.h"
#include "ledger/event_json.h"
#include "ledger/file_io.h"
#include "ledger/merkle.h"
#include "ledger/note.h"

namespace eldercare {
namespace {

namespace fs = std::filesystem;

void PutLE32(uint32_t v, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (8 * i));
}
uint32_t GetLE32(const char* in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string CheckpointFileName(uint64_t size) {
  std::string n = std::to_string(size);
  return std::string(20 - std::min<size_t>(20, n.size()), '0') + n + ".note";
}

}  // namespace

Result<ExportSummary> WriteExport(const Ledger& ledger, const std::string& out_dir) {
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_empty(out_dir, ec)) {
    return Status::AlreadyExists("export directory " + out_dir + " exists and is not empty");
  }
  fs::create_directories(fs::path(out_dir) / "checkpoints", ec);
  if (ec) return Status::IoError("cannot create " + out_dir + ": " + ec.message());

  ExportSummary sum;
  sum.size = ledger.Size();
  auto root = ledger.RootAt(sum.size);
  if (!root.ok()) return root.status();
  sum.root = *root;

  // Written behind themselves (ledger/file_io.h): a large export must not
  // evict the ledger's own hot blocks from the page cache.
  const fs::path dir(out_dir);
  ELDERCARE_ASSIGN_OR_RETURN(FileWriter bin, FileWriter::Create((dir / "entries.bin").string()));
  ELDERCARE_ASSIGN_OR_RETURN(FileWriter jsonl, FileWriter::Create((dir / "entries.jsonl").string()));
  Sha256Hasher bin_hash;
  Status failure;
  Status scan = ledger.ScanEntries(0, sum.size, [&](uint64_t index, std::string_view leaf) {
    char header[8];
    PutLE32(0, header);  // segment count - 1
    PutLE32(static_cast<uint32_t>(leaf.size() / 8), header + 4);
    const std::string_view head(header, 8);
    bin_hash.Update(head);
    bin_hash.Update(leaf);
    sum.entry_bytes += 8 + leaf.size();
    auto parsed = ParseEntry(leaf);
    if (!parsed.ok()) {
      failure = Status::Corruption("entry " + std::to_string(index) + ": " + parsed.status().message());
      return false;
    }
    std::string line =
        events::EntryToJson(parsed->Root<schema::Entry>(), HexEncode(merkle::HashLeaf(AsBytes(leaf)))).dump();
    line += '\n';
    failure = bin.Append(head);
    if (failure.ok()) failure = bin.Append(leaf);
    if (failure.ok()) failure = jsonl.Append(line);
    return failure.ok();
  });
  ELDERCARE_RETURN_IF_ERROR(scan);
  ELDERCARE_RETURN_IF_ERROR(failure);
  ELDERCARE_RETURN_IF_ERROR(bin.Finish());
  ELDERCARE_RETURN_IF_ERROR(jsonl.Finish());

  auto notes = ledger.Checkpoints();
  if (!notes.ok()) return notes.status();
  nlohmann::json sizes = nlohmann::json::array();
  for (const std::string& n : *notes) {
    auto parsed = note::Parse(n);
    if (!parsed.ok()) return parsed.status().WithPrefix("stored checkpoint: ");
    auto body = checkpoint::ParseBody(parsed->text);
    if (!body.ok()) return body.status().WithPrefix("stored checkpoint: ");
    if (body->size > sum.size) continue;
    ELDERCARE_RETURN_IF_ERROR(WriteNewFile((dir / "checkpoints" / CheckpointFileName(body->size)).string(), n));
    sizes.push_back(body->size);
    ++sum.checkpoints;
  }

  nlohmann::json manifest = {
      {"format", kExportFormat},
      {"origin", ledger.origin()},
      {"operator_id", ledger.operator_id()},
      {"operator_key", ledger.operator_key().ToBase64()},
      {"verifier_key", note::VerifierKey(ledger.origin(), ledger.operator_key())},
      {"size", sum.size},
      {"root", HexEncode(sum.root)},
      {"checkpoint_sizes", sizes},
      {"files", {{"entries.bin", {{"bytes", sum.entry_bytes}, {"sha256", HexEncode(bin_hash.Finish())}}}}},
  };
  // The manifest last, and the directories synced: an export that has a
  // manifest is complete and on disk.
  ELDERCARE_RETURN_IF_ERROR(SyncDirectory((dir / "checkpoints").string()));
  ELDERCARE_RETURN_IF_ERROR(WriteNewFile((dir / "manifest.json").string(), manifest.dump(2) + "\n"));
  ELDERCARE_RETURN_IF_ERROR(SyncDirectory(out_dir));
  return sum;
}

Result<std::unique_ptr<ExportReader>> ExportReader::Open(const std::string& dir) {
  auto r = std::make_unique<ExportReader>();
  fs::path bin = fs::path(dir) / "entries.bin";
  auto file = std::make_unique<std::ifstream>(bin, std::ios::binary);
  if (!*file) return Status::NotFound("no export at " + dir + " (entries.bin is missing)");
  std::error_code ec;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "checkpoints", ec)) {
    if (e.path().extension() == ".note") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto text = ReadFile(f.string());
    if (!text.ok()) return text.status();
    r->checkpoints_.push_back(std::move(*text));
  }
  r->in_ = std::move(file);
  return r;
}

std::unique_ptr<ExportReader> ExportReader::FromStream(std::unique_ptr<std::istream> in) {
  auto r = std::make_unique<ExportReader>();
  r->in_ = std::move(in);
  return r;
}

size_t ExportReader::Available(size_t need) {
  if (end_ - pos_ >= need || ended_) return end_ - pos_;
  constexpr size_t kBlockBytes = 1u << 20;
  const size_t left = end_ - pos_;
  const size_t size = std::max(kBlockBytes, need);
  std::shared_ptr<char[]> next(new char[size]);  // operator new[]: aligned for any word
  if (left > 0) std::memcpy(next.get(), block_.get() + pos_, left);
  in_->read(next.get() + left, static_cast<std::streamsize>(size - left));
  const size_t got = static_cast<size_t>(in_->gcount());
  if (left + got < size) ended_ = true;  // read stops short only at the end (or on an error)
  block_ = std::move(next);
  pos_ = 0;
  end_ = left + got;
  return end_;
}

Result<bool> ExportReader::Next(ExportRecord* record) {
  const size_t have = Available(8);
  if (have == 0) return false;
  // Built only for an error: this runs for every record.
  auto at = [&] { return "export record " + std::to_string(record_) + ": "; };
  if (have < 8) return Status::Corruption(at() + "truncated segment table");
  const char* header = block_.get() + pos_;
  uint32_t segments = GetLE32(header) + 1;
  if (segments != 1) {
    return Status::Corruption(at() + "has " + std::to_string(segments) + " segments; a canonical entry has exactly one");
  }
  uint64_t bytes = uint64_t{GetLE32(header + 4)} * 8;
  if (bytes == 0 || bytes > kMaxEntryBytes) {
    return Status::Corruption(at() + "declares " + std::to_string(bytes) + " bytes (allowed: 8 to " +
                              std::to_string(kMaxEntryBytes) + ")");
  }
  const size_t whole = 8 + static_cast<size_t>(bytes);
  if (size_t got = Available(whole); got < whole) {
    return Status::Corruption(at() + "truncated: " + std::to_string(got - 8) + " of " + std::to_string(bytes) +
                              " bytes");
  }
  record->block = block_;
  record->bytes = std::string_view(block_.get() + pos_ + 8, bytes);
  pos_ += whole;
  ++record_;
  return true;
}

Result<bool> ExportReader::Next(std::string* leaf) {
  ExportRecord record;
  ELDERCARE_ASSIGN_OR_RETURN(bool more, Next(&record));
  if (more) leaf->assign(record.bytes);
  return more;
}

VerifyReport VerifyExportDir(const std::string& dir, const VerifyOptions& options) {
  auto reader = ExportReader::Open(dir);
  if (!reader.ok()) {
    VerifyReport r;
    r.error = reader.status().ToString();
    return r;
  }
  LogVerifier v((*reader)->checkpoints(), nullptr, options);
  ExportRecord record;
  for (;;) {
    auto more = (*reader)->Next(&record);
    if (!more.ok()) {
      v.FailSource(more.status());
      break;
    }
    if (!*more || !v.Add(record.block, record.bytes)) break;
  }
  return v.Finish();
}

Result<std::unique_ptr<Ledger>> RestoreExport(const std::string& export_dir, const std::string& ledger_dir,
                                              LedgerOptions options) {
  VerifyReport report = VerifyExportDir(export_dir, {});
  if (!report.ok) {
    return Status::Corruption("the export does not verify" +
                              (report.first_bad_index ? " at index " + std::to_string(*report.first_bad_index) : std::string()) +
                              ": " + report.error);
  }
  auto reader = ExportReader::Open(export_dir);
  if (!reader.ok()) return reader.status();
  ExportReader& r = **reader;
  return Ledger::Restore(ledger_dir, [&](std::string* leaf) { return r.Next(leaf); }, r.checkpoints(), options);
}

}  // namespace eldercare
