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
#include "ledger/thread_pool.h"

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

Result<std::string> EntryJsonLine(std::string_view leaf) {
  ELDERCARE_ASSIGN_OR_RETURN(auto parsed, ParseEntry(leaf));
  return events::EntryToJson(parsed.Root<schema::Entry>(), HexEncode(merkle::HashLeaf(AsBytes(leaf)))).dump();
}

Result<ExportSummary> WriteExport(const Ledger& ledger, const std::string& out_dir, const ProgressFn& progress) {
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
  // Entries go out in batches: each batch's JSON lines (most of an export's
  // time) are rendered on all cores, then both files are written in order.
  ThreadPool pool;
  constexpr size_t kBatch = 8192;
  std::vector<std::string> leaves;
  std::vector<Result<std::string>> lines(kBatch, Result<std::string>(std::string()));
  uint64_t first = 0;  // index of the batch's first entry
  auto write_batch = [&]() -> Status {
    pool.ParallelFor(leaves.size(), [&](size_t i) { lines[i] = EntryJsonLine(leaves[i]); });
    for (size_t i = 0; i < leaves.size(); ++i) {
      if (!lines[i].ok()) return Status::Corruption("entry " + std::to_string(first + i) + ": " + lines[i].status().message());
      const std::string& leaf = leaves[i];
      char header[8];
      PutLE32(0, header);  // segment count - 1
      PutLE32(static_cast<uint32_t>(leaf.size() / 8), header + 4);
      const std::string_view head(header, 8);
      bin_hash.Update(head);
      bin_hash.Update(leaf);
      sum.entry_bytes += 8 + leaf.size();
      *lines[i] += '\n';
      ELDERCARE_RETURN_IF_ERROR(bin.Append(head));
      ELDERCARE_RETURN_IF_ERROR(bin.Append(leaf));
      ELDERCARE_RETURN_IF_ERROR(jsonl.Append(*lines[i]));
    }
    first += leaves.size();
    leaves.clear();
    if (progress) progress("exporting", first, sum.size);
    return Status::Ok();
  };
  Status failure;
  Status scan = ledger.ScanEntries(0, sum.size, [&](uint64_t, std::string_view leaf) {
    leaves.emplace_back(leaf);
    if (leaves.size() == kBatch) failure = write_batch();
    return failure.ok();
  });
  ELDERCARE_RETURN_IF_ERROR(scan);
  ELDERCARE_RETURN_IF_ERROR(failure);
  ELDERCARE_RETURN_IF_ERROR(write_batch());
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
  bytes_read_ += whole;
  ++record_;
  return true;
}

Result<bool> ExportReader::Next(std::string* leaf) {
  ExportRecord record;
  ELDERCARE_ASSIGN_OR_RETURN(bool more, Next(&record));
  if (more) leaf->assign(record.bytes);
  return more;
}

namespace {

// The manifest is written last (WriteExport): without it the export is
// incomplete. Read before the entries, so that this fails at once.
Result<nlohmann::json> ReadManifest(const std::string& dir) {
  const std::string path = (fs::path(dir) / "manifest.json").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Status::NotFound(path + " is missing: an export writes it last, so this one is incomplete "
                            "(interrupted, or copied in part)");
  }
  ELDERCARE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json m = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (m.is_discarded()) return Status::InvalidArgument(path + " is not JSON");
  if (!m.is_object()) return Status::InvalidArgument(path + " is not a JSON object");
  const auto format = m.find("format");
  if (format == m.end() || !format->is_string() || *format != kExportFormat) {
    return Status::InvalidArgument(path + ": format is " + (format == m.end() ? "missing" : format->dump()) +
                                   ", expected \"" + kExportFormat + "\"");
  }
  return m;
}

// "manifest.json says FIELD is X; the export holds Y", or empty when it
// agrees with what was verified.
std::string ManifestDisagreement(const nlohmann::json& m, const VerifyReport& r, const ExportReader& reader) {
  auto field = [&](const char* name) -> const nlohmann::json& {
    static const nlohmann::json missing;
    auto it = m.find(name);
    return it == m.end() ? missing : *it;
  };
  auto says = [](const char* name, const nlohmann::json& value, const std::string& holds) {
    return std::string("manifest.json says ") + name + " is " + (value.is_null() ? "nothing" : value.dump()) +
           "; " + holds;
  };
  if (field("origin") != r.origin) return says("origin", field("origin"), "the genesis entry's is \"" + r.origin + "\"");
  if (field("operator_key") != r.operator_key) {
    return says("operator_key", field("operator_key"), "the genesis entry's is \"" + r.operator_key + "\"");
  }
  auto key = PublicKey::FromBase64(r.operator_key);
  if (key.ok() && field("verifier_key") != note::VerifierKey(r.origin, *key)) {
    return says("verifier_key", field("verifier_key"),
                "the genesis entry's is \"" + note::VerifierKey(r.origin, *key) + "\"");
  }
  if (field("size") != r.size) {
    return says("size", field("size"), "entries.bin holds " + std::to_string(r.size) + " entries");
  }
  if (field("root") != HexEncode(r.root)) {
    return says("root", field("root"), "the entries' root is " + HexEncode(r.root));
  }
  std::vector<uint64_t> held;
  for (const std::string& n : reader.checkpoints()) {
    auto parsed = note::Parse(n);
    auto body = parsed.ok() ? checkpoint::ParseBody(parsed->text) : Result<checkpoint::Checkpoint>(parsed.status());
    if (body.ok()) held.push_back(body->size);  // (each was verified: none fails here)
  }
  std::sort(held.begin(), held.end());
  const nlohmann::json& listed = field("checkpoint_sizes");
  if (listed != nlohmann::json(held)) {
    const bool sizes = listed.is_array() && std::all_of(listed.begin(), listed.end(), [](const nlohmann::json& v) {
                         return v.is_number_unsigned();
                       });
    if (!sizes) return "manifest.json's checkpoint_sizes is not a list of sizes: " + listed.dump();
    std::vector<uint64_t> want;
    for (const auto& v : listed) want.push_back(v.get<uint64_t>());
    std::sort(want.begin(), want.end());
    std::string absent, extra;
    for (uint64_t s : want) {
      if (!std::binary_search(held.begin(), held.end(), s)) absent += (absent.empty() ? "" : ", ") + std::to_string(s);
    }
    for (uint64_t s : held) {
      if (!std::binary_search(want.begin(), want.end(), s)) extra += (extra.empty() ? "" : ", ") + std::to_string(s);
    }
    std::string what = "manifest.json lists " + std::to_string(want.size()) + " checkpoints; checkpoints/ holds " +
                       std::to_string(held.size());
    if (!absent.empty()) what += "; missing: the checkpoints at size " + absent;
    if (!extra.empty()) what += "; not listed: the checkpoints at size " + extra;
    if (absent.empty() && extra.empty()) what += "; listed out of order or twice: " + listed.dump();
    return what;
  }
  const nlohmann::json bytes = m.value("/files/entries.bin/bytes"_json_pointer, nlohmann::json());
  if (bytes != reader.bytes_read()) {
    return says("entries.bin's bytes", bytes, "it is " + std::to_string(reader.bytes_read()) + " bytes long");
  }
  return "";
}

