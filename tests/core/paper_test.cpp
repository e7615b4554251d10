// Paper tests (after etcd's raft_paper_test.go): one TEST_CASE per rule of the
// Raft paper's Figure 2 and §5, with a SUBCASE per role where a rule applies to
// several roles. The thesis extensions are in thesis_test.cpp.

#include <doctest/doctest.h>

#include "core/paper_support.hpp"

using namespace paper;

// --- §5.1 Terms --------------------------------------------------------------

TEST_CASE("§5.1 a server that sees a larger term becomes a follower of that term") {
  const role r = each_role({role::follower, role::pre_candidate, role::candidate, role::leader});
  const message newer_append{.type = append_entries, .from = 3, .term = 9};
  const message newer_vote_resp{.type = request_vote_resp, .from = 3, .term = 9, .reject = true};
  for (const message& m : {newer_append, newer_vote_resp}) {
    CAPTURE(m.type);
    rt::test_node tn;
    bring_to(tn, r);
    step(tn, m);
    CHECK(tn.raft->state() == role::follower);
    CHECK(tn.raft->term() == 9);
    CHECK(tn.raft->leader() == (m.type == append_entries ? 3 : no_node));
    (void)drain(tn);
    CHECK(tn.disk.initial_hard_state() == hard_state{.term = 9, .vote = no_node, .commit = 0});
  }
}

TEST_CASE("§5.1 a message from an older term is ignored; a stale append is answered with our term") {
  const role r = each_role({role::follower, role::pre_candidate, role::candidate, role::leader});
  const message stale_append{.type = append_entries, .from = 3, .term = 1, .commit = 1,
                             .entries = {entry{.term = 1, .index = 1}}};
  const message stale_heartbeat{.type = heartbeat, .from = 3, .term = 1};
  const message stale_vote{.type = request_vote, .from = 3, .term = 1};
  for (const message& m : {stale_append, stale_heartbeat, stale_vote}) {
    CAPTURE(m.type);
    rt::test_node tn;
    bring_to(tn, r);
    const term_t ours = tn.raft->term();
    const entry_id last = tn.raft->log().last_id();
    step(tn, m);
    const auto sent = drain(tn).all();
    const auto resps = of_type(sent, append_entries_resp);
    CHECK(resps.size() == (m.type == request_vote ? 0U : 1U));
    for (const message& resp : resps) CHECK((resp.to == 3 && resp.term == ours && !resp.reject));
    CHECK(of_type(sent, request_vote_resp).empty());
    CHECK(tn.raft->state() == r);
    CHECK(tn.raft->term() == ours);
    CHECK(tn.raft->log().last_id() == last);
  }
}

TEST_CASE("§5.1 a deposed leader steps down when a stale heartbeat is answered with a newer term") {
  rt::cluster c(3, [](config& cfg) { cfg.check_quorum = false; });
  c.elect(1);
  c.isolate(1);
  c.elect(2);
  c.heal();
  REQUIRE(c.raft(1).state() == role::leader);  // it has not heard of term 2 yet
  c.tick(1);                                    // its heartbeat goes out in term 1
  c.stabilize();
  CHECK(c.raft(1).state() == role::follower);
  CHECK(c.raft(1).term() == c.raft(2).term());
  c.tick(2);
  c.stabilize();
  CHECK(c.raft(1).leader() == 2);
}

// --- §5.2 Leader election ----------------------------------------------------

TEST_CASE("§5.2 a leader sends heartbeats to every follower every heartbeat_ticks") {
  rt::cluster c(3, [](config& cfg) { cfg.heartbeat_ticks = 3; });
  c.elect(1);
  for (int k = 1; k <= 7; ++k) {
    CAPTURE(k);
    c.tick(1);
    c.process();
    const auto beats = of_type(c.in_flight, heartbeat);
    CHECK(beats.size() == (k % 3 == 0 ? 2U : 0U));
    if (!beats.empty()) CHECK(recipients(beats) == std::set<node_id>{2, 3});
    for (const message& m : beats) CHECK(m.commit == c.raft(1).log().committed());
    c.stabilize();
  }
}

