// raftkv/net/error.hpp: why the peer transport rejected bytes or a peer.
//
// Malformed input from the network is an expected outcome, never a bug: the
// frame codec returns these as values (raftkv::result) and the transport logs
// them and closes the one connection that sent them. Registered as an
// error-code enum of its own category ("raftkv.net"), the way Beast registers
// `http::error`. Pure: Boost.System only, no Asio.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace raftkv::net {

/// What was wrong with a frame, a payload or a handshake.
enum class errc {
  ok = 0,
  frame_too_large = 1,      ///< the length field exceeds the configured maximum frame size
  frame_too_short = 2,      ///< the length field is smaller than the fixed frame header
  unknown_frame_type = 3,   ///< the type byte names no frame type
  unsupported_version = 4,  ///< the version byte (or hello's protocol version) is not ours
  bad_checksum = 5,         ///< the payload's CRC-32C does not match the header's
  truncated = 6,            ///< the payload ends before its last field
  trailing_bytes = 7,       ///< the payload goes on after its last field
  bad_enum = 8,             ///< an enum or bool field holds a value out of range
  bad_count = 9,            ///< an element count larger than the remaining bytes could hold
  unexpected_frame = 10,    ///< a valid frame of a type not allowed at this point
  handshake_refused = 11,   ///< the peer answered hello with hello_refused
  timed_out = 12,           ///< the handshake or a write did not finish in time
};

/// The category naming the transport's outcomes ("raftkv.net").
const boost::system::error_category& net_category() noexcept;

/// Makes `e` an error_code of net_category().
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

}  // namespace raftkv::net

template <>
struct boost::system::is_error_code_enum<raftkv::net::errc> : std::true_type {};
