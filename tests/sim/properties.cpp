// tests/sim/properties.cpp: the safety properties the simulator checks after
// every delivery and every tick (Raft paper Figure 3, §5.4.3), plus linearizable
// reads and monotonic terms and commit indexes.
#include "sim/simulator.hpp"

#include <algorithm>
#include <functional>

namespace raftkv::sim {

using core::detail::cat;

std::uint64_t chain_hash(std::uint64_t prev, const entry& e) {
  const std::uint64_t h = mix(prev ^ (e.term * 0x9e3779b97f4a7c15ULL) ^ (e.index << 1));
  return mix(h ^ std::hash<std::string>{}(e.data) ^ static_cast<std::uint64_t>(e.type));
}

// Called with each Ready once it is persisted and applied.
void simulation::on_ready(node_id id, const core::ready& rd) {
  observed& o = seen_[id];
  const test_node& tn = nodes_[id];

  // A snapshot from the leader replaces the log: it must be the committed
  // prefix, and the state machine it carries must be the one applied sequence.
  if (rd.snapshot) {
    const index_t s = rd.snapshot->last.index;
    if (s >= committed_chain_.size() || s > applied_.size()) {
      fail(cat("node ", id, " restored a snapshot through index ", s, " beyond what is committed"));
    }
    for (index_t i = 0; i < s; ++i) {
      if (tn.applied[i].term != applied_[i].term || tn.applied[i].data != applied_[i].data) {
        fail(cat("State Machine Safety: node ", id, "'s restored snapshot differs at index ", i + 1));
      }
    }
    o.chain.assign(committed_chain_.begin(), committed_chain_.begin() + static_cast<std::ptrdiff_t>(s) + 1);
  }

  // Log Matching (§5.3): one chain hash per (index, term) across all nodes and time.
  if (!rd.entries.empty()) {
    o.chain.resize(rd.entries.front().index);
    for (const entry& e : rd.entries) {
      o.chain.push_back(chain_hash(o.chain.back(), e));
      auto [it, fresh] = chain_by_id_.try_emplace({e.index, e.term}, o.chain.back());
      if (!fresh && it->second != o.chain.back()) {
        fail(cat("Log Matching: node ", id, " holds entry (term ", e.term, ", index ", e.index,
                 ") with a different history than another node"));
      }
    }
  }
  if (o.chain.size() != tn.disk.last_index() + 1) fail("checker lost track of the persisted log");

  // Persisted term and commit never go back, across crashes too.
  if (rd.hard) {
    if (rd.hard->term < o.disk_term) fail(cat("node ", id, " persisted an older term"));
    if (rd.hard->commit < o.disk_commit) fail(cat("node ", id, " persisted an older commit index"));
    o.disk_term = rd.hard->term;
    o.disk_commit = rd.hard->commit;
  }

  // State Machine Safety (§5.4.3): every node applies the same entry at each index.
  for (const entry& e : rd.committed_entries) {
    if (e.index <= applied_.size()) {
      const entry& first = applied_[e.index - 1];
      if (first.term != e.term || first.data != e.data) {
        fail(cat("State Machine Safety: node ", id, " applied (term ", e.term, ") at index ", e.index,
                 " where another node applied term ", first.term));
      }
    } else if (e.index == applied_.size() + 1) {
      applied_.push_back(e);
    } else {
      fail(cat("node ", id, " applied index ", e.index, " before index ", applied_.size() + 1));
    }
    // A proposal this node accepted as leader is acknowledged when it applies it.
    auto p = o.proposals.find(e.index);
    if (p != o.proposals.end()) {
      if (p->second.term == e.term && p->second.data == e.data) {
        acked_.push_back(p->second.data);
        max_acked_index_ = std::max(max_acked_index_, e.index);
        ++stats_.proposals_acked;
      }
      o.proposals.erase(p);
    }
  }

  // Linearizable reads (§6.4): the read index covers every write acknowledged
  // before the read began, and the node answering is the one asked.
  for (const core::read_state& rs : rd.read_states) {
    auto r = reads_.find(rs.context);
    if (r == reads_.end()) continue;  // issued before a crash of this node
    if (r->second.node != id) fail(cat("read ", rs.context, " answered on the wrong node"));
    if (rs.index < r->second.required) {
      fail(cat("stale read: read ", rs.context, " on node ", id, " got index ", rs.index,
               " but a write at index ", r->second.required, " was acknowledged before it began"));
    }
    ++stats_.reads_checked;
    reads_.erase(r);
  }
  for (std::uint64_t ctx : rd.reads_dropped) reads_.erase(ctx);
}

// Called after every input once the node has no Ready left.
void simulation::check_node(node_id id) {
  const core::node& raft = *nodes_[id].raft;
  raft.check_invariants();
  observed& o = seen_[id];
  if (raft.term() < o.life_term) fail(cat("node ", id, "'s term went back"));
  if (raft.log().committed() < o.life_commit) fail(cat("node ", id, "'s commit index went back"));
  if (!raft.log().unstable_entries().empty()) fail("entries left unpersisted after the Ready loop");
  o.life_term = raft.term();
  stats_.max_term = std::max<std::uint64_t>(stats_.max_term, raft.term());
  record_committed(id);
  o.life_commit = raft.log().committed();
  check_election_safety(id);
}

void simulation::check_election_safety(node_id id) {
  const core::node& raft = *nodes_[id].raft;
  observed& o = seen_[id];
  if (raft.state() != role::leader) {
    o.was_leader = false;
    return;
  }
  auto [it, fresh] = leaders_.try_emplace(raft.term(), id);
  if (it->second != id) {
    fail(cat("Election Safety: nodes ", it->second, " and ", id, " both lead term ", raft.term()));
  }
  if (fresh) {
    ++stats_.leaders_elected;
    new_leaders_.push_back(id);
    trace_line(cat("step ", step_, ": node ", id, " leads term ", raft.term()));
  }
  if (!o.was_leader) check_leader_completeness(id);
  o.was_leader = true;
}

// Leader Completeness (§5.4): a leader holds every entry committed in an earlier term.
void simulation::check_leader_completeness(node_id id) {
  const observed& o = seen_[id];
  const term_t term = nodes_[id].raft->term();
  for (index_t i = 1; i < committed_chain_.size(); ++i) {
    if (commit_term_[i] >= term) continue;
    if (i >= o.chain.size() || o.chain[i] != committed_chain_[i]) {
      fail(cat("Leader Completeness: leader ", id, " of term ", term, " lacks entry ", i,
               " committed in term ", commit_term_[i]));
    }
  }
}

// Extends the global committed prefix with what `id` newly reports committed,
// checking it against what others committed and against every current leader.
void simulation::record_committed(node_id id) {
  const observed& o = seen_[id];
  const index_t commit = nodes_[id].raft->log().committed();
  if (commit >= o.chain.size()) fail(cat("node ", id, " committed entries it has not persisted"));
  const std::size_t known_before = committed_chain_.size();
  for (index_t i = o.life_commit + 1; i <= commit; ++i) {
    if (i < committed_chain_.size()) {
      if (o.chain[i] != committed_chain_[i]) {
        fail(cat("node ", id, " committed a different entry at index ", i, " than another node"));
      }
    } else {
      committed_chain_.push_back(o.chain[i]);
      commit_term_.push_back(nodes_[id].raft->term());
    }
  }
  stats_.committed = committed_chain_.size() - 1;
  if (committed_chain_.size() == known_before) return;
  for (auto& [other, tn] : nodes_) {
    if (!tn.alive() || tn.raft->state() != role::leader) continue;
    const observed& lo = seen_[other];
    for (index_t i = known_before; i < committed_chain_.size(); ++i) {
      if (commit_term_[i] < tn.raft->term() &&
          (i >= lo.chain.size() || lo.chain[i] != committed_chain_[i])) {
        fail(cat("Leader Completeness: leader ", other, " of term ", tn.raft->term(),
                 " lacks entry ", i, " committed in term ", commit_term_[i]));
      }
    }
  }
}

}  // namespace raftkv::sim
