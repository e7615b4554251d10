// Paper tests for the thesis extensions the core implements: PreVote (§9.6),
// CheckQuorum (§6.2), leases (§4.2.3), ReadIndex (§6.4), leadership transfer
// (§3.10), plus flow control, determinism and events.

#include <doctest/doctest.h>

#include "core/paper_support.hpp"

using namespace paper;

// --- Thesis extensions: PreVote, CheckQuorum, leases -------------------------

TEST_CASE("thesis §9.6 PreVote: a partitioned follower does not raise its term or depose the leader") {
  bool pre_vote = true;
  SUBCASE("with PreVote") { pre_vote = true; }
  SUBCASE("without PreVote (the rule's counterexample)") { pre_vote = false; }
  rt::cluster c(3, [&](config& cfg) { cfg.pre_vote = pre_vote; });
  c.elect(1);
  const term_t term = c.raft(1).term();
  c.isolate(3);
  for (int i = 0; i < 5 * election_ticks; ++i) {
    c.tick(3);
    c.process();  // its messages are dropped by the partition
  }
  CHECK((c.raft(3).term() == term) == pre_vote);
  c.heal();
  tick_settled(c, 1, 2);  // a deposed leader learns the new term; the cluster settles
  CHECK((c.raft(1).state() == role::leader) == pre_vote);
  CHECK((c.raft(1).term() == term) == pre_vote);
  if (pre_vote) CHECK(c.raft(3).leader() == 1);
}

TEST_CASE("thesis §6.2 CheckQuorum: a leader that hears from no majority for an election timeout steps down") {
  SUBCASE("with CheckQuorum") {
    rt::cluster c(3);
    c.elect(1);
    tick_settled(c, 1, election_ticks - 1);  // heard from everyone during this round
    c.isolate(1);
    c.tick(1);  // the round ends with a majority heard: a new round starts
    c.tick(1, election_ticks - 1);
    CHECK(c.raft(1).state() == role::leader);
    c.tick(1);  // a whole round without a majority
    CHECK(c.raft(1).state() == role::follower);
    c.process();
    CHECK(has_event(c.at(1).events, event_kind::stepped_down, "CheckQuorum"));
  }
  SUBCASE("without CheckQuorum an isolated leader stays (the rule's counterexample)") {
    rt::cluster c(3, [](config& cfg) { cfg.check_quorum = false; });
    c.elect(1);
    c.isolate(1);
    c.tick(1, 5 * election_ticks);
    CHECK(c.raft(1).state() == role::leader);
  }
}

TEST_CASE("thesis §6.2 CheckQuorum: a leader that hears from a majority keeps leading") {
  rt::cluster c(5);
  c.elect(1);
  const term_t term = c.raft(1).term();
  c.isolate(4);
  c.isolate(5);
  tick_settled(c, 1, 5 * election_ticks);
  CHECK(c.raft(1).state() == role::leader);
  CHECK(c.raft(1).term() == term);
}

TEST_CASE("thesis §4.2.3 leases: a follower that heard from its leader ignores a newer vote request, unless it is a transfer") {
  rt::cluster c(3);
  c.elect(1);
  const term_t term = c.raft(1).term();
  const index_t last = c.raft(1).log().last_index();
  message req{.type = request_vote, .from = 3, .to = 2, .term = term + 1,
              .log_term = term, .index = last};
  bool want_ignored = true;
  SUBCASE("within the lease") { want_ignored = true; }
  SUBCASE("transfer-flagged request") {
    req.context = vote_context_transfer;
    want_ignored = false;
  }
  SUBCASE("after an election timeout of silence") {
    c.tick(2, election_ticks);
    c.process();
    c.in_flight.clear();
    want_ignored = false;
  }
  REQUIRE(c.raft(2).step(req).has_value());
  c.process();
  const auto resps = of_type(c.in_flight, request_vote_resp);
  CHECK(c.raft(2).term() == (want_ignored ? term : term + 1));
  CHECK(resps.size() == (want_ignored ? 0U : 1U));
  if (!resps.empty()) CHECK_FALSE(resps[0].reject);
  CHECK(has_event(c.at(2).events, event_kind::vote_ignored) == want_ignored);
}

// --- §6.4 ReadIndex ----------------------------------------------------------

