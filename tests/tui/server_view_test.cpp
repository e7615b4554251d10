// The server TUI without a terminal: the view model from a /v1/status answer,
// rendering at 80x24 and wider, and what keys do.
#include <raftkv/tui/server_view.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace raftkv::tui;
using nlohmann::json;

namespace {

/// A leader's status as host::status_json(?log=..&keys=..) writes it.
json leader_status() {
  return json::parse(R"js({
    "id": 1, "role": "leader", "term": 3, "vote": 1, "leader": 1, "commit": 6, "applied": 5,
    "first_index": 3, "last_index": 7, "last_term": 3, "snapshot_index": 2, "snapshot_term": 1,
    "election_elapsed_ticks": 4, "election_timeout_ticks": 10, "heartbeat_elapsed_ticks": 1,
    "heartbeat_timeout_ticks": 3, "tick_ms": 100, "uptime_ms": 83400, "paused": false,
    "api_url": "http://127.0.0.1:7001", "transfer_target": 0,
    "kv": {"keys": 2, "revision": 4, "skip": 0, "items": [
      {"key": "greeting", "value": "hello", "mod_revision": 4, "version": 2},
      {"key": "lang", "value": "c++", "mod_revision": 2, "version": 1}],
      "last_change": {"key": "greeting", "revision": 4, "age_ms": 500}},
    "peers": [
      {"id": 2, "address": "127.0.0.1:6002", "connected": true, "last_contact_ms": 120, "match": 7, "next": 8,
       "state": "replicate", "inflight": 0, "recent_active": true, "messages_dropped": 0},
      {"id": 3, "address": "127.0.0.1:6003", "connected": false, "match": 4, "next": 5, "state": "probe",
       "inflight": 0, "recent_active": false, "messages_dropped": 7}],
    "faults": {"paused": false, "isolated": false, "cut_in": [3], "cut_out": [3], "drop_per_mille": 0, "delay_ms": 0},
    "log": [
      {"index": 3, "term": 2, "command": "put lang=c++", "type": "normal"},
      {"index": 4, "term": 3, "command": "no-op (a new leader's first entry)", "type": "noop"},
      {"index": 5, "term": 3, "command": "put greeting=hi", "type": "normal"},
      {"index": 6, "term": 3, "command": "put greeting=hello", "type": "normal",
       "replaced": {"old_term": 2, "old_command": "put x=1", "age_ms": 1000}},
      {"index": 7, "term": 3, "command": "del lang", "type": "normal"}],
    "overwritten": [{"index": 8, "old_term": 2, "new_term": 0, "old_command": "put y=2", "age_ms": 900}],
    "events": [
      {"seq": 0, "term": 2, "kind": "election_timeout", "text": "election timeout: no heartbeat for 12 ticks", "at_ms": 1200},
      {"seq": 1, "term": 3, "kind": "became_leader", "text": "became leader of term 3 with votes from 1, 2", "at_ms": 1300},
      {"seq": 2, "term": 3, "kind": "fault", "text": "cut the link with node 3", "at_ms": 80000}]
  })js");
}

screen draw(const server_view& v, const ui_state& ui, int w = 80, int h = 24) {
  screen s(w, h);
  render(v, ui, s);
  return s;
}

}  // namespace

