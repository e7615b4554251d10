// raftkv/server/detail/json_text.hpp: JSON text for the HTTP API's small,
// frequent answers, written by hand (header-only; nlohmann for the rest).
//
// The hand-written answers must read exactly as nlohmann would write them:
// members in byte order of name (nlohmann's objects are std::maps) and
// strings escaped the same way; tests/server/json_text_test.cpp compares.
#pragma once

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace raftkv::server::detail {

/// JSON text that never throws on bytes that are not UTF-8 (they become U+FFFD).
inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Appends `s` as a JSON string, exactly as dump(json(s)) writes it. Printable
/// ASCII without quotes or backslashes (keys and values are mostly that) is
/// copied as is; anything else goes through nlohmann's escaper.
inline void append_json_string(std::string& out, std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += dump(nlohmann::json(std::string(s)));
      return;
    }
  }
  out.push_back('"');
  out.append(s);
  out.push_back('"');
}

/// Appends `,"name":` to an object begun with `{` (no comma after the brace).
inline void append_name(std::string& out, std::string_view name) {
  if (out.back() != '{') out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
}

inline void append_member(std::string& out, std::string_view name, std::uint64_t v) {
  append_name(out, name);
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void append_member(std::string& out, std::string_view name, std::string_view v) {
  append_name(out, name);
  append_json_string(out, v);
}

/// A string literal must not become a bool.
void append_member(std::string& out, std::string_view name, const char* v) = delete;

inline void append_member(std::string& out, std::string_view name, bool v) {
  append_name(out, name);
  out.append(v ? "true" : "false");
}

}  // namespace raftkv::server::detail
