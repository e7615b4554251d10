// raftkv/storage/detail/codec.hpp: little-endian fixed-width integers for the
// on-disk formats. Header-only and tiny.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace raftkv::storage::detail {

/// Appends the low `n` bytes of `v` to `out`, least significant first.
inline void put_le(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

inline void put_u8(std::string& out, std::uint8_t v) { put_le(out, v, 1); }
inline void put_u32(std::string& out, std::uint32_t v) { put_le(out, v, 4); }
inline void put_u64(std::string& out, std::uint64_t v) { put_le(out, v, 8); }

/// Reads `n` little-endian bytes at `p`.
inline std::uint64_t get_le(const char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

/// A cursor over bytes; reading past the end sets `ok` to false and yields 0.
struct byte_reader {
  std::string_view bytes;  ///< the input
  std::size_t pos = 0;     ///< next byte to read; pos <= bytes.size() while ok
  bool ok = true;          ///< false once a read ran past the end

  std::uint64_t le(std::size_t n) {
    if (!ok || bytes.size() - pos < n) {
      ok = false;
      return 0;
    }
    const std::uint64_t v = get_le(bytes.data() + pos, n);
    pos += n;
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }
  /// Everything not read yet.
  std::string_view rest() {
    std::string_view r = ok ? bytes.substr(pos) : std::string_view{};
    pos = bytes.size();
    return r;
  }
  bool at_end() const { return ok && pos == bytes.size(); }
};

}  // namespace raftkv::storage::detail
