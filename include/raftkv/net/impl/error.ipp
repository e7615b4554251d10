// Bodies for raftkv/net/error.hpp; compiled once by lib/net.cpp.
#pragma once

#include <raftkv/net/error.hpp>

#include <string>

namespace raftkv::net {
namespace {

class net_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "raftkv.net"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "success";
      case errc::frame_too_large: return "frame larger than the maximum frame size";
      case errc::frame_too_short: return "frame shorter than its header";
      case errc::unknown_frame_type: return "unknown frame type";
      case errc::unsupported_version: return "unsupported protocol version";
      case errc::bad_checksum: return "payload checksum mismatch";
      case errc::truncated: return "truncated payload";
      case errc::trailing_bytes: return "trailing bytes after the payload";
      case errc::bad_enum: return "enum or bool field out of range";
      case errc::bad_count: return "element count larger than the payload can hold";
      case errc::unexpected_frame: return "frame type not expected here";
      case errc::handshake_refused: return "handshake refused by the peer";
      case errc::timed_out: return "timed out";
    }
    return "unknown raftkv.net error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& net_category() noexcept {
  static const net_category_impl instance;
  return instance;
}

}  // namespace raftkv::net
