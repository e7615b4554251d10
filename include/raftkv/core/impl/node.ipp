// Bodies for raftkv/core/node.hpp: construction, step dispatch, role changes,
// Ready output and invariants. Compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/node.hpp>

#include <algorithm>

namespace raftkv::core {

using detail::cat;

std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::follower: return "follower";
    case role::pre_candidate: return "pre_candidate";
    case role::candidate: return "candidate";
    case role::leader: return "leader";
  }
  return "unknown";
}

std::string_view to_string(message_type t) noexcept {
  switch (t) {
    case message_type::request_vote: return "request_vote";
    case message_type::request_vote_resp: return "request_vote_resp";
    case message_type::request_pre_vote: return "request_pre_vote";
    case message_type::request_pre_vote_resp: return "request_pre_vote_resp";
    case message_type::append_entries: return "append_entries";
    case message_type::append_entries_resp: return "append_entries_resp";
    case message_type::heartbeat: return "heartbeat";
    case message_type::heartbeat_resp: return "heartbeat_resp";
    case message_type::read_index: return "read_index";
    case message_type::read_index_resp: return "read_index_resp";
    case message_type::timeout_now: return "timeout_now";
    case message_type::install_snapshot: return "install_snapshot";
    case message_type::install_snapshot_resp: return "install_snapshot_resp";
  }
  return "unknown";
}

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::election_timeout: return "election_timeout";
    case event_kind::pre_vote_started: return "pre_vote_started";
    case event_kind::election_started: return "election_started";
    case event_kind::vote_granted: return "vote_granted";
    case event_kind::vote_refused: return "vote_refused";
    case event_kind::vote_ignored: return "vote_ignored";
    case event_kind::votes_counted: return "votes_counted";
    case event_kind::became_follower: return "became_follower";
    case event_kind::became_leader: return "became_leader";
    case event_kind::term_changed: return "term_changed";
    case event_kind::stepped_down: return "stepped_down";
    case event_kind::append_rejected: return "append_rejected";
    case event_kind::append_conflict: return "append_conflict";
    case event_kind::log_truncated: return "log_truncated";
    case event_kind::commit_advanced: return "commit_advanced";
    case event_kind::snapshot: return "snapshot";
    case event_kind::proposal_refused: return "proposal_refused";
    case event_kind::read_index: return "read_index";
    case event_kind::transfer: return "transfer";
    case event_kind::message_ignored: return "message_ignored";
  }
  return "unknown";
}

result<void> config::validate() const {
  const auto bad = make_error_code(errc::invalid_config);
  if (id == no_node) return bad;
  if (std::find(voters.begin(), voters.end(), id) == voters.end()) return bad;
  std::vector<node_id> sorted = voters;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) return bad;
  if (sorted.front() == no_node) return bad;
  if (heartbeat_ticks < 1 || election_ticks <= heartbeat_ticks) return bad;
  if (max_append_entries < 1 || max_append_bytes < 1 || max_inflight_appends < 1) return bad;
  if (max_uncommitted_entries < 1 || max_pending_reads < 1 || max_events_per_ready < 1) return bad;
  if (max_committed_bytes_per_ready < 1 || snapshot_chunk_bytes < 1) return bad;
  return {};
}

node::node(const config& cfg, const storage& s) : cfg_(cfg), log_(s), rng_(cfg.seed) {
  RAFTKV_ASSERT(cfg_.validate().has_value(), "node config must validate");
  const hard_state hs = s.initial_hard_state();
  RAFTKV_ASSERT(hs.vote == no_node || is_voter(hs.vote), "persisted vote names a non-member");
  term_ = hs.term;
  vote_ = hs.vote;
  prev_hard_ = {term_, vote_, log_.committed()};
  become_follower(term_, no_node);
}

bool node::is_voter(node_id id) const {
  return std::find(cfg_.voters.begin(), cfg_.voters.end(), id) != cfg_.voters.end();
}

void node::tick() {
  ++ticks_;
  if (role_ == role::leader) {
    tick_heartbeat();
  } else {
    expire_forwarded_reads();
    tick_election();
  }
}