TEST_CASE("§6.4 ReadIndex: a leader releases a read at its commit index once a majority acknowledges a heartbeat round") {
  rt::cluster c(5);
  c.elect(1);
  REQUIRE(c.raft(1).propose("a").has_value());
  c.stabilize();
  const index_t commit = c.raft(1).log().committed();
  for (node_id n : {3, 4, 5}) c.cut(1, n);
  REQUIRE(c.raft(1).read_index(42).has_value());
  c.stabilize();
  CHECK(c.at(1).reads.empty());  // only 2 of 5 confirmed
  REQUIRE(c.raft(1).propose("b").has_value());  // cannot commit either
  c.stabilize();
  CHECK(c.at(1).reads.empty());
  c.heal();
  c.tick(1);
  c.stabilize();
  CHECK(c.at(1).reads == std::vector<read_state>{{commit, 42}});
}

TEST_CASE("§6.4 ReadIndex: a new leader holds reads until an entry of its term commits") {
  rt::cluster c(3);
  elect_holding_appends(c, 1);
  REQUIRE(c.raft(1).log().committed() == 0);
  REQUIRE(c.raft(1).read_index(7).has_value());
  CHECK(c.raft(1).status().pending_reads == 1);
  c.process();
  for (const message& m : of_type(c.in_flight, heartbeat)) CHECK(m.context == 0);
  CHECK(c.at(1).reads.empty());
  c.stabilize();
  CHECK(c.raft(1).log().committed() == 1);
  CHECK(c.at(1).reads == std::vector<read_state>{{1, 7}});
}

TEST_CASE("§6.4 ReadIndex: a follower forwards a read and gets the leader's commit index") {
  rt::cluster c(3);
  c.elect(1);
  REQUIRE(c.raft(1).propose("a").has_value());
  REQUIRE(c.raft(1).propose("b").has_value());
  c.stabilize();
  REQUIRE(c.raft(2).read_index(9).has_value());
  c.process();
  const message fwd = one(c.in_flight, read_index);
  CHECK((fwd.to == 1 && fwd.context == 9));
  c.stabilize();
  CHECK(c.at(2).reads == std::vector<read_state>{{c.raft(1).log().committed(), 9}});
  CHECK(c.at(1).reads.empty());
}

TEST_CASE("§6.4 ReadIndex: reads issued together share one heartbeat round") {
  rt::cluster c(3);
  c.elect(1);
  const index_t commit = c.raft(1).log().committed();
  for (std::uint64_t ctx = 1; ctx <= 10; ++ctx) REQUIRE(c.raft(1).read_index(ctx).has_value());
  const auto delivered = c.stabilize();
  std::size_t round_beats = 0;
  for (const message& m : of_type(delivered, heartbeat)) round_beats += m.context != 0;
  CHECK(round_beats == 2);  // one round: one heartbeat per follower
  REQUIRE(c.at(1).reads.size() == 10);
  for (const read_state& rs : c.at(1).reads) CHECK(rs.index == commit);
}

TEST_CASE("§6.4 ReadIndex: reads that can no longer complete are reported in reads_dropped") {
  rt::cluster c(3);
  c.elect(1);
  const term_t term = c.raft(1).term();
  node_id reader = 1;
  SUBCASE("leader that steps down") {
    reader = 1;
    c.isolate(1);
  }
  SUBCASE("follower whose leader changes") {
    reader = 2;
    c.cut(1, 2);  // the forwarded read's answer never arrives
  }
  REQUIRE(c.raft(reader).read_index(5).has_value());
  c.stabilize();
  REQUIRE(c.at(reader).reads_dropped.empty());
  REQUIRE(c.raft(reader).step({.type = heartbeat, .from = 3, .to = reader, .term = term + 1}).has_value());
  c.process();
  CHECK(c.raft(reader).state() == role::follower);
  CHECK(c.at(reader).reads_dropped == std::vector<std::uint64_t>{5});
  CHECK(c.at(reader).reads.empty());
}

// --- Thesis §3.10 leadership transfer ----------------------------------------

