// Bodies for raftkv/core/node.hpp: leadership transfer (thesis §3.10).
//
// The leader stops accepting proposals, brings the target's log up to date,
// then sends it timeout_now; the target starts an election at once, and its
// vote requests carry a flag so that voters do not ignore them as disruptive.
// A transfer that has not finished within an election timeout is abandoned.
// Compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/node.hpp>

namespace raftkv::core {

using detail::cat;

result<void> node::transfer_leader(node_id target) {
  if (role_ != role::leader) {
    return make_error_code(leader_ == no_node ? errc::no_leader : errc::not_leader);
  }
  if (!is_voter(target)) return make_error_code(errc::unknown_peer);
  if (target == cfg_.id) return make_error_code(errc::already_leader);
  if (transfer_target_ == target) return {};
  if (transfer_target_ != no_node) abort_transfer("a transfer to another node was requested");
  transfer_target_ = target;
  transfer_elapsed_ = 0;  // the transfer gets one election timeout
  const progress& pr = progress_.at(target);
  emit(event_kind::transfer, [&] {
    return cat("transferring leadership to ", target, ": it is known to hold our entries up to ",
               pr.match, ", ours end at ", log_.last_index(), "; proposals are refused until it finishes");
  });
  if (pr.match == log_.last_index()) {
    send_timeout_now(target);
  } else {
    maybe_send_append(target, true);
  }
  return {};
}

void node::maybe_finish_catch_up(node_id to) {
  if (to != transfer_target_ || progress_.at(to).match != log_.last_index()) return;
  send_timeout_now(to);
}

void node::send_timeout_now(node_id to) {
  emit(event_kind::transfer, [&] {
    return cat(to, " has all our entries (up to ", log_.last_index(),
               "); sent TimeoutNow so it starts an election");
  });
  send({.type = message_type::timeout_now, .to = to});
}

void node::abort_transfer(const char* why) {
  emit(event_kind::transfer, [&] {
    return cat("leadership transfer to ", transfer_target_, " abandoned: ", why);
  });
  transfer_target_ = no_node;
}

void node::handle_timeout_now(const message& m) {
  if (m.from != leader_) {
    emit(event_kind::message_ignored, [&] {
      return cat("ignored TimeoutNow from ", m.from, ": it is not our leader");
    });
    return;
  }
  emit(event_kind::transfer, [&] {
    return cat("TimeoutNow from leader ", m.from, ": starting an election at once (leadership transfer)");
  });
  hup(campaign_kind::transfer);
}

}  // namespace raftkv::core