TEST_CASE("§5.2 a server that hears from no leader starts an election after its election timeout") {
  const role r = each_role({role::follower, role::pre_candidate, role::candidate});
  rt::test_node tn;
  bring_to(tn, r);
  const term_t before = tn.raft->term();
  const auto st = tn.raft->status();
  for (int i = 1; i < st.election_timeout - st.election_elapsed; ++i) tn.raft->tick();
  const bool pre = r == role::pre_candidate;
  const message_type ask = pre ? request_pre_vote : request_vote;
  CHECK(of_type(drain(tn).all(), ask).empty());
  CHECK(tn.raft->term() == before);
  tn.raft->tick();
  const outbox box = drain(tn);
  CHECK(tn.raft->state() == (pre ? role::pre_candidate : role::candidate));
  CHECK(tn.raft->term() == (pre ? before : before + 1));  // thesis §9.6: asking costs no term
  CHECK(recipients(of_type(box.all(), ask)) == std::set<node_id>{2, 3});
  CHECK(has_event(box.events, event_kind::election_timeout));
}

TEST_CASE("§5.2 a candidate votes for itself and asks every other server for its vote") {
  rt::test_node tn;
  start_with_log(tn, 1, 5, {1, 1, 2}, 2, no_pre_vote);
  REQUIRE(tn.raft->campaign().has_value());
  const ready rd = tn.raft->get_ready();
  CHECK(rd.hard == hard_state{.term = 3, .vote = 1, .commit = 0});
  CHECK(rd.soft == raftkv::core::soft_state{.leader = no_node, .state = role::candidate});
  const auto reqs = of_type(rd.messages_after_persist, request_vote);
  CHECK(recipients(reqs) == std::set<node_id>{2, 3, 4, 5});
  for (const message& m : reqs) CHECK((m.term == 3 && m.index == 3 && m.log_term == 2));
}

TEST_CASE("§5.2 a candidate that wins votes from a majority becomes leader") {
  struct row { std::size_t n; std::vector<std::pair<node_id, bool>> votes; role want; };
  const std::vector<row> rows = {
      {1, {}, role::leader},
      {3, {{2, true}}, role::leader},
      {3, {{2, false}}, role::candidate},
      {3, {{2, false}, {3, true}}, role::leader},
      {3, {{2, false}, {3, false}}, role::follower},
      {5, {{2, true}}, role::candidate},
      {5, {{2, true}, {3, true}}, role::leader},
      {5, {{2, true}, {2, true}}, role::candidate},  // a duplicate counts once
      {5, {{2, true}, {3, false}, {4, false}}, role::candidate},
      {5, {{2, true}, {3, false}, {4, false}, {5, true}}, role::leader},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, role::follower},
  };
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const row& r = rows[k];
    CAPTURE(k);
    CAPTURE(r.n);
    rt::test_node tn;
    start_node(tn, 1, r.n, no_pre_vote);
    REQUIRE(tn.raft->campaign().has_value());
    for (const auto& [from, granted] : r.votes) {
      step(tn, {.type = request_vote_resp, .from = from, .term = 1, .reject = !granted});
    }
    CHECK(tn.raft->state() == r.want);
    CHECK(tn.raft->term() == 1);
  }
}

TEST_CASE("§5.2 a server votes for at most one candidate per term, first come first served") {
  rt::test_node tn;
  const auto granted = [&](node_id from, term_t term) {
    step(tn, {.type = request_vote, .from = from, .term = term, .log_term = 9, .index = 9});
    return !one(drain(tn).after, request_vote_resp).reject;
  };
  SUBCASE("follower") {
    start_node(tn, 1, 3);
    CHECK(granted(2, 1));
    CHECK(tn.disk.initial_hard_state().vote == 2);
    CHECK_FALSE(granted(3, 1));
    CHECK(granted(2, 1));  // a retry from the one we voted for
    CHECK(tn.disk.initial_hard_state().vote == 2);
  }
  SUBCASE("candidate") {
    bring_to(tn, role::candidate);
    CHECK_FALSE(granted(3, 3));
    CHECK(tn.raft->status().vote == 1);
  }
  SUBCASE("leader") {
    bring_to(tn, role::leader);
    CHECK_FALSE(granted(3, 3));
    CHECK(tn.raft->state() == role::leader);
  }
}

