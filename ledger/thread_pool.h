// A fixed pool of worker threads for data-parallel work (signature checks,
// hashing). No global pool: whoever needs one owns one.
#ifndef ELDERCARE_LEDGER_THREAD_POOL_H_
#define ELDERCARE_LEDGER_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace eldercare {

class ThreadPool {
 public:
  // `threads` workers; 0 means one per hardware thread, minus the caller's.
  explicit ThreadPool(unsigned threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that work in ParallelFor, counting the caller.
  unsigned parallelism() const { return static_cast<unsigned>(workers_.size()) + 1; }

  // Runs fn(i) for every i in [0, n) on the workers and the calling thread,
  // and returns when all calls have returned. fn must not throw.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  // Runs `task` on a worker some time later.
  void Submit(std::function<void()> task);

 private:
  void WorkerLoop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// Threads for tasks that block until others have run (a commit waits its
// turn in the ledger's write queue): every task starts at once, on a thread
// left idle by an earlier task if one waits, else on a new thread, which is
// kept for later tasks. Against a thread started and ended for each task it
// spares the ending's cost: jemalloc flushes the thread's cache and returns
// its pages to the kernel (a TLB flush on every core), and the next thread
// faults its stack and its cache in again.
class ThreadCache {
 public:
  ThreadCache() = default;
  ~ThreadCache();  // waits for the tasks started; they must not wait for ones yet to come
  ThreadCache(const ThreadCache&) = delete;
  ThreadCache& operator=(const ThreadCache&) = delete;

  // The future is ready once `task` has returned and its thread is idle
  // again: a caller that waits for it before the next Run finds that thread
  // free. `task` must not throw.
  std::future<void> Run(std::function<void()> task);
  // Threads started so far (idle or busy).
  size_t threads() const;

 private:
  struct Task {
    std::function<void()> fn;
    std::promise<void> done;
  };
  void Loop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> tasks_;                   // not yet taken by a thread
  size_t idle_ = 0;                          // threads not running a task
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// Hardware threads available to this process (at least 1).
unsigned HardwareThreads();

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_THREAD_POOL_H_