TEST_CASE("the view model takes every field of the status answer") {
  const server_view v = view_from_status(leader_status());
  CHECK(v.valid);
  CHECK(v.id == 1);
  CHECK(v.role == "leader");
  CHECK(v.term == 3);
  CHECK(v.commit == 6);
  CHECK(v.applied == 5);
  CHECK(v.snapshot_index == 2);
  CHECK(v.heartbeat_timeout == 3);
  REQUIRE(v.peers.size() == 2);
  CHECK(v.peers[0].has_progress);
  CHECK(v.peers[0].match == 7);
  CHECK(v.peers[0].last_contact_ms == 120);
  CHECK_FALSE(v.peers[1].last_contact_ms.has_value());
  CHECK(v.peers[1].cut_in);
  CHECK(v.peers[1].cut_out);
  CHECK_FALSE(v.peers[0].cut_in);
  REQUIRE(v.log.size() == 5);
  CHECK(v.log[1].noop);
  CHECK(v.log[3].replaced == std::optional<std::string>("term 2: put x=1"));
  CHECK(v.removed == std::vector<std::string>{"#8 term 2: put y=2"});
  REQUIRE(v.items.size() == 2);
  CHECK(v.last_change == std::optional<std::string>("greeting"));
  REQUIRE(v.events.size() == 3);
  CHECK(v.events[1].kind == "became_leader");
}

TEST_CASE("a status that is not an object, or lacks fields, gives a usable view") {
  CHECK_FALSE(view_from_status(json()).valid);
  CHECK_FALSE(view_from_status(json::array()).valid);
  const server_view v = view_from_status(json{{"id", 2}, {"term", "not a number"}});
  CHECK(v.valid);
  CHECK(v.id == 2);
  CHECK(v.term == 0);
  CHECK(v.role == "follower");
  screen s(80, 24);
  render(v, ui_state{}, s);  // draws without the missing parts
  CHECK(s.contains("FOLLOWER"));
}

TEST_CASE("the layout fits 80x24 and refuses smaller than 60x16") {
  const layout l = compute_layout(80, 24, 2);
  CHECK_FALSE(l.too_small);
  CHECK(l.peers_h == 5);
  CHECK(l.mid_y + l.mid_h == l.footer_y);
  CHECK(l.footer_y == 23);
  CHECK(l.log_rows() >= 5);
  CHECK(l.kv_rows() >= 4);
  CHECK(compute_layout(59, 24, 2).too_small);
  CHECK(compute_layout(80, 15, 2).too_small);
  screen s(50, 10);
  render(view_from_status(leader_status()), ui_state{}, s);
  CHECK(s.contains("terminal too small: 50x10"));
}

TEST_CASE("the 80x24 screen shows role, term, log, keys, peers and events") {
  const screen s = draw(view_from_status(leader_status()), ui_state{});
  CAPTURE(s.text());
  CHECK(s.row(0).find("raftkv node 1") != std::string::npos);
  CHECK(s.row(0).find("LEADER") != std::string::npos);
  CHECK(s.row(0).find("term 3") != std::string::npos);
  CHECK(s.row(1).find("commit 6 · applied 5") != std::string::npos);
  CHECK(s.row(2).find("heartbeat") != std::string::npos);
  CHECK(s.row(2).find("quorum check") != std::string::npos);
  CHECK(s.contains("● 4 t3 no-op"));
  CHECK_FALSE(s.contains("● 3 t2 put lang=c++"));  // 6 rows: the newest lines win
  CHECK(s.contains("○ 7 t3 del lang"));           // past the commit index
  CHECK_FALSE(s.contains("── snapshot"));
  const screen big = draw(view_from_status(leader_status()), ui_state{}, 100, 30);
  CHECK(big.contains("── snapshot ≤ 2 (term 1) ──"));
  CHECK(big.contains("● 3 t2 put lang=c++"));
  CHECK(s.contains("! 6 t3 put greeting=hello"));  // replaced a moment ago
  CHECK(s.contains("↳ replaced term 2: put x=1"));
  CHECK(s.contains("✗ removed #8 term 2"));
  CHECK(s.contains("greeting = hello"));
  CHECK(s.contains("lang = c++"));
  CHECK(s.contains("127.0.0.1:6002"));
  CHECK(s.contains("replicate"));
  CHECK(s.contains("CUT"));
  CHECK(s.contains("became leader of term 3"));
  CHECK(s.contains("00:01.3"));
  CHECK(s.row(23).find("c campaign") != std::string::npos);
  // Applied entries' marks are green; the last changed key is highlighted.
  const int y = [&] {
    for (int r = 0; r < s.height(); ++r)
      if (s.row(r).find("greeting = hello") != std::string::npos) return r;
    return -1;
  }();
  REQUIRE(y >= 0);
  CHECK(s.at(2, y).st.fg == color::good);
  CHECK(s.at(2, y).st.reverse);  // changed less than 3 s ago
}