TEST_CASE("§5.2 a candidate that receives an append from a leader of its term becomes its follower") {
  const role r = each_role({role::pre_candidate, role::candidate});
  for (const message_type type : {append_entries, heartbeat}) {
    CAPTURE(type);
    rt::test_node tn;
    bring_to(tn, r);
    const term_t t = tn.raft->term();
    step(tn, {.type = type, .from = 2, .term = t});
    CHECK(tn.raft->state() == role::follower);
    CHECK(tn.raft->term() == t);
    CHECK(tn.raft->leader() == 2);
  }
}

TEST_CASE("§5.2 a candidate refused by a majority steps down without changing its term") {
  rt::test_node tn;
  bool pre = false;
  SUBCASE("pre_candidate") { pre = true; }
  SUBCASE("candidate") { pre = false; }
  start_node(tn, 1, 5, [&](config& c) { c.pre_vote = pre; });
  REQUIRE(tn.raft->campaign().has_value());
  const term_t t = tn.raft->term();
  const message_type resp = pre ? request_pre_vote_resp : request_vote_resp;
  step(tn, {.type = resp, .from = 2, .term = t, .reject = true});
  step(tn, {.type = resp, .from = 3, .term = t, .reject = true});
  CHECK(tn.raft->state() == (pre ? role::pre_candidate : role::candidate));
  step(tn, {.type = resp, .from = 4, .term = t, .reject = true});
  CHECK(tn.raft->state() == role::follower);
  CHECK(tn.raft->term() == t);
  CHECK(has_event(drain(tn).events, event_kind::votes_counted, "lost"));
}

TEST_CASE("§5.2 election timeouts are randomized in [election_ticks, 2*election_ticks) and differ across seeds") {
  std::set<int> seen;
  for (std::uint64_t seed = 1; seed <= 64; ++seed) {
    CAPTURE(seed);
    rt::test_node tn;
    start_node(tn, 1, 3, [&](config& c) { c.seed = seed; });
    for (int round = 0; round < 4; ++round) {  // each timeout draws anew
      const int timeout = tn.raft->status().election_timeout;
      CHECK(timeout >= election_ticks);
      CHECK(timeout < 2 * election_ticks);
      seen.insert(timeout);
      for (int i = 0; i < timeout; ++i) tn.raft->tick();
      (void)drain(tn);
    }
  }
  CHECK(seen.size() >= 5);
}

// --- §5.3 Log replication ----------------------------------------------------

TEST_CASE("§5.3 a leader appends a proposal to its log and replicates it to every follower") {
  rt::cluster c(3);
  c.elect(1);
  const index_t before = c.raft(1).log().last_index();
  auto id = c.raft(1).propose("a");
  REQUIRE(id.has_value());
  CHECK(*id == entry_id{c.raft(1).term(), before + 1});
  CHECK(c.raft(1).log().last_id() == *id);
  c.process();
  const auto appends = of_type(c.in_flight, append_entries);
  CHECK(recipients(appends) == std::set<node_id>{2, 3});
  for (const message& m : appends) CHECK((m.entries.size() == 1 && m.entries[0].data == "a"));
  c.stabilize();
  for (node_id n : c.ids()) {
    CAPTURE(n);
    CHECK((c.raft(n).log().last_id() == *id && c.at(n).applied_data() == std::vector<std::string>{"a"}));
  }
}

TEST_CASE("§5.3 an entry commits once stored on a majority, and followers learn the commit index") {
  struct row { std::size_t n; std::vector<node_id> cut_off; bool want_commit; };
  const std::vector<row> rows = {
      {3, {3}, true}, {3, {2, 3}, false}, {5, {4, 5}, true}, {5, {3, 4, 5}, false}, {5, {}, true},
  };
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const row& r = rows[k];
    CAPTURE(k);
    rt::cluster c(r.n);
    c.elect(1);
    for (node_id id : r.cut_off) c.isolate(id);
    auto id = c.raft(1).propose("x");
    REQUIRE(id.has_value());
    c.stabilize();
    CHECK((c.raft(1).log().committed() == id->index) == r.want_commit);
    for (node_id n : c.ids()) {
      if (n == 1 || std::count(r.cut_off.begin(), r.cut_off.end(), n) != 0) continue;
      CAPTURE(n);
      CHECK(c.raft(n).log().last_index() == id->index);
      CHECK((c.raft(n).log().committed() == id->index) == r.want_commit);
      CHECK((c.at(n).applied_data() == std::vector<std::string>{"x"}) == r.want_commit);
    }
  }
}

