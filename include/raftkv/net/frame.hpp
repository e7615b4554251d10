// raftkv/net/frame.hpp: the peer protocol's frames and their byte encoding.
//
// Pure and fuzz-ready: bytes in, values or error codes out; no Asio, no IO, no
// clock (a test proves the include rule). Bodies in net/impl/frame.ipp.
//
// A frame on the wire (all integers little-endian, fixed width):
//
//   u32 length     bytes after this field: 6 + payload size
//   u8  type       frame_type
//   u8  version    protocol_version (1)
//   u32 crc        CRC-32C of the payload
//   ... payload    length - 6 bytes, laid out per type (below)
//
// Strings and blobs are a u32 byte count followed by the bytes.
//
//   hello          u32 protocol_version | str cluster_id | u64 from | u64 to
//   hello_ok       (empty)
//   hello_refused  str reason
//   raft           u8 message_type | u64 from | u64 to | u64 term | u64 log_term |
//                  u64 index | u64 commit | u8 reject (0/1) | u64 reject_hint |
//                  u64 context | u64 snapshot_size | u32 entry_count |
//                  entry_count x (u64 term | u64 index | u8 entry_type | str data) |
//                  str chunk
//
// Why a checksum although TCP has one: TCP's 16-bit sum misses some corruption
// that NICs, middleboxes and bad RAM produce, and a flipped byte in an entry the
// follower accepts is then persisted under a valid WAL CRC and committed:
// silent divergence of the replicated state. CRC-32C end to end closes that
// window for four bytes a frame and a table lookup a byte, far below the cost
// of the fsync every append pays anyway.
//
// hello's payload layout is frozen for every protocol version, so that peers of
// different versions can still read each other's hello and refuse by name:
// decode_hello() accepts any version byte and the receiver compares
// hello::protocol_version. Every other payload decoder accepts version 1 only.
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/error.hpp>
#include <raftkv/net/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace raftkv::net {

/// The protocol version this build speaks (the frame's version byte).
inline constexpr std::uint8_t protocol_version = 1;

/// Bytes of the fixed frame header: length, type, version, crc.
inline constexpr std::size_t frame_header_bytes = 4 + 1 + 1 + 4;

/// Default bound on a frame's length field (16 MiB).
inline constexpr std::size_t default_max_frame_bytes = std::size_t{16} << 20;

/// Number of core::message_type values (request_vote .. install_snapshot_resp);
/// a raft payload's type byte must be below it.
inline constexpr std::size_t message_type_count =
    static_cast<std::size_t>(core::message_type::install_snapshot_resp) + 1;

/// The kinds of frame. Values are wire values; 0 is never sent.
enum class frame_type : std::uint8_t {
  hello = 1,          ///< first frame on a connection: who is calling whom
  hello_ok = 2,       ///< the receiver accepted the hello
  hello_refused = 3,  ///< the receiver refused the hello, with a reason
  raft = 4,           ///< one core::message
};

/// "hello", "hello_ok", "hello_refused", "raft" or "unknown".
std::string_view to_string(frame_type t) noexcept;

/// The first frame a connecting node sends.
struct hello {
  std::uint32_t version = protocol_version;  ///< the protocol version the sender speaks
  std::string cluster_id{};                  ///< the sender's cluster; must equal the receiver's
  core::node_id from = core::no_node;        ///< the sender's node id
  core::node_id to = core::no_node;          ///< the node id the sender means to reach
  friend bool operator==(const hello&, const hello&) = default;
};

/// A frame whose header was checked (length, type, checksum); its payload is
/// not decoded yet.
struct frame {
  frame_type type = frame_type::raft;  ///< a known frame type
  std::uint8_t version = 0;            ///< as received; checked by the payload decoders
  std::string payload{};               ///< the bytes after the header
};

/// The frame carrying `m`, header included.
std::string encode(const core::message& m);
/// The frame carrying `h`, header included.
std::string encode_hello(const hello& h);
/// The hello_ok frame.
std::string encode_hello_ok();
/// The hello_refused frame carrying `reason`.
std::string encode_hello_refused(std::string_view reason);

/// The message in a raft frame. Fails with unexpected_frame, unsupported_version,
/// truncated, trailing_bytes, bad_enum or bad_count.
result<core::message> decode_message(const frame& f);
/// The hello in a hello frame (any version byte, see above).
result<hello> decode_hello(const frame& f);
/// The reason in a hello_refused frame.
result<std::string> decode_hello_refused(const frame& f);
/// Succeeds for a version-1 hello_ok frame with an empty payload.
result<void> decode_hello_ok(const frame& f);

/// Cuts a byte stream into frames, incrementally: feed() whatever arrived, then
/// call next() until it says "need more". A frame's length is checked against
/// the maximum before a byte is reserved for it, so a hostile length costs
/// nothing. Errors are sticky: once next() failed the stream is unusable and
/// the connection should be closed.
class frame_decoder {
 public:
  /// A decoder refusing frames whose length field exceeds `max_frame_bytes`.
  explicit frame_decoder(std::size_t max_frame_bytes = default_max_frame_bytes);

  /// Appends `bytes` to the stream (ignored after an error). The caller bounds
  /// how much it feeds between next() calls (one socket read).
  void feed(std::string_view bytes);

  /// The next complete frame; nullopt when more bytes are needed; an error
  /// (frame_too_large, frame_too_short, unknown_frame_type, bad_checksum) when
  /// the stream is malformed.
  result<std::optional<frame>> next();

  /// Bytes fed and not yet returned as frames.
  std::size_t buffered() const noexcept { return buf_.size() - pos_; }
  /// Bytes the buffer holds room for (for tests of the allocation bound).
  std::size_t capacity() const noexcept { return buf_.capacity(); }

 private:
  std::size_t max_frame_bytes_;  ///< bound on the length field; fixed at construction
  std::string buf_{};            ///< fed bytes; [pos_, size) not yet consumed
  std::size_t pos_ = 0;          ///< start of the first unconsumed frame; pos_ <= buf_.size()
  boost::system::error_code error_{};  ///< the first error; once set, next() returns it forever
};

}  // namespace raftkv::net