bool node::well_formed(const message& m) const {
  if (m.term == UINT64_MAX) return false;  // we could never campaign past it
  if (m.type == message_type::append_entries) {
    if (m.index == 0 && m.log_term != 0) return false;  // nothing precedes index 1
    if (m.log_term > m.term) return false;
    term_t prev_term = m.log_term;
    for (std::size_t k = 0; k < m.entries.size(); ++k) {
      const entry& e = m.entries[k];
      if (e.index != m.index + 1 + k || e.term < prev_term || e.term > m.term) return false;
      prev_term = e.term;
    }
  }
  if (m.type == message_type::install_snapshot) {
    if (m.index == 0 || m.log_term == 0 || m.log_term > m.term || m.snapshot_size == 0) return false;
    if (m.context > m.snapshot_size || m.chunk.size() > m.snapshot_size - m.context) return false;
  }
  return true;
}

result<void> node::step(message m) {
  if (m.to != cfg_.id || m.from == cfg_.id || !is_voter(m.from)) {
    emit(event_kind::message_ignored, [&] {
      return cat("ignored ", to_string(m.type), " from ", m.from, " to ", m.to,
                 ": not a message between members for us");
    });
    return make_error_code(errc::bad_message);
  }
  if (!well_formed(m)) {
    emit(event_kind::message_ignored, [&] {
      return cat("ignored ", to_string(m.type), " from ", m.from,
                 ": malformed (term, previous entry or entry indexes out of range)");
    });
    return make_error_code(errc::bad_message);
  }
  if (!settle_term(m)) return {};
  if (m.type == message_type::request_vote || m.type == message_type::request_pre_vote) {
    handle_vote_request(m);
    return {};
  }
  switch (role_) {
    case role::leader: step_leader(m); break;
    case role::candidate:
    case role::pre_candidate: step_candidate(m); break;
    case role::follower: step_follower(m); break;
  }
  return {};
}

// Figure 2, "All Servers": a higher term makes us a follower of that term; a
// lower term marks a stale message. Returns false when `m` must be dropped.
bool node::settle_term(const message& m) {
  const bool vote_request =
      m.type == message_type::request_vote || m.type == message_type::request_pre_vote;
  if (m.term > term_) {
    if (vote_request) {
      const bool forced = m.type == message_type::request_vote && m.context == vote_context_transfer;
      if (!forced && in_lease()) {
        // §6 / thesis §4.2.3: a server that heard from a current leader within the
        // minimum election timeout neither grants votes nor moves its term.
        emit(event_kind::vote_ignored, [&] {
          if (role_ == role::leader) {
            return cat("ignored ", to_string(m.type), " from ", m.from, " for term ", m.term,
                       ": we lead term ", term_, " and a majority heard from us within the election timeout");
          }
          return cat("ignored ", to_string(m.type), " from ", m.from, " for term ", m.term,
                     ": leader ", leader_, " was heard from ", election_elapsed_,
                     " ticks ago (less than the election timeout)");
        });
        return false;
      }
    }
    // A pre-vote request, or a granted pre-vote, does not move anyone's term (thesis §9.6).
    if (m.type == message_type::request_pre_vote) return true;
    if (m.type == message_type::request_pre_vote_resp && !m.reject) return true;
    emit(event_kind::term_changed, [&] {
      return cat("term ", term_, " -> ", m.term, ": ", to_string(m.type), " from ", m.from,
                 " carries a newer term");
    });
    const bool from_leader =
        m.type == message_type::append_entries || m.type == message_type::heartbeat;
    become_follower(m.term, from_leader ? m.from : no_node);
    return true;
  }
  if (m.term < term_) {
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == message_type::heartbeat || m.type == message_type::append_entries)) {
      // Tell a deposed leader our term so it steps down; without this a leader cut
      // off by a partition would keep trying forever (it never sees our votes).
      send({.type = message_type::append_entries_resp, .to = m.from});
    } else if (m.type == message_type::request_pre_vote) {
      send({.type = message_type::request_pre_vote_resp, .to = m.from, .reject = true});
    }
    emit(event_kind::message_ignored, [&] {
      return cat("ignored ", to_string(m.type), " from ", m.from, ": its term ", m.term,
                 " is older than ours (", term_, ")");
    });
    return false;
  }
  return true;
}