TEST_CASE("thesis §3.10 leadership transfer: a lagging target is caught up, then told to time out") {
  rt::cluster c(3);
  c.elect(1);
  const term_t term = c.raft(1).term();
  c.cut(1, 3);
  REQUIRE(c.raft(1).propose("a").has_value());
  REQUIRE(c.raft(1).propose("b").has_value());
  c.stabilize();
  REQUIRE(c.raft(3).log().last_index() < c.raft(1).log().last_index());
  c.heal();
  REQUIRE(c.raft(1).transfer_leader(3).has_value());
  const index_t last = c.raft(1).log().last_index();
  CHECK(c.raft(1).propose("c").error() == make_error_code(errc::transfer_in_progress));
  CHECK(c.raft(1).log().last_index() == last);
  CHECK(one(c.stabilize(), timeout_now).to == 3);
  CHECK(c.raft(3).state() == role::leader);
  CHECK(c.raft(3).term() == term + 1);
  CHECK(c.raft(1).state() == role::follower);
  CHECK(c.raft(1).leader() == 3);
  REQUIRE(c.raft(3).propose("d").has_value());
  c.stabilize();
  for (node_id n : c.ids()) CHECK(c.at(n).applied_data() == std::vector<std::string>{"a", "b", "d"});
}

TEST_CASE("thesis §3.10 leadership transfer: a transfer to an unreachable target is abandoned after an election timeout") {
  rt::cluster c(3);
  c.elect(1);
  c.isolate(3);
  REQUIRE(c.raft(1).transfer_leader(3).has_value());
  tick_settled(c, 1, election_ticks - 1);
  CHECK(c.raft(1).propose("early").error() == make_error_code(errc::transfer_in_progress));
  c.tick(1);
  c.stabilize();
  CHECK(c.raft(1).state() == role::leader);
  CHECK(c.raft(1).status().transfer_target == no_node);
  CHECK(c.raft(1).propose("late").has_value());
  CHECK(has_event(c.at(1).events, event_kind::transfer, "abandoned"));
}

// --- Flow control ------------------------------------------------------------

