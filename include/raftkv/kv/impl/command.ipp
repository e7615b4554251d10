// Bodies for raftkv/kv/command.hpp; compiled once by lib/kv.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/kv/command.hpp>
#include <raftkv/kv/detail/codec.hpp>

namespace raftkv::kv {

std::string_view to_string(op_kind k) noexcept {
  switch (k) {
    case op_kind::put: return "put";
    case op_kind::del: return "del";
  }
  return "unknown";
}

namespace {

/// Appends `bytes` for display: control bytes and DEL as \xNN, cut at `max_bytes`.
void append_shown(std::string& out, std::string_view bytes, std::size_t max_bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  const std::size_t n = bytes.size() > max_bytes ? max_bytes : bytes.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x20 || b == 0x7f) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
    } else {
      out += static_cast<char>(b);
    }
  }
  if (n < bytes.size()) out += "...";
}

}  // namespace

std::string printable(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  append_shown(out, bytes, max_bytes);
  return out;
}

std::string describe(const command& c, std::size_t max_bytes) {
  std::string out(to_string(c.op));
  out += ' ';
  append_shown(out, c.key, max_bytes);
  if (c.op == op_kind::put) {
    out += '=';
    append_shown(out, c.value, max_bytes);
  }
  if (c.expected) out += *c.expected == 0 ? " if absent" : " if mod_revision=" + std::to_string(*c.expected);
  return out;
}

result<void> validate(const command& c) {
  const bool known_op = c.op == op_kind::put || c.op == op_kind::del;
  const bool seq_ok = c.client_id == no_client ? c.seq == 0 : c.seq >= 1;
  const bool key_ok = !c.key.empty() && c.key.size() <= max_key_bytes;
  const bool value_ok = c.op == op_kind::del ? c.value.empty() : c.value.size() <= max_value_bytes;
  if (!(known_op && seq_ok && key_ok && value_ok)) return make_error_code(errc::bad_command);
  return {};
}

std::string encode(const command& c) {
  RAFTKV_ASSERT(validate(c).has_value(), "only valid commands are encoded");
  std::string out;
  out.reserve(command_overhead_bytes + c.key.size() + c.value.size());
  detail::put_u8(out, command_version);
  detail::put_u8(out, static_cast<std::uint8_t>(c.op));
  detail::put_u64(out, c.client_id);
  detail::put_u64(out, c.seq);
  detail::put_u8(out, c.expected ? 1 : 0);
  detail::put_u64(out, c.expected.value_or(0));
  detail::put_bytes(out, c.key);
  detail::put_bytes(out, c.value);
  return out;
}

result<command> decode(std::string_view bytes) {
  detail::reader r(bytes);
  if (r.get_u8() != command_version) return make_error_code(errc::bad_command);
  command c;
  c.op = static_cast<op_kind>(r.get_u8());
  c.client_id = r.get_u64();
  c.seq = r.get_u64();
  const std::uint8_t condition = r.get_u8();
  const std::uint64_t expected = r.get_u64();
  // Canonical: no condition means expected is written as 0, nothing else.
  if (condition > 1 || (condition == 0 && expected != 0)) return make_error_code(errc::bad_command);
  if (condition == 1) c.expected = expected;
  c.key = r.get_bytes(max_key_bytes);
  c.value = r.get_bytes(max_value_bytes);
  if (!r.done()) return make_error_code(errc::bad_command);  // truncated or trailing bytes
  if (auto v = validate(c); !v) return v.error();
  return c;
}

}  // namespace raftkv::kv