void node::step_leader(message& m) {
  switch (m.type) {
    case message_type::append_entries_resp: handle_append_response(m); break;
    case message_type::heartbeat_resp: handle_heartbeat_response(m); break;
    case message_type::install_snapshot_resp: handle_snapshot_response(m); break;
    case message_type::read_index: {
      auto r = handle_read_index(m.from, m.context);
      (void)r;  // a refusal is answered to the follower inside
      break;
    }
    case message_type::append_entries:
    case message_type::heartbeat:
    case message_type::install_snapshot:
      // Two leaders in one term cannot happen among correct peers (Election
      // Safety); a misconfigured or hostile peer must not crash us.
      emit(event_kind::message_ignored, [&] {
        return cat("ignored ", to_string(m.type), " from ", m.from, ": it claims to lead our term ",
                   term_, ", which we lead");
      });
      break;
    default: break;  // late vote responses, timeout_now: nothing to do as leader
  }
}

void node::step_candidate(message& m) {
  switch (m.type) {
    case message_type::append_entries:
      become_follower(term_, m.from);  // §5.2: a leader of our term exists
      handle_append(m);
      break;
    case message_type::heartbeat:
      become_follower(term_, m.from);
      handle_heartbeat(m);
      break;
    case message_type::install_snapshot:
      become_follower(term_, m.from);
      handle_snapshot(m);
      break;
    case message_type::request_vote_resp:
    case message_type::request_pre_vote_resp: handle_vote_response(m); break;
    default: break;
  }
}

void node::step_follower(message& m) {
  switch (m.type) {
    case message_type::append_entries:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_append(m);
      break;
    case message_type::heartbeat:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_heartbeat(m);
      break;
    case message_type::install_snapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      handle_snapshot(m);
      break;
    case message_type::timeout_now: handle_timeout_now(m); break;
    case message_type::read_index_resp: handle_read_index_response(m); break;
    default: break;
  }
}

// Clears everything scoped to a role or a term. Only become_* call this.
void node::reset(term_t term) {
  if (term_ != term) {
    RAFTKV_ASSERT(term > term_, "the term never goes back");
    term_ = term;
    vote_ = no_node;
  }
  leader_ = no_node;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_election_timeout_ =
      cfg_.election_ticks + static_cast<int>(rng_.below(static_cast<std::uint64_t>(cfg_.election_ticks)));
  votes_.clear();
  progress_.clear();
  if (transfer_target_ != no_node) {
    emit(event_kind::transfer, [&] {
      return cat("leadership transfer to ", transfer_target_, " ended: we are no longer the leader");
    });
  }
  transfer_target_ = no_node;
  transfer_elapsed_ = 0;
  broadcast_pending_ = false;
  drop_all_reads();
  incoming_.reset();
}

void node::become_follower(term_t term, node_id leader) {
  const role before = role_;
  reset(term);
  role_ = role::follower;
  leader_ = leader;
  if (before != role::follower || leader != no_node) {
    emit(event_kind::became_follower, [&] {
      return leader == no_node ? cat("became follower in term ", term_, "; leader unknown")
                               : cat("became follower of ", leader, " in term ", term_);
    });
  }
}

void node::become_pre_candidate() {
  RAFTKV_ASSERT(role_ != role::leader, "a leader does not campaign");
  reset(term_);  // keeps term and vote: a pre-election changes no persistent state
  role_ = role::pre_candidate;
}

void node::become_candidate() {
  RAFTKV_ASSERT(role_ != role::leader, "a leader does not campaign");
  reset(term_ + 1);
  vote_ = cfg_.id;
  role_ = role::candidate;
}

