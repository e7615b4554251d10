// tests/support/asio_await.hpp: run an io_context from a test until a
// condition holds, or until one awaitable finishes (with a time limit).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <functional>
#include <optional>

namespace raftkv::test {

/// Runs `io` in steps of `step` until `done()` holds or `limit` passed; true if it held.
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit, std::chrono::milliseconds step = std::chrono::milliseconds(2)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    if (io.stopped()) io.restart();
    io.run_for(step);
  }
  return true;
}

/// Runs one awaitable to its end on `io` (REQUIREs that it ends within
/// `limit`) and returns its value, rethrowing what it threw.
template <class T>
T await(boost::asio::io_context& io, boost::asio::awaitable<T> op, std::chrono::milliseconds limit) {
  std::optional<T> out;
  std::exception_ptr err;
  boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T v) {
    err = e;
    out = std::move(v);
  });
  REQUIRE(run_until(io, [&] { return out.has_value(); }, limit));
  if (err) std::rethrow_exception(err);
  return std::move(*out);
}

}  // namespace raftkv::test