TEST_CASE("a follower's screen explains its election timer and badges its faults") {
  json j = leader_status();
  j["role"] = "follower";
  j["leader"] = 2;
  j["election_elapsed_ticks"] = 9;
  j["election_timeout_ticks"] = 12;
  j["faults"]["isolated"] = true;
  j["faults"]["drop_per_mille"] = 105;
  j["paused"] = true;
  for (json& p : j["peers"]) p.erase("match");
  const screen s = draw(view_from_status(j), ui_state{}, 120, 30);
  CAPTURE(s.text());
  CHECK(s.row(0).find("FOLLOWER") != std::string::npos);
  CHECK(s.row(0).find("leader 2") != std::string::npos);
  CHECK(s.row(2).find("election timer") != std::string::npos);
  CHECK(s.row(2).find("9/12 ticks") != std::string::npos);
  CHECK(s.row(2).find("PAUSED") != std::string::npos);
  CHECK(s.row(2).find("ISOLATED") != std::string::npos);
  CHECK(s.row(2).find("drop 10.5%") != std::string::npos);
  CHECK(s.contains("(the leader tracks these)"));
}

TEST_CASE("keys map to actions; prompts collect a peer or a number") {
  const server_view v = view_from_status(leader_status());
  ui_state ui;
  CHECK(handle_key(ui, 'c', v).what == action::kind::campaign);
  CHECK(handle_key(ui, 's', v).what == action::kind::snapshot);
  CHECK(handle_key(ui, 'p', v).what == action::kind::pause);
  CHECK(handle_key(ui, 'i', v).what == action::kind::isolate);
  CHECK(handle_key(ui, 'q', v).what == action::kind::quit);
  CHECK(handle_key(ui, key::ctrl_c, v).what == action::kind::quit);

  CHECK(handle_key(ui, 't', v).what == action::kind::none);
  CHECK(ui.prompting == ui_state::prompt::transfer);
  CHECK(draw(v, ui).row(23).find("transfer leadership to node:") != std::string::npos);
  CHECK(handle_key(ui, '2', v) == action{action::kind::transfer, 2, {}});  // one digit is enough
  CHECK(ui.prompting == ui_state::prompt::none);

  handle_key(ui, 't', v);
  CHECK(handle_key(ui, '9', v).what == action::kind::none);  // not a member
  CHECK(ui.flash.find("another member") != std::string::npos);

  handle_key(ui, 'x', v);
  CHECK(handle_key(ui, '3', v) == action{action::kind::restore, 3, {}});  // node 3 is cut: restore
  handle_key(ui, 'x', v);
  CHECK(handle_key(ui, '2', v) == action{action::kind::cut, 2, {}});

  handle_key(ui, 'd', v);
  for (int k : {'2', '5', '0'}) handle_key(ui, k, v);
  CHECK(handle_key(ui, key::enter, v) == action{action::kind::drop, 250, {}});
  handle_key(ui, 'l', v);
  handle_key(ui, '5', v);
  CHECK(handle_key(ui, key::escape, v).what == action::kind::none);
  CHECK(ui.prompting == ui_state::prompt::none);

  json paused = leader_status();
  paused["paused"] = true;
  paused["faults"]["isolated"] = true;
  CHECK(handle_key(ui, 'p', view_from_status(paused)).what == action::kind::resume);
  CHECK(handle_key(ui, 'i', view_from_status(paused)).what == action::kind::heal);
}

