#pragma once
// Which heap allocator the programs run on, and the two things the ledger
// asks of it: hand free memory back to the system, and say where the heap's
// memory is. The programs link jemalloc (Debian's libjemalloc-dev) unless
// they are built with a sanitizer, which brings its own allocator; glibc's
// malloc is the fallback. docs/RELIABILITY.md ("Memory") says why.

#include <cstdint>
#include <string_view>

namespace eldercare::allocator {

// "jemalloc", "glibc", or "sanitizer" (a sanitizer build's own allocator).
std::string_view Name();

// Where the heap's memory is, in bytes.
struct HeapStats {
  uint64_t in_use = 0;    // allocated to the program
  uint64_t free_held = 0; // freed by the program, still held by the allocator
  uint64_t resident = 0;  // the allocator's pages in memory (0: not known)
};
HeapStats Stats();

// For a long, allocation-heavy job (a rebuild): under glibc, buffers of
// 256 KiB and more are mapped on their own (unmapped when freed, instead of
// leaving holes in the heap); jemalloc needs nothing.
void PrepareForLongJob();

// Returns the free memory the allocator holds to the system.
void ReleaseFreeMemory();

}  // namespace eldercare::allocator
