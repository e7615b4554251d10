// tests/sim/simulator.cpp: the simulation loop, the fault injector and the
// property checks declared in simulator.hpp.
#include "sim/simulator.hpp"

#include <algorithm>
#include <functional>

namespace raftkv::sim {

using core::detail::cat;

namespace {

std::string describe(const message& m) {
  std::string s = cat(m.from, "->", m.to, " ", core::to_string(m.type), " t", m.term);
  if (m.type == message_type::append_entries) {
    s += cat(" prev=(", m.log_term, ",", m.index, ") n=", m.entries.size(), " commit=", m.commit);
  } else if (m.type == message_type::append_entries_resp) {
    s += cat(m.reject ? " reject idx=" : " idx=", m.index);
    if (m.reject) s += cat(" hint=(", m.log_term, ",", m.reject_hint, ")");
  } else if (m.type == message_type::request_vote_resp ||
             m.type == message_type::request_pre_vote_resp) {
    s += m.reject ? " refused" : " granted";
  } else if (m.type == message_type::install_snapshot) {
    s += cat(" snap=(", m.log_term, ",", m.index, ") bytes=", m.context, "+", m.chunk.size(), "/",
             m.snapshot_size);
  } else if (m.type == message_type::install_snapshot_resp) {
    s += cat(" snap=(", m.log_term, ",", m.index, ") have=", m.context, m.reject ? " gave-up" : "");
  } else if (m.context != 0) {
    s += cat(" ctx=", m.context);
  }
  return s;
}

}  // namespace

fault_profile fault_profile::from_seed(std::uint64_t seed) {
  core::detail::prng r(mix(seed ^ 0x51a7e5eedULL));
  const auto pick = [&](std::initializer_list<int> v) {
    return *(v.begin() + static_cast<std::ptrdiff_t>(r.below(v.size())));
  };
  fault_profile p;
  p.nodes = seed % 2 == 0 ? 3 : 5;
  p.drop_per_mille = pick({0, 10, 50, 200});
  p.dup_per_mille = pick({0, 20, 100});
  p.long_delay_per_mille = pick({0, 20, 50});
  p.partition_per_mille = pick({0, 2, 5, 10});
  p.one_way = r.below(2) == 1;
  p.crash_per_mille = pick({0, 1, 3, 10});
  p.leader_fault_per_mille = pick({0, 3, 10});
  p.new_leader_fault_per_mille = pick({0, 100, 300});
  p.crash_mid_ready_per_mille = pick({0, 2, 10});
  p.transfer_per_mille = pick({0, 2});
  p.campaign_per_mille = pick({0, 2});
  p.max_append_entries = static_cast<std::size_t>(pick({1, 2, 8}));
  p.starve_new_entries_per_mille = pick({0, 0, 300, 700});
  p.pre_vote = r.below(4) != 0;
  p.check_quorum = r.below(4) != 0;
  if (r.below(2) == 1) {
    p.compact_threshold = static_cast<std::size_t>(pick({3, 10, 30}));
    p.compact_keep = static_cast<std::size_t>(pick({0, 0, 2, 5}));
    p.snapshot_chunk_bytes = static_cast<std::uint64_t>(pick({512, 2048, 1 << 20}));
  }
  return p;
}

std::string fault_profile::describe() const {
  return cat(nodes, " nodes, drop ", drop_per_mille, "/1000, duplicate ", dup_per_mille,
             "/1000, long delay ", long_delay_per_mille, "/1000, partition ", partition_per_mille,
             "/1000 per step", one_way ? " (one-way too)" : "", ", crash ", crash_per_mille,
             "/1000 per step, leader fault ", leader_fault_per_mille, "/1000 per step, new-leader fault ",
             new_leader_fault_per_mille, "/1000, crash mid-ready ", crash_mid_ready_per_mille, "/1000, transfer ",
             transfer_per_mille, "/1000, campaign ", campaign_per_mille, "/1000, entries per append ",
             max_append_entries, ", own-term appends lost ", starve_new_entries_per_mille, "/1000",
             pre_vote ? ", PreVote" : ", no PreVote",
             check_quorum ? ", CheckQuorum" : ", no CheckQuorum",
             compact_threshold == 0
                 ? std::string(", no compaction")
                 : cat(", snapshot every ", compact_threshold, " entries keeping ", compact_keep,
                       ", chunks of ", snapshot_chunk_bytes, " bytes"));
}

simulation::simulation(std::uint64_t seed, bool verbose)
    : seed_(seed),
      verbose_(verbose),
      profile_(fault_profile::from_seed(seed)),
      rng_(mix(seed)),
      blocked_(profile_.nodes + 1, std::vector<bool>(profile_.nodes + 1, false)) {
  for (node_id id = 1; id <= profile_.nodes; ++id) {
    test_node& tn = nodes_[id];
    tn.cfg = test_config(id, profile_.nodes);
    tn.cfg.seed = mix(seed * 131 + id);
    tn.cfg.record_events = verbose;
    tn.cfg.max_append_entries = profile_.max_append_entries;  // small batches and windows
                                                               // exercise flow control
    tn.cfg.max_inflight_appends = 4;
    tn.cfg.max_uncommitted_entries = 200;
    tn.cfg.pre_vote = profile_.pre_vote;
    tn.cfg.check_quorum = profile_.check_quorum;
    tn.cfg.snapshot_chunk_bytes = profile_.snapshot_chunk_bytes;
    tn.compact_threshold = profile_.compact_threshold;
    tn.compact_keep = profile_.compact_keep;
    tn.start();
    seen_[id];
  }
  trace_line(cat("seed ", seed, ": ", profile_.describe()));
}

void simulation::run(int fault_ticks, int liveness_ticks) {
  const std::uint64_t fault_steps = static_cast<std::uint64_t>(fault_ticks) * 4;
  while (step_ < fault_steps) step_once(true);

  // Liveness: heal everything, restart everyone, stop injecting faults.
  trace_line(cat("step ", step_, ": healing all faults for the liveness check"));
  heal();
  for (node_id id = 1; id <= profile_.nodes; ++id) {
    if (!nodes_[id].alive()) restart(id);
  }
  profile_ = fault_profile{.nodes = profile_.nodes,
                           .max_append_entries = profile_.max_append_entries,
                           .pre_vote = profile_.pre_vote,
                           .check_quorum = profile_.check_quorum,
                           .compact_threshold = profile_.compact_threshold,
                           .compact_keep = profile_.compact_keep,
                           .snapshot_chunk_bytes = profile_.snapshot_chunk_bytes};
  const std::uint64_t deadline = step_ + static_cast<std::uint64_t>(liveness_ticks) * 4;
  const std::string final_data = cat("final-", seed_);
  bool idle_converged = false;
  while (step_ < deadline) {
    step_once(false);
    const node_id leader = leader_now();
    if (!idle_converged) {
      // First, with no client traffic at all, every node must catch up with the
      // leader's whole log: nothing may depend on new proposals to get repaired.
      if (leader == no_node) continue;
      const index_t last = nodes_[leader].raft->log().last_index();
      idle_converged = std::all_of(nodes_.begin(), nodes_.end(), [&](const auto& n) {
        return n.second.applied.size() == last;
      });
      if (!idle_converged) continue;
      trace_line(cat("step ", step_, ": idle cluster converged on leader ", leader, "'s log (", last,
                     " entries)"));
    }
    const bool acked = !acked_.empty() && acked_.back() == final_data;
    if (!acked && leader != no_node) {
      auto& props = seen_[leader].proposals;
      const bool pending = std::any_of(props.begin(), props.end(),
                                       [&](const auto& p) { return p.second.data == final_data; });
      if (!pending) {
        auto id = nodes_[leader].raft->propose(final_data);
        if (id) props[id->index] = {id->term, final_data};
        process(leader);
      }
    }
    if (!acked) continue;
    bool everywhere = true;
    for (auto& [id, tn] : nodes_) everywhere = everywhere && tn.applied.size() >= applied_.size();
    if (everywhere) {
      trace_line(cat("step ", step_, ": liveness reached: final proposal applied on every node"));
      // Durability: every acknowledged write is in the one applied sequence.
      std::vector<std::string> all;
      for (const entry& e : applied_) all.push_back(e.data);
      std::sort(all.begin(), all.end());
      for (const std::string& d : acked_) {
        if (!std::binary_search(all.begin(), all.end(), d)) fail("acknowledged write lost: " + d);
      }
      return;
    }
  }
  fail(cat("liveness: ", idle_converged ? "no leader committed and applied a proposal everywhere"
                                         : "the idle cluster did not converge on one leader's log",
           " within ", liveness_ticks, " ticks after healing"));
}

void simulation::step_once(bool faults) {
  ++step_;
  if (faults) maybe_inject_faults();
  deliver_due();
  tick_nodes();
  if (faults) client_actions();
}

void simulation::maybe_inject_faults() {
  if (partition_until_ != 0 && step_ >= partition_until_) heal();
  if (partition_until_ == 0 && chance(profile_.partition_per_mille)) partition();
  for (auto it = down_until_.begin(); it != down_until_.end();) {
    const node_id id = it->first;
    if (step_ >= it->second) {
      it = down_until_.erase(it);
      restart(id);
    } else {
      ++it;
    }
  }
  if (chance(profile_.crash_per_mille)) {
    const node_id id = random_node();
    if (nodes_[id].alive()) crash(id);
  }
  for (node_id id : new_leaders_) {
    if (chance(profile_.new_leader_fault_per_mille)) leader_fault_at_[id] = step_ + 1 + rng_.below(8);
  }
  new_leaders_.clear();
  for (auto it = leader_fault_at_.begin(); it != leader_fault_at_.end();) {
    if (step_ < it->second) {
      ++it;
      continue;
    }
    const node_id id = it->first;
    it = leader_fault_at_.erase(it);
    if (nodes_[id].alive() && nodes_[id].raft->state() == role::leader) fault_leader(id);
  }
  if (chance(profile_.leader_fault_per_mille)) {
    const node_id leader = leader_now();
    if (leader != no_node) fault_leader(leader);
  }
}

void simulation::fault_leader(node_id leader) {
  if (rng_.below(2) == 0) {
    crash(leader);
  } else if (partition_until_ == 0) {
    ++stats_.partitions;
    for (node_id b = 1; b <= profile_.nodes; ++b) blocked_[leader][b] = blocked_[b][leader] = (leader != b);
    partition_until_ = step_ + 4 * (5 + rng_.below(40));
    trace_line(cat("step ", step_, ": partition: leader ", leader, " isolated"));
  }
}

void simulation::client_actions() {
  const node_id leader = leader_now();
  if (rng_.below(100) < 30) {
    // Clients mostly find a node that believes it leads, stale leaders included:
    // their uncommitted tails are what log repair has to clean up.
    const node_id believer = any_leader();
    const node_id id = (believer != no_node && rng_.below(10) < 8) ? believer : random_node();
    test_node& tn = nodes_[id];
    if (tn.alive()) {
      std::string data = cat("p", seed_, ".", next_proposal_++);
      auto r = tn.raft->propose(data);
      if (r) seen_[id].proposals[r->index] = {r->term, std::move(data)};
      process(id);
    }
  }
  if (rng_.below(100) < 15) {
    const node_id id = random_node();
    test_node& tn = nodes_[id];
    if (tn.alive()) {
      const std::uint64_t ctx = next_read_++;
      if (tn.raft->read_index(ctx)) reads_[ctx] = {id, max_acked_index_};
      process(id);
    }
  }
  if (leader == no_node) return;
  if (chance(profile_.transfer_per_mille) && nodes_[leader].alive()) {
    const node_id to = random_node();
    trace_line(cat("step ", step_, ": asking leader ", leader, " to transfer to ", to));
    (void)nodes_[leader].raft->transfer_leader(to);
    process(leader);
  }
  if (chance(profile_.campaign_per_mille)) {
    const node_id id = random_node();
    if (nodes_[id].alive()) {
      trace_line(cat("step ", step_, ": telling ", id, " to campaign"));
      (void)nodes_[id].raft->campaign();
      process(id);
    }
  }
}

void simulation::deliver_due() {
  while (!network_.empty() && network_.top().at <= step_) {
    message m = network_.top().msg;
    network_.pop();
    test_node& tn = nodes_[m.to];
    if (blocked(m.from, m.to) || !tn.alive()) continue;
    ++stats_.deliveries;
    if (verbose_) trace_line(cat("step ", step_, ": ", describe(m)));
    const node_id to = m.to;
    (void)tn.raft->step(std::move(m));
    process(to);
  }
}

void simulation::tick_nodes() {
  for (auto& [id, tn] : nodes_) {
    if (!tn.alive() || (step_ + id) % 4 != 0) continue;
    ++stats_.ticks;
    tn.raft->tick();
    process(id);
  }
}

void simulation::process(node_id id) {
  test_node& tn = nodes_[id];
  std::vector<message> out;
  while (tn.alive()) {
    // Only Readies with something to persist draw from the PRNG, so a run with
    // events recorded (more, event-only Readies) replays the same faults.
    const auto crash_now = [&](const core::ready& rd) {
      return (rd.hard || rd.snapshot || !rd.entries.empty()) && chance(profile_.crash_mid_ready_per_mille);
    };
    const bool had = tn.handle_ready(out, crash_now, [&](const core::ready& rd) { on_ready(id, rd); });
    if (!had) break;
    if (!tn.alive()) {
      trace_line(cat("step ", step_, ": node ", id, " crashed after sending, before persisting"));
      crash(id);
    }
  }
  for (const core::event& e : tn.events) trace_line(cat("step ", step_, ": ", id, ": ", e.text));
  tn.events.clear();
  tn.reads.clear();
  tn.reads_dropped.clear();
  for (message& m : out) send(std::move(m));
  if (tn.alive()) check_node(id);
  stats_.snapshots_taken = stats_.snapshots_restored = 0;
  for (const auto& [_, n] : nodes_) {
    stats_.snapshots_taken += n.snapshots_taken;
    stats_.snapshots_restored += n.snapshots_restored;
  }
}

void simulation::send(message m) {
  if (chance(profile_.drop_per_mille)) return;
  const bool carries_own_term =
      std::any_of(m.entries.begin(), m.entries.end(), [&](const entry& e) { return e.term == m.term; });
  if (carries_own_term && chance(profile_.starve_new_entries_per_mille)) return;
  const int copies = chance(profile_.dup_per_mille) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    std::uint64_t delay = 1 + rng_.below(3);
    if (chance(profile_.long_delay_per_mille)) delay += rng_.below(40);
    network_.push({step_ + delay, ++msg_seq_, m});
  }
}

