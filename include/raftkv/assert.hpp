// raftkv/assert.hpp: always-on invariant checks.
//
// A failed RAFTKV_ASSERT is a bug in raftkv, never an expected outcome: it reports
// the condition, file and line through the installed handler, which by default
// prints one line to stderr and aborts. Expected outcomes are values (see error.hpp).
#pragma once

#include <string_view>

namespace raftkv {

/// Called when an invariant does not hold. Must not return normally: the
/// default prints and aborts; a test harness may install one that throws.
using assert_handler = void (*)(std::string_view condition, std::string_view message,
                                std::string_view file, int line);

/// Installs `h` (nullptr restores the default) and returns the previous handler.
assert_handler set_assert_handler(assert_handler h) noexcept;

namespace detail {
[[noreturn]] void assert_failed(std::string_view condition, std::string_view message,
                                std::string_view file, int line);
}  // namespace detail

}  // namespace raftkv

/// Checks `cond` in every build type; `msg` is a string literal explaining the invariant.
#define RAFTKV_ASSERT(cond, msg)                                                    \
  do {                                                                              \
    if (!(cond)) [[unlikely]]                                                       \
      ::raftkv::detail::assert_failed(#cond, (msg), __FILE__, __LINE__);            \
  } while (false)
