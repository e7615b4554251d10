// Bodies for raftkv/assert.hpp; compiled once by lib/common.cpp.
#pragma once

#include <raftkv/assert.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace raftkv {
namespace {

[[noreturn]] void default_assert_handler(std::string_view condition, std::string_view message,
                                         std::string_view file, int line) {
  std::fprintf(stderr, "raftkv: invariant violated: %.*s (%.*s) at %.*s:%d\n",
               static_cast<int>(message.size()), message.data(),
               static_cast<int>(condition.size()), condition.data(),
               static_cast<int>(file.size()), file.data(), line);
  std::fflush(stderr);
  std::abort();
}

std::atomic<assert_handler> current_handler{&default_assert_handler};

}  // namespace

assert_handler set_assert_handler(assert_handler h) noexcept {
  return current_handler.exchange(h != nullptr ? h : &default_assert_handler);
}

namespace detail {
void assert_failed(std::string_view condition, std::string_view message, std::string_view file,
                   int line) {
  current_handler.load()(condition, message, file, line);
  // A handler that returns breaks the contract: stop anyway.
  std::abort();
}
}  // namespace detail

}  // namespace raftkv