void simulation::crash(node_id id) {
  test_node& tn = nodes_[id];
  if (tn.alive()) tn.crash();
  ++stats_.crashes;
  observed& o = seen_[id];
  o.life_term = 0;
  o.life_commit = 0;
  o.was_leader = false;
  o.proposals.clear();  // their outcome is unknown to the client
  std::erase_if(reads_, [&](const auto& r) { return r.second.node == id; });
  down_until_[id] = step_ + 4 * (5 + rng_.below(55));
  trace_line(cat("step ", step_, ": node ", id, " crashed"));
}

void simulation::restart(node_id id) {
  down_until_.erase(id);
  test_node& tn = nodes_[id];
  tn.start();
  trace_line(cat("step ", step_, ": node ", id, " restarted at term ", tn.raft->term(),
                 " with ", tn.disk.last_index(), " entries"));
  if (tn.raft->term() != tn.disk.initial_hard_state().term) fail("restart lost the persisted term");
  process(id);
}

void simulation::heal() {
  for (auto& row : blocked_) std::fill(row.begin(), row.end(), false);
  if (partition_until_ != 0) trace_line(cat("step ", step_, ": partition healed"));
  partition_until_ = 0;
}

void simulation::partition() {
  ++stats_.partitions;
  const std::uint64_t kind = rng_.below(profile_.one_way ? 4 : 2);
  const node_id a = random_node();
  std::string what;
  if (kind == 0) {  // isolate one node
    for (node_id b = 1; b <= profile_.nodes; ++b) blocked_[a][b] = blocked_[b][a] = (a != b);
    what = cat("node ", a, " isolated");
  } else if (kind == 1) {  // random two sides
    std::vector<bool> side(profile_.nodes + 1);
    for (node_id b = 1; b <= profile_.nodes; ++b) side[b] = rng_.below(2) == 1;
    for (node_id x = 1; x <= profile_.nodes; ++x) {
      for (node_id y = 1; y <= profile_.nodes; ++y) blocked_[x][y] = side[x] != side[y];
    }
    what = "random split:";
    for (node_id b = 1; b <= profile_.nodes; ++b) what += cat(" ", b, side[b] ? "A" : "B");
  } else if (kind == 2) {  // one node cannot send
    for (node_id b = 1; b <= profile_.nodes; ++b) blocked_[a][b] = (a != b);
    what = cat("node ", a, " can receive but not send");
  } else {  // one link, one direction
    node_id b = random_node();
    if (b == a) b = a % profile_.nodes + 1;
    blocked_[a][b] = true;
    what = cat("link ", a, "->", b, " cut");
  }
  partition_until_ = step_ + 4 * (10 + rng_.below(90));
  trace_line(cat("step ", step_, ": partition: ", what));
}