TEST_CASE("flow control: a follower in probe state gets one append at a time") {
  rt::cluster c(3);
  elect_holding_appends(c, 1);
  c.process();  // the first appends (probes) are in flight, unanswered
  for (const char* d : {"a", "b", "c"}) REQUIRE(c.raft(1).propose(d).has_value());
  c.process();
  CHECK(count_to(c.in_flight, append_entries, 2) == 1);
  CHECK(count_to(c.in_flight, append_entries, 3) == 1);
  c.stabilize();
  for (node_id n : {2, 3}) CHECK(c.at(n).applied_data() == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("flow control: a follower in replicate state has at most max_inflight_appends unacknowledged") {
  rt::cluster c(3, [](config& cfg) {
    cfg.max_inflight_appends = 2;
    cfg.max_append_entries = 1;
  });
  c.elect(1);
  for (int i = 0; i < 6; ++i) {
    REQUIRE(c.raft(1).propose(std::to_string(i)).has_value());
    c.process();
  }
  CHECK(count_to(c.in_flight, append_entries, 2) == 2);
  CHECK(count_to(c.in_flight, append_entries, 3) == 2);
  for (const auto& peer : c.raft(1).status().peers) {
    CHECK((peer.state == raftkv::core::progress_state::replicate && peer.inflight == 2));
  }
  c.stabilize();
  for (node_id n : {2, 3}) CHECK(c.raft(n).log().last_id() == c.raft(1).log().last_id());
}

TEST_CASE("flow control: entries per append are bounded by max_append_entries and max_append_bytes") {
  struct row {
    std::size_t max_entries;
    std::uint64_t max_bytes;
    std::size_t data_bytes;  // each entry costs data_bytes + 24
    std::size_t want_max;
  };
  const std::vector<row> rows = {
      {3, 1 << 20, 10, 3},
      {256, 250, 76, 2},
      {256, 50, 76, 1},  // an entry over the byte limit still goes, alone
      {2, 250, 26, 2},
  };
  for (const row& r : rows) {
    CAPTURE(r.max_entries);
    CAPTURE(r.max_bytes);
    rt::cluster c(3, [&](config& cfg) {
      cfg.max_append_entries = r.max_entries;
      cfg.max_append_bytes = r.max_bytes;
    });
    c.elect(1);
    for (int i = 0; i < 10; ++i) REQUIRE(c.raft(1).propose(std::string(r.data_bytes, 'x')).has_value());
    std::size_t largest = 0;
    for (const message& m : of_type(c.stabilize(), append_entries)) {
      largest = std::max(largest, m.entries.size());
    }
    CHECK(largest == r.want_max);
    for (node_id n : {2, 3}) CHECK(c.at(n).applied_data().size() == 10);
  }
}

// --- Determinism and events --------------------------------------------------

namespace {

using trace = std::vector<std::pair<node_id, ready>>;

/// Like cluster::process(), recording every ready.
void pump(rt::cluster& c, trace& out) {
  for (bool again = true; again;) {
    again = false;
    for (node_id id : c.ids()) {
      rt::test_node& tn = c.at(id);
      while (tn.raft->has_ready()) {
        again = true;
        ready rd = tn.raft->get_ready();
        if (rd.hard) tn.disk.set_hard_state(*rd.hard);
        tn.disk.append(rd.entries);
        c.in_flight.insert(c.in_flight.end(), rd.messages.begin(), rd.messages.end());
        c.in_flight.insert(c.in_flight.end(), rd.messages_after_persist.begin(),
                           rd.messages_after_persist.end());
        tn.raft->advance(rd);
        out.emplace_back(id, std::move(rd));
      }
    }
  }
}

/// Ticks every node, proposes and reads on whoever leads, delivers everything.
trace run_script(const tweak_fn& tweak) {
  rt::cluster c(3, tweak);
  trace out;
  for (int round = 0; round < 80; ++round) {
    for (node_id id : c.ids()) c.tick(id);
    for (node_id id : c.ids()) {
      if (round % 10 == 5 && c.raft(id).state() == role::leader) {
        (void)c.raft(id).propose("cmd" + std::to_string(round));
        (void)c.raft(id).read_index(static_cast<std::uint64_t>(round));
      }
    }
    pump(c, out);
    (void)c.deliver();
    pump(c, out);
  }
  return out;
}

bool same_events(const std::vector<event>& a, const std::vector<event>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const event& x, const event& y) {
    return x.kind == y.kind && x.term == y.term && x.text == y.text;
  });
}

bool same_ready(const ready& a, const ready& b) {
  return a.number == b.number && a.soft == b.soft && a.hard == b.hard && a.entries == b.entries &&
         a.committed_entries == b.committed_entries && a.messages == b.messages &&
         a.messages_after_persist == b.messages_after_persist && a.read_states == b.read_states &&
         a.reads_dropped == b.reads_dropped && same_events(a.events, b.events) &&
         a.events_dropped == b.events_dropped;
}

bool same_trace(const trace& a, const trace& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.first == y.first && same_ready(x.second, y.second);
  });
}

}  // namespace

TEST_CASE("determinism: the same configs and inputs give identical ready batches") {
  const trace first = run_script({});
  const trace second = run_script({});
  REQUIRE(first.size() > 20);
  std::size_t committed = 0;
  for (const auto& [id, rd] : first) committed += rd.committed_entries.size();
  CHECK(committed > 0);  // the script did elect a leader and replicate
  CHECK(same_trace(first, second));
  const trace other_seed = run_script([](config& c) { c.seed += 1000; });
  CHECK_FALSE(same_trace(first, other_seed));
}

TEST_CASE("events: decisions come with their reasons only when record_events is on") {
  bool record = true;
  SUBCASE("on") { record = true; }
  SUBCASE("off") { record = false; }
  const tweak_fn tweak = [&](config& c) { c.record_events = record; };
  rt::test_node voter;
  start_with_log(voter, 1, 3, {1, 1, 2}, 2, tweak);
  step(voter, {.type = request_vote, .from = 2, .term = 3, .log_term = 1, .index = 5});
  const outbox box = drain(voter);
  CHECK(one(box.after, request_vote_resp).reject);
  CHECK(has_event(box.events, event_kind::vote_refused, "behind ours") == record);

  rt::cluster c(3, tweak);
  c.elect(1);
  REQUIRE(c.raft(1).propose("x").has_value());
  c.stabilize();
  for (node_id n : c.ids()) CHECK(c.at(n).events.empty() == !record);
  if (record) CHECK(has_event(c.at(1).events, event_kind::became_leader, "no-op"));
}