TEST_CASE("the command line edits, submits and keeps a history") {
  const server_view v = view_from_status(leader_status());
  ui_state ui;
  handle_key(ui, ':', v);
  for (char c : std::string("put a 1")) handle_key(ui, c, v);
  CHECK(draw(v, ui).row(23).find(":put a 1") == 0);
  handle_key(ui, key::backspace, v);
  handle_key(ui, '2', v);
  CHECK(handle_key(ui, key::enter, v) == action{action::kind::command, 0, "put a 2"});
  handle_key(ui, ':', v);
  for (char c : std::string("get a")) handle_key(ui, c, v);
  handle_key(ui, key::left, v);
  handle_key(ui, 'b', v);  // inserted before the cursor
  CHECK(ui.input == "get ba");
  handle_key(ui, key::end, v);
  for (int k : {0x00e9, 0x20ac}) handle_key(ui, k, v);  // é €, typed as code points
  CHECK(ui.input == "get baé€");
  handle_key(ui, key::backspace, v);  // removes the whole code point
  CHECK(ui.input == "get baé");
  handle_key(ui, key::backspace, v);
  CHECK(handle_key(ui, key::enter, v).line == "get ba");
  handle_key(ui, ':', v);
  handle_key(ui, key::up, v);
  CHECK(ui.input == "get ba");
  handle_key(ui, key::up, v);
  CHECK(ui.input == "put a 2");
  handle_key(ui, key::down, v);
  handle_key(ui, key::down, v);
  CHECK(ui.input.empty());
  CHECK(handle_key(ui, key::enter, v).what == action::kind::none);  // empty line
}

TEST_CASE("Tab moves focus; arrows scroll the focused pane within bounds") {
  const server_view v = view_from_status(leader_status());
  ui_state ui;
  CHECK(ui.focus == pane::events);
  handle_key(ui, key::tab, v);
  CHECK(ui.focus == pane::log);
  handle_key(ui, key::up, v);
  CHECK(ui.log_skip == 1);
  handle_key(ui, key::page_up, v);
  CHECK(ui.log_skip == 4);  // last 7 - first 3
  handle_key(ui, key::end, v);
  CHECK(ui.log_skip == 0);
  handle_key(ui, key::tab, v);
  CHECK(ui.focus == pane::kv);
  handle_key(ui, key::down, v);
  handle_key(ui, key::down, v);
  CHECK(ui.kv_skip == 1);  // two keys: the last one on top at most
  handle_key(ui, key::back_tab, v);
  CHECK(ui.focus == pane::log);
}

TEST_CASE("? opens the help overlay and any key closes it") {
  const server_view v = view_from_status(leader_status());
  ui_state ui;
  handle_key(ui, '?', v);
  CHECK(ui.help);
  const screen s = draw(v, ui);
  CHECK(s.contains("transfer leadership to node N"));
  CHECK(handle_key(ui, 'q', v).what == action::kind::none);  // closes, does not quit
  CHECK_FALSE(ui.help);
}

TEST_CASE("the events pane wraps long lines and scrolls back") {
  json j = leader_status();
  for (int i = 0; i < 40; ++i) {
    j["events"].push_back({{"seq", 3 + i}, {"term", 3}, {"kind", "commit_advanced"},
                           {"text", "commit index moved to " + std::to_string(10 + i) + " because a majority stored it"},
                           {"at_ms", 90000 + i}});
  }
  const server_view v = view_from_status(j);
  ui_state ui;
  screen s = draw(v, ui);
  CHECK(s.contains("moved to 49"));
  CHECK_FALSE(s.contains("moved to 10 "));
  ui.events_skip = 1000;  // clamped to the oldest page
  s = draw(v, ui);
  CHECK(s.contains("election timeout"));
  CHECK_FALSE(s.contains("moved to 49"));
}

