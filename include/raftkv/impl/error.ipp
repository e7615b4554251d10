// Bodies for raftkv/error.hpp; compiled once by lib/common.cpp.
#pragma once

#include <raftkv/error.hpp>

#include <string>

namespace raftkv {
namespace {

class raftkv_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "raftkv"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "success";
      case errc::not_leader: return "not the leader";
      case errc::no_leader: return "no leader is known";
      case errc::transfer_in_progress: return "a leadership transfer is in progress";
      case errc::proposal_dropped: return "proposal dropped: too many uncommitted entries";
      case errc::read_queue_full: return "too many pending reads";
      case errc::compacted: return "entries compacted";
      case errc::unavailable: return "entries not available";
      case errc::unknown_peer: return "unknown peer";
      case errc::already_leader: return "already the leader";
      case errc::invalid_config: return "invalid configuration";
      case errc::bad_message: return "malformed or misaddressed message";
      case errc::read_dropped: return "read abandoned: leadership changed";
      case errc::bad_command: return "malformed key-value command";
      case errc::bad_snapshot: return "corrupt, truncated or unknown key-value snapshot";
      case errc::snapshot_unreadable: return "the newest snapshot could not be read back from its file";
    }
    return "unknown raftkv error " + std::to_string(ev);
  }
};

}  // namespace

const boost::system::error_category& raftkv_category() noexcept {
  static const raftkv_category_impl instance;
  return instance;
}

}  // namespace raftkv
