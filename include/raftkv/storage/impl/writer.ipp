// Bodies for raftkv/storage/writer.hpp; compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/storage/writer.hpp>

namespace raftkv::storage {

sync_thread::sync_thread(std::size_t capacity) : capacity_(capacity) {
  RAFTKV_ASSERT(capacity >= 1, "a sync_thread queue holds at least one job");
  thread_ = std::thread([this] { run(); });
}

sync_thread::~sync_thread() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

bool sync_thread::try_submit(job j) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= capacity_) return false;
    queue_.push_back(std::move(j));
  }
  cv_.notify_one();
  return true;
}

void sync_thread::run() noexcept {
  for (;;) {
    job j;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      j = std::move(queue_.front());
      queue_.pop_front();
    }
    j();
  }
}

}  // namespace raftkv::storage
