// Bodies for raftkv/net/frame.hpp; compiled once by lib/net.cpp.
#pragma once

#include <raftkv/detail/crc32c.hpp>
#include <raftkv/net/frame.hpp>

namespace raftkv::net {
namespace {

/// Smallest encoding of one entry (u64 term, u64 index, u8 type, u32 length).
constexpr std::size_t entry_bytes_min = 8 + 8 + 1 + 4;

void put_le(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_u8(std::string& out, std::uint8_t v) { put_le(out, v, 1); }
void put_u32(std::string& out, std::uint32_t v) { put_le(out, v, 4); }
void put_u64(std::string& out, std::uint64_t v) { put_le(out, v, 8); }
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

std::uint64_t get_le(const char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  }
  return v;
}

/// Reads a payload front to back, never past its end; the first failure is
/// sticky (later reads return zero or empty) so a decoder checks once.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  std::uint64_t get(std::size_t n) {
    if (!take(n)) return 0;
    return get_le(in_.data() + pos_ - n, n);
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }

  /// A length-prefixed string, copied only after its length was checked
  /// against the bytes that remain.
  std::string str() {
    const std::uint32_t n = u32();
    if (!take(n)) return {};
    return std::string(in_.substr(pos_ - n, n));
  }

  /// Marks the input as malformed with `e` (keeps the first error).
  void fail(errc e) {
    if (!error_) error_ = e;
  }
  std::size_t remaining() const { return in_.size() - pos_; }
  /// The first failure so far, if any.
  boost::system::error_code error() const { return error_; }
  /// The outcome: the first error, trailing_bytes if input is left, or ok.
  boost::system::error_code finish() const {
    if (error_) return error_;
    if (pos_ != in_.size()) return errc::trailing_bytes;
    return {};
  }

 private:
  bool take(std::size_t n) {
    if (error_ || in_.size() - pos_ < n) {
      fail(errc::truncated);
      return false;
    }
    pos_ += n;
    return true;
  }

  std::string_view in_;                 ///< the payload; never changes
  std::size_t pos_ = 0;                 ///< bytes consumed; pos_ <= in_.size()
  boost::system::error_code error_{};   ///< the first failure; sticky
};

/// A whole frame: header with length and checksum, then `payload`.
std::string make_frame(frame_type t, std::string_view payload) {
  std::string out;
  out.reserve(frame_header_bytes + payload.size());
  put_u32(out, static_cast<std::uint32_t>(frame_header_bytes - 4 + payload.size()));
  put_u8(out, static_cast<std::uint8_t>(t));
  put_u8(out, protocol_version);
  put_u32(out, raftkv::detail::crc32c(payload));
  out.append(payload);
  return out;
}

bool known_frame_type(std::uint8_t t) {
  return t >= static_cast<std::uint8_t>(frame_type::hello) &&
         t <= static_cast<std::uint8_t>(frame_type::raft);
}

/// Checks that `f` is a version-1 frame of type `t`.
boost::system::error_code check_frame(const frame& f, frame_type t) {
  if (f.type != t) return errc::unexpected_frame;
  if (f.version != protocol_version) return errc::unsupported_version;
  return {};
}

void put_entry(std::string& out, const core::entry& e) {
  put_u64(out, e.term);
  put_u64(out, e.index);
  put_u8(out, static_cast<std::uint8_t>(e.type));
  put_str(out, e.data);
}

core::entry get_entry(reader& r) {
  core::entry e;
  e.term = r.u64();
  e.index = r.u64();
  const std::uint8_t type = r.u8();
  if (type > static_cast<std::uint8_t>(core::entry_type::noop)) r.fail(errc::bad_enum);
  e.type = static_cast<core::entry_type>(type);
  e.data = r.str();
  return e;
}

}  // namespace

std::string_view to_string(frame_type t) noexcept {
  switch (t) {
    case frame_type::hello: return "hello";
    case frame_type::hello_ok: return "hello_ok";
    case frame_type::hello_refused: return "hello_refused";
    case frame_type::raft: return "raft";
  }
  return "unknown";
}

std::string encode(const core::message& m) {
  std::size_t size = 1 + 8 * 6 + 1 + 8 * 3 + 4 + 4 + m.chunk.size();
  for (const auto& e : m.entries) size += entry_bytes_min + e.data.size();
  std::string p;
  p.reserve(size);
  put_u8(p, static_cast<std::uint8_t>(m.type));
  put_u64(p, m.from);
  put_u64(p, m.to);
  put_u64(p, m.term);
  put_u64(p, m.log_term);
  put_u64(p, m.index);
  put_u64(p, m.commit);
  put_u8(p, m.reject ? 1 : 0);
  put_u64(p, m.reject_hint);
  put_u64(p, m.context);
  put_u64(p, m.snapshot_size);
  put_u32(p, static_cast<std::uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) put_entry(p, e);
  put_str(p, m.chunk);
  return make_frame(frame_type::raft, p);
}