void node::become_leader() {
  RAFTKV_ASSERT(role_ == role::candidate, "only a candidate becomes leader");
  std::vector<node_id> voted_for_us;  // reset() clears the tally
  for (const auto& [id, granted] : votes_) {
    if (granted) voted_for_us.push_back(id);
  }
  reset(term_);
  role_ = role::leader;
  leader_ = cfg_.id;
  const index_t last = log_.last_index();
  for (node_id id : cfg_.voters) {
    auto [it, _] = progress_.try_emplace(id, last + 1, cfg_.max_inflight_appends);
    // A vote is contact: those who voted for us count for the first CheckQuorum round.
    it->second.recent_active =
        std::find(voted_for_us.begin(), voted_for_us.end(), id) != voted_for_us.end();
    if (id == cfg_.id) {
      // The leader counts itself only for what it has on stable storage.
      it->second.match = log_.stable_index();
      it->second.become_replicate();
      it->second.next = last + 1;
    }
  }
  emit(event_kind::became_leader, [&] {
    std::string voters;
    for (node_id id : voted_for_us) voters += cat(voters.empty() ? "" : ", ", id);
    return cat("became leader of term ", term_, " with votes from ", voters,
               "; appending a no-op so that entries of earlier terms can commit (§5.4.2)");
  });
  // §5.4.2 and §8: a no-op of our own term lets earlier entries commit.
  append_own({entry{.type = entry_type::noop}});
}

void node::send(message m) {
  m.from = cfg_.id;
  if (m.term == 0) m.term = term_;
  // Figure 2: a vote or an append acknowledgement promises state that must be on
  // stable storage first; everything else may go while the Ready is persisted.
  const bool after_persist = m.type == message_type::request_vote ||
                             m.type == message_type::request_vote_resp ||
                             m.type == message_type::append_entries_resp;
  (after_persist ? msgs_after_persist_ : msgs_).push_back(std::move(m));
}

bool node::has_ready() const {
  if (role_ == role::leader && (broadcast_pending_ || can_start_read_round())) return true;
  if (soft_state{leader_, role_} != prev_soft_) return true;
  if (hard_state{term_, vote_, log_.committed()} != prev_hard_) return true;
  return !log_.unstable_entries().empty() || log_.pending_snapshot() || log_.has_next_committed() || !msgs_.empty() ||
         !msgs_after_persist_.empty() || !read_states_.empty() || !reads_dropped_.empty() ||
         !events_.empty() || events_dropped_ != 0;
}

ready node::get_ready() {
  RAFTKV_ASSERT(!ready_outstanding_, "advance() the previous ready before asking for another");
  if (role_ == role::leader) {
    if (broadcast_pending_) broadcast_append();
    release_reads_waiting_for_commit();  // reads queued since the last Ready share one round
  }
  ready rd;
  rd.number = ++ready_number_;
  const soft_state ss{leader_, role_};
  if (ss != prev_soft_) rd.soft = prev_soft_ = ss;
  const hard_state hs{term_, vote_, log_.committed()};
  if (hs != prev_hard_) rd.hard = prev_hard_ = hs;
  rd.snapshot = log_.pending_snapshot();
  const auto unstable = log_.unstable_entries();
  rd.entries.assign(unstable.begin(), unstable.end());
  rd.committed_entries = log_.next_committed(cfg_.max_committed_bytes_per_ready);
  if (!rd.committed_entries.empty()) log_.applying_to(rd.committed_entries.back().index);
  rd.messages = std::move(msgs_);
  rd.messages_after_persist = std::move(msgs_after_persist_);
  rd.read_states = std::move(read_states_);
  rd.reads_dropped = std::move(reads_dropped_);
  rd.events = std::move(events_);
  rd.events_dropped = std::exchange(events_dropped_, 0);
  msgs_.clear();
  msgs_after_persist_.clear();
  read_states_.clear();
  reads_dropped_.clear();
  events_.clear();
  ready_outstanding_ = true;
  return rd;
}

void node::advance(const ready& rd) {
  RAFTKV_ASSERT(ready_outstanding_ && rd.number == ready_number_,
                "advance() takes the ready returned last");
  ready_outstanding_ = false;
  if (rd.snapshot) log_.stable_snapshot_to(rd.snapshot->last.index);
  if (!rd.entries.empty()) log_.stable_to(rd.entries.back().id());
  if (!rd.committed_entries.empty()) log_.applied_to(rd.committed_entries.back().index);
  if (role_ == role::leader) {
    // Our own entries count towards a majority once they are durable.
    progress_.at(cfg_.id).maybe_update(log_.stable_index());
    if (maybe_commit()) broadcast_append();
  }
}