TEST_CASE("§5.3 a follower rejects an append whose previous entry it does not hold, with a conflict hint") {
  struct row {
    index_t prev_index;
    term_t prev_term;
    bool want_reject;
    term_t want_log_term;
    index_t want_hint;
  };
  const std::vector<row> rows = {
      {4, 3, true, 2, 2},  // our entry 4 has term 2; term 2 starts at index 2
      {2, 1, true, 2, 2},  {6, 2, true, 0, 5},  // beyond our log: hint is our last index + 1
      {5, 2, true, 0, 5},  {4, 2, false, 0, 0}, {1, 1, false, 0, 0},
  };
  for (const row& r : rows) {
    CAPTURE(r.prev_index);
    CAPTURE(r.prev_term);
    rt::test_node tn;
    start_with_log(tn, 1, 3, {1, 2, 2, 2}, 2);
    step(tn, {.type = append_entries, .from = 2, .term = 3, .log_term = r.prev_term,
              .index = r.prev_index});
    const outbox box = drain(tn);
    const message resp = one(box.after, append_entries_resp);
    CHECK(resp.reject == r.want_reject);
    CHECK(resp.index == r.prev_index);
    CHECK(resp.log_term == r.want_log_term);
    CHECK(resp.reject_hint == r.want_hint);
    CHECK(has_event(box.events, event_kind::append_rejected) == r.want_reject);
    CHECK(tn.raft->log().last_id() == entry_id{2, 4});
  }
}

TEST_CASE("§5.3 a follower deletes a conflicting suffix and keeps the leader's entries") {
  rt::test_node tn;
  start_with_log(tn, 1, 3, {1, 1, 2, 2}, 2);
  step(tn, {.type = append_entries, .from = 2, .term = 3, .log_term = 1, .index = 2,
            .entries = {entry{.term = 3, .index = 3, .data = "new"}}});
  const outbox box = drain(tn);
  REQUIRE(box.entries.size() == 1);
  CHECK(box.entries[0].id() == entry_id{3, 3});
  CHECK(has_event(box.events, event_kind::log_truncated, "from index 3"));
  const message resp = one(box.after, append_entries_resp);
  CHECK((!resp.reject && resp.index == 3));
  CHECK(tn.raft->log().last_id() == entry_id{3, 3});
  auto want = with_terms({1, 1});
  want.push_back(entry{.term = 3, .index = 3, .data = "new"});
  CHECK(disk_log(tn) == want);
}