std::string encode_hello(const hello& h) {
  std::string p;
  put_u32(p, h.version);
  put_str(p, h.cluster_id);
  put_u64(p, h.from);
  put_u64(p, h.to);
  return make_frame(frame_type::hello, p);
}

std::string encode_hello_ok() { return make_frame(frame_type::hello_ok, {}); }

std::string encode_hello_refused(std::string_view reason) {
  std::string p;
  put_str(p, reason);
  return make_frame(frame_type::hello_refused, p);
}

result<core::message> decode_message(const frame& f) {
  if (auto ec = check_frame(f, frame_type::raft)) return ec;
  reader r(f.payload);
  core::message m;
  const std::uint8_t type = r.u8();
  if (type >= message_type_count) r.fail(errc::bad_enum);
  m.type = static_cast<core::message_type>(type);
  m.from = r.u64();
  m.to = r.u64();
  m.term = r.u64();
  m.log_term = r.u64();
  m.index = r.u64();
  m.commit = r.u64();
  const std::uint8_t reject = r.u8();
  if (reject > 1) r.fail(errc::bad_enum);
  m.reject = reject == 1;
  m.reject_hint = r.u64();
  m.context = r.u64();
  m.snapshot_size = r.u64();
  const std::uint32_t count = r.u32();
  // Each entry takes at least entry_bytes_min bytes: a count the rest of the
  // payload cannot hold is rejected before reserving room for it.
  if (count > r.remaining() / entry_bytes_min) r.fail(errc::bad_count);
  if (auto ec = r.error()) return ec;
  m.entries.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) m.entries.push_back(get_entry(r));
  m.chunk = r.str();
  if (auto ec = r.finish()) return ec;
  return m;
}

result<hello> decode_hello(const frame& f) {
  if (f.type != frame_type::hello) return errc::unexpected_frame;
  reader r(f.payload);
  hello h;
  h.version = r.u32();
  h.cluster_id = r.str();
  h.from = r.u64();
  h.to = r.u64();
  if (auto ec = r.finish()) return ec;
  return h;
}

result<std::string> decode_hello_refused(const frame& f) {
  if (auto ec = check_frame(f, frame_type::hello_refused)) return ec;
  reader r(f.payload);
  std::string reason = r.str();
  if (auto ec = r.finish()) return ec;
  return reason;
}

result<void> decode_hello_ok(const frame& f) {
  if (auto ec = check_frame(f, frame_type::hello_ok)) return ec;
  if (!f.payload.empty()) return errc::trailing_bytes;
  return {};
}

frame_decoder::frame_decoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

void frame_decoder::feed(std::string_view bytes) {
  if (error_) return;
  if (pos_ == buf_.size()) {
    // Nothing pending: give back the room a large frame (a snapshot chunk) took.
    if (buf_.capacity() > (std::size_t{1} << 20)) std::string().swap(buf_);
    buf_.clear();
    pos_ = 0;
  } else if (pos_ >= buf_.size() / 2) {
    // Compact once the consumed prefix is at least half the buffer: each byte
    // moves at most once per frame it is part of.
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

result<std::optional<frame>> frame_decoder::next() {
  if (error_) return error_;
  const std::size_t avail = buf_.size() - pos_;
  if (avail < 4) return std::optional<frame>{};
  const char* p = buf_.data() + pos_;
  const std::uint64_t length = get_le(p, 4);
  if (length > max_frame_bytes_) return error_ = errc::frame_too_large;
  if (length < frame_header_bytes - 4) return error_ = errc::frame_too_short;
  if (avail >= 5 && !known_frame_type(static_cast<std::uint8_t>(p[4]))) {
    return error_ = errc::unknown_frame_type;
  }
  if (avail < 4 + length) {
    // The length is checked: room for the whole frame may be reserved now.
    if (buf_.capacity() < pos_ + 4 + length) {
      buf_.erase(0, pos_);
      pos_ = 0;
      buf_.reserve(4 + length);
    }
    return std::optional<frame>{};
  }
  frame f;
  f.type = static_cast<frame_type>(p[4]);
  f.version = static_cast<std::uint8_t>(p[5]);
  const auto crc = static_cast<std::uint32_t>(get_le(p + 6, 4));
  f.payload.assign(p + frame_header_bytes, length - (frame_header_bytes - 4));
  pos_ += 4 + length;
  if (raftkv::detail::crc32c(f.payload) != crc) return error_ = errc::bad_checksum;
  return std::optional<frame>{std::move(f)};
}

}  // namespace raftkv::net
