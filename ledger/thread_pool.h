// A fixed pool of worker threads for data-parallel work (signature checks,
// hashing). No global pool: whoever needs one owns one.
#ifndef ELDERCARE_LEDGER_THREAD_POOL_H_
#define ELDERCARE_LEDGER_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
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

// Hardware threads available to this process (at least 1).
unsigned HardwareThreads();

}  // namespace eldercare

#endif  // ELDERCARE_LEDGER_THREAD_POOL_H_
