// tools/common/split_run.hpp: how both TUIs split their work: the io_context
// on a thread of its own, the screen on the calling thread, and a shutdown
// that leaves the terminal restored before any failure is reported.
#pragma once

#include <boost/asio/io_context.hpp>

#include <exception>
#include <functional>
#include <thread>

namespace raftkv::term {

/// Runs `io` on a new thread and `screen()` on this one. When `screen`
/// returns or throws, `stop_io()` must make io.run() return; then the thread
/// is joined, `leave_screen()` restores the terminal, and a failure of the
/// screen, else of the io thread, is rethrown. `io_ended()` runs on the io
/// thread when io.run() returns (the screen polls for it).
inline void split_run(boost::asio::io_context& io, const std::function<void()>& screen,
                      const std::function<void()>& stop_io, const std::function<void()>& io_ended,
                      const std::function<void()>& leave_screen) {
  std::exception_ptr io_failure;  // written by the io thread, read after join
  std::thread io_thread([&io, &io_failure, &io_ended] {
    try {
      io.run();
    } catch (...) {
      io_failure = std::current_exception();
    }
    io_ended();
  });
  std::exception_ptr screen_failure;
  try {
    screen();
  } catch (...) {
    screen_failure = std::current_exception();
  }
  stop_io();
  io_thread.join();
  leave_screen();
  if (screen_failure) std::rethrow_exception(screen_failure);
  if (io_failure) std::rethrow_exception(io_failure);
}

}  // namespace raftkv::term