node_status node::status() const {
  node_status s;
  s.id = cfg_.id;
  s.state = role_;
  s.term = term_;
  s.vote = vote_;
  s.leader = leader_;
  s.commit = log_.committed();
  s.applied = log_.applied();
  s.first_index = log_.first_index();
  s.last_index = log_.last_index();
  s.last_term = log_.last_term();
  s.stable_index = log_.stable_index();
  s.election_elapsed = election_elapsed_;
  s.election_timeout = role_ == role::leader ? cfg_.election_ticks : randomized_election_timeout_;
  s.heartbeat_elapsed = role_ == role::leader ? heartbeat_elapsed_ : 0;
  s.heartbeat_timeout = cfg_.heartbeat_ticks;
  s.transfer_target = transfer_target_;
  s.pending_reads = queued_reads_.size() + round_reads_.size() + forwarded_reads_.size();
  const entry_id snap = log_.latest_snapshot_id();
  s.snapshot_index = snap.index;
  s.snapshot_term = snap.term;
  s.incoming_snapshot_bytes = incoming_ ? incoming_->data.size() : 0;
  for (const auto& [id, pr] : progress_) {
    if (id == cfg_.id) continue;
    s.peers.push_back({id, pr.match, pr.next, pr.state, pr.inflight.count(), pr.recent_active,
                       pr.ticks_since_contact, pr.sending_snapshot.last.index, pr.snapshot_acked,
                       pr.sending_snapshot.size_bytes()});
  }
  return s;
}

void node::check_invariants() const {
  log_.check();
  RAFTKV_ASSERT(vote_ == no_node || is_voter(vote_), "we voted for a member");
  RAFTKV_ASSERT(term_ >= prev_hard_.term, "the term never goes back");
  RAFTKV_ASSERT(queued_reads_.size() + round_reads_.size() <= cfg_.max_pending_reads,
                "pending reads are bounded");
  RAFTKV_ASSERT(forwarded_reads_.size() <= cfg_.max_pending_reads, "forwarded reads are bounded");
  switch (role_) {
    case role::leader:
      RAFTKV_ASSERT(leader_ == cfg_.id, "a leader knows it leads");
      RAFTKV_ASSERT(progress_.size() == cfg_.voters.size(), "a leader tracks every voter");
      for (const auto& [id, pr] : progress_) {
        RAFTKV_ASSERT(pr.match < pr.next, "progress: match < next");
        RAFTKV_ASSERT(pr.match <= log_.last_index(), "progress: match within our log");
        if (pr.state == progress_state::snapshot) {
          RAFTKV_ASSERT(!pr.sending_snapshot.empty() && pr.match < pr.sending_snapshot.last.index,
                        "progress: a snapshot is sent only to a follower behind it");
          RAFTKV_ASSERT(pr.snapshot_acked <= pr.sending_snapshot.size_bytes() &&
                            pr.snapshot_sent <= pr.sending_snapshot.size_bytes(),
                        "progress: acknowledged bytes within the snapshot");
        }
      }
      RAFTKV_ASSERT(read_round_ != 0 || round_reads_.empty(), "reads wait only in a live round");
      RAFTKV_ASSERT(forwarded_reads_.empty(), "a leader forwards no reads");
      RAFTKV_ASSERT(!incoming_, "a leader receives no snapshot");
      break;
    case role::candidate:
      RAFTKV_ASSERT(vote_ == cfg_.id, "a candidate votes for itself");
      [[fallthrough]];
    case role::pre_candidate:
    case role::follower:
      RAFTKV_ASSERT(progress_.empty(), "only a leader tracks progress");
      RAFTKV_ASSERT(transfer_target_ == no_node, "only a leader transfers leadership");
      RAFTKV_ASSERT(round_reads_.empty() && queued_reads_.empty(), "only a leader confirms reads");
      RAFTKV_ASSERT(leader_ != cfg_.id, "only a leader names itself leader");
      break;
  }
}

}  // namespace raftkv::core