TEST_CASE("§5.3 Figure 7: a leader brings each follower's log in line with its own in few round trips") {
  struct row { const char* name; std::vector<term_t> follower; std::size_t max_rejections; };
  const std::vector<term_t> leader_log = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<row> rows = {
      {"(a) missing entries", {1, 1, 1, 4, 4, 5, 5, 6, 6}, 1},
      {"(b) missing many entries", {1, 1, 1, 4}, 1},
      {"(c) one extra entry", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 0},
      {"(d) extra entries of term 7", {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 0},
      {"(e) missing and extra entries", {1, 1, 1, 4, 4, 4, 4}, 2},
      {"(f) extra entries of terms 2 and 3", {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 2},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    rt::cluster c(3);
    for (node_id id : c.ids()) c.crash(id);
    start_with_log(c.at(1), 1, 3, leader_log, 8);
    start_with_log(c.at(2), 2, 3, r.follower, 7);
    start_with_log(c.at(3), 3, 3, leader_log, 8);
    REQUIRE(c.raft(1).campaign().has_value());
    const auto delivered = c.stabilize();
    REQUIRE(c.raft(1).state() == role::leader);
    CHECK(c.raft(1).term() == 9);
    const auto resps = of_type(delivered, append_entries_resp);
    const auto rejections =
        std::count_if(resps.begin(), resps.end(), [](const message& m) { return m.from == 2 && m.reject; });
    CHECK(rejections <= static_cast<std::ptrdiff_t>(r.max_rejections));
    CHECK(disk_log(c.at(2)) == disk_log(c.at(1)));
    REQUIRE(c.raft(1).propose("after").has_value());
    c.stabilize();
    CHECK(disk_log(c.at(2)) == disk_log(c.at(1)));
    CHECK(c.raft(2).log().committed() == 12);
    REQUIRE(c.at(2).applied.size() == 12);
    CHECK(c.at(2).applied.back().data == "after");
  }
}

// --- §5.4 Safety -------------------------------------------------------------

TEST_CASE("§5.4.1 a voter refuses a candidate whose log is less up to date than its own") {
  struct row { term_t last_term; index_t last_index; bool want_grant; };
  const std::vector<row> rows = {
      {1, 5, false},  // longer, but an older last term
      {2, 2, false},  // same last term, shorter
      {2, 3, true},   {2, 4, true}, {3, 1, true}, {0, 0, false},
  };
  for (const row& r : rows) {
    CAPTURE(r.last_term);
    CAPTURE(r.last_index);
    rt::test_node tn;
    start_with_log(tn, 1, 3, {1, 1, 2}, 2);
    step(tn, {.type = request_vote, .from = 2, .term = 3, .log_term = r.last_term,
              .index = r.last_index});
    const message resp = one(drain(tn).after, request_vote_resp);
    CHECK((resp.reject == !r.want_grant && resp.term == 3));
    CHECK(tn.raft->status().vote == (r.want_grant ? 2 : no_node));
  }
}

TEST_CASE("§5.4.2 Figure 8: a leader commits an entry of an earlier term only with one of its own term") {
  struct row { index_t acked; index_t want_commit; };  // acked: follower 2's acknowledgement
  // Leader 1 of term 3 holds (1,1) (2,2) and its no-op (3,3): index 2 stored on
  // a majority (1 and 2) is not committed by counting replicas; index 3 is.
  for (const row r : {row{1, 0}, row{2, 0}, row{3, 3}}) {
    CAPTURE(r.acked);
    rt::test_node tn;
    start_with_log(tn, 1, 3, {1, 2}, 2, no_pre_vote);
    REQUIRE(tn.raft->campaign().has_value());
    step(tn, {.type = request_vote_resp, .from = 2, .term = 3});
    REQUIRE(tn.raft->state() == role::leader);
    (void)drain(tn);
    CHECK(tn.raft->log().committed() == 0);
    step(tn, {.type = append_entries_resp, .from = 2, .term = 3, .index = r.acked});
    CHECK(tn.raft->log().committed() == r.want_commit);
    CHECK(drain(tn).committed.size() == r.want_commit);
  }
}

TEST_CASE("§5.4.2 a new leader appends a no-op of its term, which commits its predecessors") {
  rt::cluster c(3);
  c.crash(1);
  start_with_log(c.at(1), 1, 3, {1, 1}, 1);
  c.elect(1);
  const entry_id noop{c.raft(1).term(), 3};
  CHECK(c.raft(1).log().last_id() == noop);
  CHECK(disk_log(c.at(1)).back().type == entry_type::noop);
  CHECK(c.raft(1).log().committed() == 3);
  REQUIRE(c.at(1).applied.size() == 3);
  CHECK(c.at(1).applied.back().type == entry_type::noop);
  for (node_id n : {2, 3}) CHECK(c.raft(n).log().last_id() == noop);
}

TEST_CASE("§5.3 a follower caught up after the commit index moved learns it without waiting for a heartbeat") {
  // Both followers need a probe round trip; when the first acknowledges, the
  // no-op commits and the commit index is broadcast, but the second follower's
  // probe is still outstanding, so that broadcast skips it. Its acknowledgement
  // must then be answered with the commit index (etcd: "oldPaused").
  rt::cluster c(3);
  c.crash(1);
  start_with_log(c.at(1), 1, 3, {1, 1}, 1);
  c.elect(1);
  REQUIRE(c.raft(1).log().committed() == 3);
  CHECK(c.raft(2).log().committed() == 3);
  CHECK(c.raft(3).log().committed() == 3);
}

// --- Figure 2: what waits for stable storage ---------------------------------

TEST_CASE("Figure 2: votes and append acknowledgements are sent only after persisting") {
  rt::test_node tn;
  SUBCASE("request_vote") {
    start_node(tn, 1, 3, no_pre_vote);
    REQUIRE(tn.raft->campaign().has_value());
    const ready rd = tn.raft->get_ready();
    CHECK((of_type(rd.messages_after_persist, request_vote).size() == 2 && rd.messages.empty()));
  }
  SUBCASE("request_pre_vote promises nothing and goes now") {
    start_node(tn, 1, 3);
    REQUIRE(tn.raft->campaign().has_value());
    const ready rd = tn.raft->get_ready();
    CHECK((of_type(rd.messages, request_pre_vote).size() == 2 && rd.messages_after_persist.empty()));
  }
  SUBCASE("request_vote_resp") {
    start_node(tn, 1, 3);
    step(tn, {.type = request_vote, .from = 2, .term = 1});
    const ready rd = tn.raft->get_ready();
    CHECK((of_type(rd.messages_after_persist, request_vote_resp).size() == 1 && rd.messages.empty()));
  }
  SUBCASE("append_entries_resp") {
    start_node(tn, 1, 3);
    step(tn, {.type = append_entries, .from = 2, .term = 1,
              .entries = {entry{.term = 1, .index = 1}}});
    const ready rd = tn.raft->get_ready();
    CHECK(rd.entries.size() == 1);
    CHECK((of_type(rd.messages_after_persist, append_entries_resp).size() == 1 && rd.messages.empty()));
  }
  SUBCASE("the leader's appends and heartbeats go now") {
    bring_to(tn, role::leader);
    for (node_id from : {2, 3}) step(tn, {.type = append_entries_resp, .from = from, .term = 3, .index = 1});
    (void)drain(tn);
    REQUIRE(tn.raft->propose("a").has_value());
    tn.raft->tick();
    const ready rd = tn.raft->get_ready();
    CHECK(rd.entries.size() == 1);
    CHECK(of_type(rd.messages, append_entries).size() == 2);
    CHECK(of_type(rd.messages, heartbeat).size() == 2);
    CHECK(rd.messages_after_persist.empty());
  }
}

TEST_CASE("Figure 2: a leader counts its own entries toward commit only after advance()") {
  rt::test_node tn;
  start_node(tn, 1, 1);
  REQUIRE(tn.raft->campaign().has_value());
  REQUIRE(tn.raft->state() == role::leader);
  for (const char* data : {"", "x"}) {  // the no-op, then a proposal
    CAPTURE(data);
    if (*data != '\0') REQUIRE(tn.raft->propose(data).has_value());
    const index_t last = tn.raft->log().last_index();
    ready rd = tn.raft->get_ready();
    REQUIRE(rd.entries.size() == 1);
    CHECK(rd.committed_entries.empty());
    CHECK(tn.raft->log().committed() == last - 1);
    tn.disk.append(rd.entries);
    if (rd.hard) tn.disk.set_hard_state(*rd.hard);
    tn.raft->advance(rd);
    CHECK(tn.raft->log().committed() == last);
    REQUIRE(tn.raft->has_ready());
    rd = tn.raft->get_ready();
    REQUIRE(rd.committed_entries.size() == 1);
    CHECK(rd.committed_entries[0].index == last);
    tn.raft->advance(rd);
  }
}

// --- §5.1/§8 Client interaction ----------------------------------------------

TEST_CASE("§8 a proposal on a server that is not the leader is refused and never appended") {
  rt::test_node tn;
  errc want = errc::no_leader;
  SUBCASE("follower that knows the leader") {
    bring_to(tn, role::follower);
    want = errc::not_leader;
  }
  SUBCASE("follower that knows no leader") { start_node(tn, 1, 3); }
  SUBCASE("pre_candidate") { bring_to(tn, role::pre_candidate); }
  SUBCASE("candidate") { bring_to(tn, role::candidate); }
  const index_t last = tn.raft->log().last_index();
  auto res = tn.raft->propose("x");
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error() == make_error_code(want));
  CHECK(tn.raft->leader() == (want == errc::not_leader ? 2 : no_node));
  CHECK(tn.raft->log().last_index() == last);
  const outbox box = drain(tn);
  CHECK(box.entries.empty());
  CHECK(has_event(box.events, event_kind::proposal_refused));
}
