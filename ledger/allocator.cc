#include "ledger/allocator.h"

#include <mutex>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ELDERCARE_SANITIZER_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ELDERCARE_SANITIZER_HEAP 1
#endif
#endif

#if defined(ELDERCARE_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(ELDERCARE_SANITIZER_HEAP)
#include <sanitizer/allocator_interface.h>
#else
#include <malloc.h>
#endif

namespace eldercare::allocator {

#if defined(ELDERCARE_JEMALLOC)
namespace {
uint64_t Read(const char* name) {
  size_t v = 0;
  size_t len = sizeof(v);
  return mallctl(name, &v, &len, nullptr, 0) == 0 ? v : 0;
}
}  // namespace

std::string_view Name() { return "jemalloc"; }

HeapStats Stats() {
  // jemalloc's statistics are a snapshot, refreshed by bumping the epoch.
  uint64_t epoch = 1;
  size_t len = sizeof(epoch);
  mallctl("epoch", &epoch, &len, &epoch, len);
  HeapStats s;
  s.in_use = Read("stats.allocated");
  s.resident = Read("stats.resident");
  // Resident beyond what is allocated: freed pages not yet purged, partly
  // used pages, and jemalloc's own metadata.
  s.free_held = s.resident > s.in_use ? s.resident - s.in_use : 0;
  return s;
}

void PrepareForLongJob() {}

void ReleaseFreeMemory() {
  static_assert(MALLCTL_ARENAS_ALL == 4096, "the purge below names every arena as 4096");
  mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
}
#elif defined(ELDERCARE_SANITIZER_HEAP)
// AddressSanitizer's and ThreadSanitizer's own allocator (the sanitizer builds).
std::string_view Name() { return "sanitizer"; }

HeapStats Stats() {
  HeapStats s;
  s.in_use = __sanitizer_get_current_allocated_bytes();
  s.free_held = __sanitizer_get_free_bytes();
  return s;
}

void PrepareForLongJob() {}

void ReleaseFreeMemory() {}
#else
std::string_view Name() { return "glibc"; }

HeapStats Stats() {
  struct mallinfo2 heap = mallinfo2();
  HeapStats s;
  s.in_use = heap.uordblks + heap.hblkhd;
  s.free_held = heap.fordblks;
  return s;
}

void PrepareForLongJob() {
  // Set explicitly, the threshold stays where it is (glibc otherwise raises
  // it to the largest buffer freed so far).
  static std::once_flag once;
  std::call_once(once, [] { mallopt(M_MMAP_THRESHOLD, 256 << 10); });
}

void ReleaseFreeMemory() { malloc_trim(0); }
#endif

}  // namespace eldercare::allocator