node_id simulation::leader_now() const {
  node_id best = no_node;
  term_t best_term = 0;
  for (const auto& [id, tn] : nodes_) {
    if (tn.alive() && tn.raft->state() == role::leader && tn.raft->term() >= best_term) {
      best = id;
      best_term = tn.raft->term();
    }
  }
  return best;
}

node_id simulation::any_leader() {
  std::vector<node_id> leaders;
  for (const auto& [id, tn] : nodes_) {
    if (tn.alive() && tn.raft->state() == role::leader) leaders.push_back(id);
  }
  return leaders.empty() ? no_node : leaders[rng_.below(leaders.size())];
}

void simulation::trace_line(std::string line) {
  if (trace_.size() < trace_cap_) {
    trace_.push_back(std::move(line));
  } else {
    trace_[trace_head_] = std::move(line);
    trace_head_ = (trace_head_ + 1) % trace_cap_;
  }
}

std::string simulation::trace() const {
  std::ostringstream out;
  for (std::size_t i = 0; i < trace_.size(); ++i) out << trace_[(trace_head_ + i) % trace_.size()] << '\n';
  return out.str();
}

void simulation::fail(const std::string& what) {
  trace_line(cat("step ", step_, ": VIOLATION: ", what));
  throw invariant_violation(cat("seed ", seed_, " step ", step_, ": ", what));
}

}  // namespace raftkv::sim