// entries.jsonl against the entries (already verified): line k must be
// exactly what WriteExport writes for entry k - 1, and there must be one
// line per entry. Empty when it is so.
std::string JsonlDisagreement(const std::string& dir, unsigned threads) {
  const std::string path = (fs::path(dir) / "entries.jsonl").string();
  std::ifstream lines(path, std::ios::binary);
  if (!lines) return path + " is missing";
  auto reader = ExportReader::Open(dir);
  if (!reader.ok()) return reader.status().message();
  ThreadPool pool(threads == 0 ? 0 : threads - 1);
  constexpr size_t kBatch = 8192;
  std::vector<ExportRecord> records(kBatch);
  std::vector<std::string> text(kBatch);
  std::vector<uint8_t> differs(kBatch);
  uint64_t first = 0;  // index of the batch's first entry
  for (;;) {
    size_t n = 0;
    for (; n < kBatch; ++n) {
      auto more = (*reader)->Next(&records[n]);
      if (!more.ok()) return more.status().message();
      if (!*more) break;
      if (!std::getline(lines, text[n])) {
        return "entries.jsonl ends after " + std::to_string(first + n) + " lines; the export holds more entries";
      }
    }
    pool.ParallelFor(n, [&](size_t i) {
      auto line = EntryJsonLine(records[i].bytes);
      differs[i] = !line.ok() || *line != text[i];
    });
    for (size_t i = 0; i < n; ++i) {
      if (differs[i]) {
        return "entries.jsonl line " + std::to_string(first + i + 1) + " is not what entry " + std::to_string(first + i) +
               " of entries.bin says (a person reading it would be misled)";
      }
    }
    first += n;
    if (n < kBatch) break;
  }
  std::string extra;
  if (std::getline(lines, extra)) {
    return "entries.jsonl has more lines than the export has entries (line " + std::to_string(first + 1) + " on)";
  }
  return "";
}

}  // namespace

VerifyReport VerifyExportDir(const std::string& dir, const VerifyOptions& options) {
  auto manifest = ReadManifest(dir);
  auto reader = manifest.ok() ? ExportReader::Open(dir) : Result<std::unique_ptr<ExportReader>>(manifest.status());
  if (!reader.ok()) {
    VerifyReport r;
    r.error = reader.status().ToString();
    return r;
  }
  LogVerifier v((*reader)->checkpoints(), nullptr, options);
  if (const auto size = manifest->find("size"); size != manifest->end() && size->is_number_unsigned()) {
    v.ExpectEntries(size->get<uint64_t>());  // (checked against the entries at the end)
  }
  ExportRecord record;
  for (;;) {
    auto more = (*reader)->Next(&record);
    if (!more.ok()) {
      v.FailSource(more.status());
      break;
    }
    if (!*more || !v.Add(record.block, record.bytes)) break;
  }
  VerifyReport r = v.Finish();
  if (!r.ok) return r;
  // The entries and checkpoints verify on their own; the manifest, unsigned,
  // must still tell the truth about them (a checkpoint file lost in a copy,
  // entries cut at a record boundary).
  if (std::string wrong = ManifestDisagreement(*manifest, r, **reader); !wrong.empty()) {
    r.ok = false;
    r.error = std::move(wrong);
    return r;
  }
  r.facts.push_back("manifest.json agrees: origin, operator key, size, root, " +
                    std::to_string((*reader)->checkpoints().size()) + " checkpoints, entries.bin's length");
  if (!options.export_jsonl) {
    r.facts.push_back("entries.jsonl not checked (--jsonl compares every line with its verified entry)");
  } else if (std::string wrong = JsonlDisagreement(dir, options.threads); !wrong.empty()) {
    r.ok = false;
    r.error = std::move(wrong);
  } else {
    r.facts.push_back("entries.jsonl agrees: every line is its verified entry");
  }
  return r;
}

Result<std::unique_ptr<Ledger>> RestoreExport(const std::string& export_dir, const std::string& ledger_dir,
                                              LedgerOptions options) {
  VerifyOptions verify;
  verify.progress = options.progress;
  VerifyReport report = VerifyExportDir(export_dir, verify);
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
