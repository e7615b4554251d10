// raftkv/core/detail/text.hpp: cheap sentence building for events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace raftkv::core::detail {

inline void append_one(std::string& out, std::string_view s) { out.append(s); }
inline void append_one(std::string& out, const char* s) { out.append(s); }
inline void append_one(std::string& out, const std::string& s) { out.append(s); }
inline void append_one(std::string& out, char c) { out.push_back(c); }

template <class T>
  requires std::is_integral_v<T> && (!std::is_same_v<T, char>) && (!std::is_same_v<T, bool>)
void append_one(std::string& out, T v) {
  out.append(std::to_string(v));
}

/// Concatenates strings and integers: cat("vote refused to ", 2, ": ...").
template <class... Args>
std::string cat(const Args&... args) {
  std::string out;
  out.reserve(96);
  (append_one(out, args), ...);
  return out;
}

}  // namespace raftkv::core::detail
