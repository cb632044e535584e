// prove inclusion|consistency, verify-proof.
#include <nlohmann/json.hpp>

#include "audit-cli/context.h"
#include "ledger/merkle.h"
#include "ledger/note.h"
#include "ledger/proof_json.h"

namespace eldercare::cli {
namespace {

struct ProveArgs {
  std::string ledger;
  uint64_t index = 0, from = 0;
  int64_t size = -1, to = -1;
  bool json = false;
};
struct CheckArgs {
  std::string proof, checkpoint, verifier_key, ledger;
};

}  // namespace

void AddProofCommands(CLI::App& app, Context& ctx) {
  auto* prove = app.add_subcommand("prove", "RFC 9162 inclusion and consistency proofs");
  prove->require_subcommand(1);

  auto ia = std::make_shared<ProveArgs>();
  auto* inc = prove->add_subcommand("inclusion", "Prove that entry INDEX is in the tree of SIZE entries");
  inc->add_option("--ledger", ia->ledger, "Ledger directory")->required();
  inc->add_option("--index", ia->index, "Log index of the entry")->required()->check(WholeNumber());
  inc->add_option("--size", ia->size, "Tree size (default: the current size)")->check(WholeNumber());
  inc->add_flag("--json", ia->json, "Print {index,size,leaf_hash,root,proof}");
  inc->callback([&ctx, ia] {
    ctx.action = [&ctx, ia]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, ia->ledger, false));
      InclusionProofData p;
      p.index = ia->index;
      p.size = ia->size < 0 ? ledger->Size() : static_cast<uint64_t>(ia->size);
      ELDERCARE_ASSIGN_OR_RETURN(p.proof, ledger->InclusionProof(p.index, p.size));
      ELDERCARE_ASSIGN_OR_RETURN(p.leaf_hash, ledger->LeafHash(p.index));
      ELDERCARE_ASSIGN_OR_RETURN(p.root, ledger->RootAt(p.size));
      if (ia->json) {
        ctx.out << ToJson(p).dump() << "\n";
      } else {
        ctx.out << "entry " << p.index << " is in the tree of size " << p.size << "\nleaf hash: " << HexEncode(p.leaf_hash)
                << "\nroot:      " << HexEncode(p.root) << "\nproof (" << p.proof.size() << " hashes, leaf to root):\n";
        for (const Hash& h : p.proof) ctx.out << "  " << HexEncode(h) << "\n";
      }
      return Status::Ok();
    };
  });

  auto ca = std::make_shared<ProveArgs>();
  auto* con = prove->add_subcommand("consistency", "Prove that the tree of size FROM is a prefix of the tree of size TO");
  con->add_option("--ledger", ca->ledger, "Ledger directory")->required();
  con->add_option("--from", ca->from, "Older tree size")->required()->check(WholeNumber());
  con->add_option("--to", ca->to, "Newer tree size (default: the current size)")->check(WholeNumber());
  con->add_flag("--json", ca->json, "Print {from,to,old_root,new_root,proof}");
  con->callback([&ctx, ca] {
    ctx.action = [&ctx, ca]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(auto ledger, OpenLedger(ctx, ca->ledger, false));
      ConsistencyProofData p;
      p.from = ca->from;
      p.to = ca->to < 0 ? ledger->Size() : static_cast<uint64_t>(ca->to);
      ELDERCARE_ASSIGN_OR_RETURN(p.proof, ledger->ConsistencyProof(p.from, p.to));
      ELDERCARE_ASSIGN_OR_RETURN(p.old_root, ledger->RootAt(std::min(p.from, p.to)));
      ELDERCARE_ASSIGN_OR_RETURN(p.new_root, ledger->RootAt(p.to));
      if (ca->json) {
        ctx.out << ToJson(p).dump() << "\n";
      } else {
        ctx.out << "the tree of size " << p.from << " is a prefix of the tree of size " << p.to
                << "\nold root: " << HexEncode(p.old_root) << "\nnew root: " << HexEncode(p.new_root) << "\nproof ("
                << p.proof.size() << " hashes):\n";
        for (const Hash& h : p.proof) ctx.out << "  " << HexEncode(h) << "\n";
      }
      return Status::Ok();
    };
  });

  auto ka = std::make_shared<CheckArgs>();
  auto* check = app.add_subcommand(
      "verify-proof", "Check a proof (from `prove --json`) offline, optionally against a signed checkpoint");
  check->add_option("--proof", ka->proof, "Proof JSON file, or - for standard input")->required();
  check->add_option("--checkpoint", ka->checkpoint, "Signed checkpoint note whose root the proof must reach");
  check->add_option("--verifier-key", ka->verifier_key, "Operator verifier key (name+hexid+base64) for --checkpoint");
  check->callback([&ctx, ka] {
    ctx.action = [&ctx, ka]() -> Status {
      ELDERCARE_ASSIGN_OR_RETURN(std::string text, ReadInput(ctx, ka->proof));
      ELDERCARE_ASSIGN_OR_RETURN(ParsedProof p, ParseProofJson(text));
      ELDERCARE_RETURN_IF_ERROR(CheckProof(p).WithPrefix("proof does not verify: "));
      uint64_t size = p.is_inclusion ? p.inclusion.size : p.consistency.to;
      const Hash& root = p.is_inclusion ? p.inclusion.root : p.consistency.new_root;
      if (!ka->checkpoint.empty()) {
        if (ka->verifier_key.empty()) return Status::InvalidArgument("--checkpoint needs --verifier-key");
        ELDERCARE_ASSIGN_OR_RETURN(note::Verifier v, note::ParseVerifierKey(ka->verifier_key));
        ELDERCARE_ASSIGN_OR_RETURN(std::string note_text, ReadInput(ctx, ka->checkpoint));
        ELDERCARE_ASSIGN_OR_RETURN(std::string body, note::Open(note_text, v));
        ELDERCARE_ASSIGN_OR_RETURN(checkpoint::Checkpoint c, checkpoint::ParseBody(body));
        if (c.size != size || c.root != root) {
          return Status::InvalidArgument("the proof's tree (size " + std::to_string(size) +
                                         ") is not the checkpoint's (size " + std::to_string(c.size) + ")");
        }
        ctx.out << "checkpoint signature verifies (" << v.name << ")\n";
      }
      if (p.is_inclusion) {
        ctx.out << "inclusion proof verifies: leaf " << HexEncode(p.inclusion.leaf_hash) << " is entry "
                << p.inclusion.index << " of the tree of size " << size << " with root " << HexEncode(root) << "\n";
      } else {
        ctx.out << "consistency proof verifies: the tree of size " << p.consistency.from << " (root "
                << HexEncode(p.consistency.old_root) << ") is a prefix of the tree of size " << size << " (root "
                << HexEncode(root) << ")\n";
      }
      return Status::Ok();
    };
  });
}

}  // namespace eldercare::cli
