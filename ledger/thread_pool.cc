#include "ledger/thread_pool.h"

#include <sched.h>

#include <atomic>
#include <latch>

namespace eldercare {

unsigned HardwareThreads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) threads = HardwareThreads() > 1 ? HardwareThreads() - 1 : 1;
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  cv_.notify_one();
}

void ThreadPool::WorkerLoop() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

ThreadCache::~ThreadCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::future<void> ThreadCache::Run(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.push_back(Task{std::move(task), {}});
  std::future<void> done = tasks_.back().done.get_future();
  // Each idle thread takes one of the tasks not yet taken: a task beyond
  // them gets a new thread (idle from now on, until it takes one).
  if (idle_ >= tasks_.size()) {
    cv_.notify_one();
  } else {
    ++idle_;
    threads_.emplace_back([this] { Loop(); });
  }
  return done;
}

size_t ThreadCache::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

void ThreadCache::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty()) return;
    Task task = std::move(tasks_.front());
    tasks_.pop_front();
    --idle_;
    lock.unlock();
    task.fn();
    task.fn = nullptr;  // what it holds goes before the task counts as done
    lock.lock();
    ++idle_;
    task.done.set_value();  // idle first: whoever waited may Run again at once
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || workers_.empty()) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  size_t helpers = std::min(workers_.size(), n - 1);
  std::latch done(static_cast<std::ptrdiff_t>(helpers));
  for (size_t h = 0; h < helpers; ++h) {
    Submit([&] {
      drain();
      done.count_down();
    });
  }
  drain();
  done.wait();
}

}  // namespace eldercare
