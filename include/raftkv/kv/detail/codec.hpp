// raftkv/kv/detail/codec.hpp: the byte-level helpers behind the command and
// snapshot encodings: little-endian fixed-width integers, u32-length-prefixed
// strings, a bounds-checked reader and CRC-32C.
//
// Integers are assembled with shifts, never by casting pointers, so the bytes
// mean the same on every host. Used only by the kv .ipp bodies.
#pragma once

#include <raftkv/detail/crc32c.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace raftkv::kv::detail {

/// Appends the low `N` bytes of `v` to `out`, least significant first.
template <std::size_t N>
void put_le(std::string& out, std::uint64_t v) {
  static_assert(N >= 1 && N <= 8);
  std::array<char, N> buf{};
  for (std::size_t i = 0; i < N; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out.append(buf.data(), N);
}
inline void put_u8(std::string& out, std::uint8_t v) { put_le<1>(out, v); }
inline void put_u32(std::string& out, std::uint32_t v) { put_le<4>(out, v); }
inline void put_u64(std::string& out, std::uint64_t v) { put_le<8>(out, v); }

/// Appends `s` as a u32 length followed by its bytes. The caller bounds `s`
/// (every string the kv layer writes is at most max_value_bytes).
inline void put_bytes(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

/// Reads what the put_* functions wrote, never past the end of its input.
/// Failure is sticky: once a read runs out of bytes every later read returns
/// zero or empty and ok() stays false, so a parser checks once per record.
class reader {
 public:
  /// Reads from `in`, which must outlive the reader.
  explicit reader(std::string_view in) : in_(in) {}

  /// False once any read ran past the end.
  bool ok() const { return ok_; }
  /// Bytes not yet read (0 after a failure).
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }
  /// True when every byte was read and no read failed.
  bool done() const { return ok_ && pos_ == in_.size(); }

  /// The next `N` bytes as a little-endian integer; 0 on failure.
  template <std::size_t N>
  std::uint64_t get_le() {
    static_assert(N >= 1 && N <= 8);
    if (!take(N)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < N; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(in_[pos_ - N + i])} << (8 * i);
    }
    return v;
  }
  std::uint8_t get_u8() { return static_cast<std::uint8_t>(get_le<1>()); }
  std::uint32_t get_u32() { return static_cast<std::uint32_t>(get_le<4>()); }
  std::uint64_t get_u64() { return get_le<8>(); }

  /// The next `n` bytes as a view into the input; empty on failure.
  std::string_view get_raw(std::size_t n) {
    if (!take(n)) return {};
    return in_.substr(pos_ - n, n);
  }

  /// A u32-length-prefixed string as a view into the input; fails (and
  /// returns empty) when the length exceeds `max_bytes` or the input.
  std::string_view get_bytes(std::size_t max_bytes) {
    const std::uint32_t n = get_u32();
    if (n > max_bytes) ok_ = false;
    if (!ok_) return {};
    return get_raw(n);
  }

 private:
  /// Advances past `n` bytes if there are that many; fails otherwise.
  bool take(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }

  std::string_view in_;  ///< the whole input; never changes
  std::size_t pos_ = 0;  ///< bytes consumed; pos_ <= in_.size(); frozen once ok_ is false
  bool ok_ = true;       ///< false after the first read past the end (sticky)
};

using raftkv::detail::crc32c;

}  // namespace raftkv::kv::detail