TEST_CASE("the footer keeps the last command's answer for a while, then the keys again") {
  json j = leader_status();  // uptime 83400 ms
  j["events"].push_back({{"seq", 3}, {"term", 3}, {"kind", "command"},
                         {"text", "get \"color\" (stale, from this node at applied index 3): \"red\""},
                         {"at_ms", 80000}});
  for (int i = 0; i < 30; ++i) {  // a busy node: the answer scrolls out of the events pane
    j["events"].push_back({{"seq", 4 + i}, {"term", 3}, {"kind", "election_timeout"},
                           {"text", "election timeout: our pre-election got no majority"}, {"at_ms", 80001 + i}});
  }
  ui_state ui;
  screen s = draw(view_from_status(j), ui);
  CHECK(s.contains(" = get \"color\" (stale, from this node at applied index 3)"));
  CHECK_FALSE(s.contains("c campaign"));
  ui.flash = "'z' does nothing here";  // a hint from the last key wins
  CHECK(draw(view_from_status(j), ui).contains("'z' does nothing here"));
  ui.flash.clear();
  j["uptime_ms"] = 80000 + command_answer_ms;  // too old now
  s = draw(view_from_status(j), ui);
  CHECK_FALSE(s.contains("(stale, from this node"));
  CHECK(s.contains("c campaign"));
}

TEST_CASE("a snapshot through the newest entry draws its boundary under it") {
  json j = leader_status();
  j["snapshot_index"] = 7;  // the last entry of the window
  j["snapshot_term"] = 3;
  j["overwritten"] = json::array();
  const screen s = draw(view_from_status(j), ui_state{}, 100, 30);
  CAPTURE(s.text());
  CHECK(s.contains("○ 7 t3 del lang"));
  CHECK(s.contains("── snapshot ≤ 7 (term 3) ──"));
  CHECK(s.text().find("del lang") < s.text().find("── snapshot ≤ 7"));
}

TEST_CASE("a cluster of one says so in the peers pane") {
  json j = leader_status();
  j["peers"] = json::array();
  const screen s = draw(view_from_status(j), ui_state{});
  CHECK(s.contains("(a cluster of one: no other members)"));
  ui_state ui;
  CHECK(handle_key(ui, 't', view_from_status(j)).what == action::kind::none);
  CHECK(ui.prompting == ui_state::prompt::none);
  CHECK(ui.flash == "no other member to transfer to");
}

TEST_CASE("clamp_scroll keeps every pane's scroll within what there is to show") {
  json j = leader_status();
  ui_state ui;
  ui.log_skip = 100;
  ui.kv_skip = 50;
  ui.events_skip = 100000;
  clamp_scroll(ui, view_from_status(j), 80, 24);
  CHECK(ui.log_skip == 0);  // 5 entries fit in 6 rows
  CHECK(ui.kv_skip == 0);
  CHECK(ui.events_skip == 0);
  for (int i = 0; i < 40; ++i) {
    j["events"].push_back({{"seq", 3 + i}, {"term", 3}, {"kind", "commit_advanced"},
                           {"text", "commit index moved to " + std::to_string(10 + i)}, {"at_ms", 90000 + i}});
  }
  j["first_index"] = 1;
  j["last_index"] = 40;
  j["kv"]["keys"] = 30;
  const server_view v = view_from_status(j);
  ui.log_skip = ui.kv_skip = ui.events_skip = 1000000;
  clamp_scroll(ui, v, 80, 24);
  const layout l = compute_layout(80, 24, 2);
  CHECK(ui.log_skip == 40 - static_cast<std::size_t>(l.log_rows()));
  CHECK(ui.kv_skip == 30 - static_cast<std::size_t>(l.kv_rows()));
  CHECK(ui.events_skip > 0);
  CHECK(ui.events_skip < 100);
  // Down from the oldest page moves at once.
  ui.focus = pane::events;
  const std::size_t top = ui.events_skip;
  handle_key(ui, key::down, v);
  CHECK(ui.events_skip == top - 1);
}
