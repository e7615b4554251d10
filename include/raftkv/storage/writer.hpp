// raftkv/storage/writer.hpp: the dedicated thread that does the disk IO
// (bodies in storage/impl/writer.ipp).
//
// The server submits one job per Ready batch (write + sync); the job posts
// its completion back to the server's io_context itself. The queue is
// bounded: a full queue is reported, never grown.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace raftkv::storage {

/// A thread running submitted jobs one at a time in FIFO order.
class sync_thread {
 public:
  /// A unit of work. It must not throw (an escaping exception terminates the
  /// process, which is what a failed fsync calls for anyway).
  using job = std::function<void()>;

  /// Starts the thread; at most `capacity` (>= 1) jobs wait at a time.
  explicit sync_thread(std::size_t capacity);
  /// Runs every job already accepted, then joins.
  ~sync_thread();
  sync_thread(const sync_thread&) = delete;
  sync_thread& operator=(const sync_thread&) = delete;

  /// Queues `j`; false (and `j` dropped) when `capacity` jobs are waiting.
  bool try_submit(job j);
  /// The bound given to the constructor.
  std::size_t capacity() const { return capacity_; }

 private:
  void run() noexcept;

  const std::size_t capacity_;    ///< max queue_.size(); >= 1
  std::mutex mu_;                 ///< guards queue_ and stopping_
  std::condition_variable cv_;    ///< signalled on submit and on stop
  std::deque<job> queue_;         ///< waiting jobs, oldest first; size <= capacity_
  bool stopping_ = false;         ///< set by the destructor; run() exits once queue_ is empty
  std::thread thread_;            ///< started last, joined by the destructor
};

}  // namespace raftkv::storage
