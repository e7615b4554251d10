// Bodies for raftkv/core/node.hpp: timers, elections (§5.2), PreVote (thesis
// §9.6) and CheckQuorum (thesis §6.2). Compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/node.hpp>

namespace raftkv::core {

using detail::cat;

namespace {
std::string ids_where(const std::map<node_id, bool>& votes, bool value) {
  std::string out;
  for (const auto& [id, v] : votes) {
    if (v == value) out += cat(out.empty() ? "" : ", ", id);
  }
  return out.empty() ? std::string("nobody") : out;
}
}  // namespace

void node::tick_election() {
  ++election_elapsed_;
  if (election_elapsed_ < randomized_election_timeout_) return;
  emit(event_kind::election_timeout, [&] {
    if (role_ != role::follower) {
      return cat("election timeout: our ", role_ == role::candidate ? "election" : "pre-election",
                 " got no majority within ", election_elapsed_, " ticks; trying again");
    }
    return leader_ == no_node
               ? cat("election timeout: no leader for ", election_elapsed_, " ticks")
               : cat("election timeout: nothing from leader ", leader_, " for ",
                     election_elapsed_, " ticks");
  });
  election_elapsed_ = 0;
  hup(cfg_.pre_vote ? campaign_kind::pre_election : campaign_kind::election);
}

void node::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  for (auto& [id, pr] : progress_) {
    if (id != cfg_.id) ++pr.ticks_since_contact;
  }
  if (election_elapsed_ >= cfg_.election_ticks) {
    election_elapsed_ = 0;
    if (cfg_.check_quorum) {
      check_quorum_or_step_down();
      if (role_ != role::leader) return;
    }
  }
  if (transfer_target_ != no_node && ++transfer_elapsed_ >= cfg_.election_ticks) {
    abort_transfer("it did not finish within an election timeout");
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat();
  }
}

result<void> node::campaign() {
  if (role_ == role::leader) return make_error_code(errc::already_leader);
  hup(cfg_.pre_vote ? campaign_kind::pre_election : campaign_kind::election);
  return {};
}

void node::hup(campaign_kind kind) {
  if (role_ == role::leader) return;
  start_campaign(kind);
}

void node::start_campaign(campaign_kind kind) {
  message_type type = message_type::request_vote;
  term_t vote_term = 0;
  if (kind == campaign_kind::pre_election) {
    become_pre_candidate();
    type = message_type::request_pre_vote;
    vote_term = term_ + 1;
    emit(event_kind::pre_vote_started, [&] {
      return cat("asking for pre-votes for term ", vote_term, " (our term stays ", term_,
                 " unless a majority would vote for us)");
    });
  } else {
    become_candidate();
    vote_term = term_;
    emit(event_kind::election_started, [&] {
      return cat("starting an election for term ", term_,
                 kind == campaign_kind::transfer ? " (leadership transfer)" : "",
                 ", voting for ourselves; last log is (term ", log_.last_term(), ", index ",
                 log_.last_index(), ")");
    });
  }
  votes_[cfg_.id] = true;
  if (votes_.size() >= quorum()) {  // a cluster of one wins at once
    if (kind == campaign_kind::pre_election) {
      start_campaign(campaign_kind::election);
    } else {
      become_leader();
    }
    return;
  }
  for (node_id to : cfg_.voters) {
    if (to == cfg_.id) continue;
    send({.type = type,
          .to = to,
          .term = vote_term,
          .log_term = log_.last_term(),
          .index = log_.last_index(),
          .context = kind == campaign_kind::transfer ? vote_context_transfer : 0});
  }
}

// Figure 2, RequestVote receiver, and thesis §9.6 for pre-votes.
void node::handle_vote_request(const message& m) {
  const bool pre = m.type == message_type::request_pre_vote;
  const message_type resp =
      pre ? message_type::request_pre_vote_resp : message_type::request_vote_resp;
  // We may vote when we already voted for this candidate, when we have neither
  // voted nor follow a leader this term, or (pre-vote) for a future term.
  const bool can_vote = vote_ == m.from || (vote_ == no_node && leader_ == no_node) ||
                        (pre && m.term > term_);
  const bool up_to_date = log_.is_up_to_date(m.index, m.log_term);
  const char* what = pre ? "pre-vote" : "vote";
  if (can_vote && up_to_date) {
    emit(event_kind::vote_granted, [&] {
      return cat(what, " granted to ", m.from, " for term ", m.term, ": its last log (term ",
                 m.log_term, ", index ", m.index, ") is at least as up to date as ours (term ",
                 log_.last_term(), ", index ", log_.last_index(), ")");
    });
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
    send({.type = resp, .to = m.from, .term = pre ? m.term : term_});
    return;
  }
  emit(event_kind::vote_refused, [&] {
    if (!can_vote) {
      return vote_ != no_node
                 ? cat(what, " refused to ", m.from, ": we already voted for ", vote_, " in term ", term_)
                 : cat(what, " refused to ", m.from, ": we follow leader ", leader_, " in term ", term_);
    }
    return cat(what, " refused to ", m.from, ": its last log (term ", m.log_term, ", index ",
               m.index, ") is behind ours (term ", log_.last_term(), ", index ",
               log_.last_index(), ")");
  });
  send({.type = resp, .to = m.from, .reject = true});
}

void node::handle_vote_response(const message& m) {
  const bool pre = m.type == message_type::request_pre_vote_resp;
  if (pre != (role_ == role::pre_candidate)) return;  // an answer to an earlier campaign
  if (pre && !m.reject && m.term != term_ + 1) return;  // a grant from an earlier pre-election
  if (!votes_.try_emplace(m.from, !m.reject).second) return;  // duplicate
  std::size_t granted = 0;
  for (const auto& [id, v] : votes_) granted += v ? 1 : 0;
  const std::size_t refused = votes_.size() - granted;
  const char* what = pre ? "pre-election" : "election";
  if (granted >= quorum()) {
    emit(event_kind::votes_counted, [&] {
      return cat("won the ", what, " for term ", pre ? term_ + 1 : term_, ": votes from ",
                 ids_where(votes_, true));
    });
    if (pre) {
      start_campaign(campaign_kind::election);
    } else {
      become_leader();
    }
  } else if (cfg_.voters.size() - refused < quorum()) {
    emit(event_kind::votes_counted, [&] {
      return cat("lost the ", what, " for term ", pre ? term_ + 1 : term_, ": refused by ",
                 ids_where(votes_, false));
    });
    become_follower(term_, no_node);
  }
}

bool node::in_lease() const {
  return cfg_.check_quorum && leader_ != no_node && election_elapsed_ < cfg_.election_ticks;
}

void node::check_quorum_or_step_down() {
  std::size_t active = 0;
  std::string heard;  // the other members heard from
  for (const auto& [id, pr] : progress_) {
    if (id == cfg_.id || pr.recent_active) {
      ++active;
      if (cfg_.record_events && id != cfg_.id) heard += cat(heard.empty() ? "" : ", ", id);
    }
  }
  if (active < quorum()) {
    emit(event_kind::stepped_down, [&] {
      return cat("stepping down: in the last ", cfg_.election_ticks, " ticks we heard from ", active - 1,
                 " of the other ", cfg_.voters.size() - 1, " members", heard.empty() ? "" : cat(" (", heard, ")"),
                 "; with ourselves that is ", active, " of ", cfg_.voters.size(),
                 ", not a majority (CheckQuorum)");
    });
    become_follower(term_, no_node);
    return;
  }
  for (auto& [id, pr] : progress_) {
    if (id != cfg_.id) pr.recent_active = false;
  }
}

}  // namespace raftkv::core
