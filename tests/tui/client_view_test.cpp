// The client TUI without a terminal: cluster rows from status answers, the
// transcript with traces, the input line and its keys.
#include <raftkv/tui/client_view.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace raftkv::tui;
using nlohmann::json;

namespace {

client_view three_nodes() {
  client_view v;
  v.nodes.push_back(cluster_row_from_status("127.0.0.1:7001", true, "",
                                            json{{"id", 1}, {"role", "follower"}, {"term", 3}, {"leader", 3},
                                                 {"commit", 42}, {"applied", 42}},
                                            0.4));
  v.nodes.push_back(cluster_row_from_status("127.0.0.1:7002", false, "connection refused", json(), 0.2));
  v.nodes.push_back(cluster_row_from_status("127.0.0.1:7003", true, "",
                                            json{{"id", 3}, {"role", "leader"}, {"term", 3}, {"leader", 3},
                                                 {"commit", 42}, {"applied", 41}},
                                            0.3));
  return v;
}

screen draw(const client_view& v, const client_ui& ui, int w = 80, int h = 24) {
  screen s(w, h);
  render(v, ui, s);
  return s;
}

}  // namespace

TEST_CASE("cluster rows come from status answers; an unreachable node says why") {
  const client_view v = three_nodes();
  CHECK(v.nodes[0].reachable);
  CHECK(v.nodes[0].id == 1);
  CHECK(v.nodes[0].commit == 42);
  CHECK_FALSE(v.nodes[1].reachable);
  CHECK_FALSE(cluster_row_from_status("x", true, "", json::array(), 1).reachable);  // not an object
  const screen s = draw(v, client_ui{});
  CAPTURE(s.text());
  CHECK(s.row(0).find("leader: node 3 (127.0.0.1:7003, term 3)") != std::string::npos);
  CHECK(s.contains("unreachable: connection refused"));
  CHECK(s.contains("leader"));
  CHECK(s.contains("Type a command"));
}

TEST_CASE("no leader among the answers is said in the title") {
  client_view v = three_nodes();
  v.nodes[2].role = "candidate";
  CHECK(draw(v, client_ui{}).row(0).find("no leader known") != std::string::npos);
}

TEST_CASE("the transcript shows commands, output, errors and each request's hops") {
  client_view v = three_nodes();
  v.transcript.push_back({"put a 1", true, 0, {"OK revision 5"}, "",
                          "→ node 1: 307 not leader (hint 3) → node 3: 200 OK rev 5 · 3.1 ms"});
  v.transcript.push_back({"get nope", true, 3, {}, "not found: nope", "→ node 3: 404 key_not_found · 1.0 ms"});
  v.transcript.push_back({"put b 2", false, 0, {}, "", "→ node 3: connection refused (retry in 80 ms)"});
  const screen s = draw(v, client_ui{});
  CAPTURE(s.text());
  CHECK(s.contains("raftkv> put a 1"));
  CHECK(s.contains("OK revision 5"));
  CHECK(s.contains("→ node 1: 307 not leader (hint 3) → node 3: 200 OK rev 5"));
  CHECK(s.contains("not found: nope"));
  CHECK(s.contains("… → node 3: connection refused"));
  CHECK(s.row(23).find("1 request(s) in flight; keep typing") != std::string::npos);
}

TEST_CASE("the input line edits, runs on Enter, recalls history, and quits on Ctrl+C") {
  client_ui ui;
  for (char c : std::string("get a")) CHECK(handle_client_key(ui, c) == client_action{});
  const screen s = draw(three_nodes(), ui);
  CHECK(s.row(22).find("raftkv> get a") == 0);
  CHECK(handle_client_key(ui, key::enter) == client_action{client_action::kind::run, "get a"});
  CHECK(ui.input.empty());
  CHECK(handle_client_key(ui, key::enter) == client_action{});  // empty line: nothing
  handle_client_key(ui, key::up);
  CHECK(ui.input == "get a");
  handle_client_key(ui, key::escape);
  CHECK(ui.input.empty());
  CHECK(handle_client_key(ui, 4).what == client_action::kind::quit);  // Ctrl+D on an empty line
  handle_client_key(ui, 'x');
  CHECK(handle_client_key(ui, 4).what == client_action::kind::none);
  CHECK(handle_client_key(ui, key::ctrl_c).what == client_action::kind::quit);
}

TEST_CASE("a long input line scrolls to keep the cursor visible") {
  client_ui ui;
  for (int i = 0; i < 100; ++i) handle_client_key(ui, 'a' + i % 26);
  const screen s = draw(three_nodes(), ui);
  CHECK(s.row(22).find("raftkv> ") == 0);
  CHECK(s.at(79, 22).st.reverse);  // the cursor sits in the last column
}

TEST_CASE("PgUp scrolls the transcript back and PgDn returns") {
  client_view v = three_nodes();
  for (int i = 0; i < 40; ++i) v.transcript.push_back({"get k" + std::to_string(i), true, 0, {"v"}, "", ""});
  client_ui ui;
  CHECK(draw(v, ui).contains("raftkv> get k39"));
  handle_client_key(ui, key::page_up);
  handle_client_key(ui, key::page_up);
  handle_client_key(ui, key::page_up);
  screen s = draw(v, ui);
  CHECK_FALSE(s.contains("raftkv> get k39"));
  CHECK(s.contains("scrolled back"));
  for (int i = 0; i < 3; ++i) handle_client_key(ui, key::page_down);
  CHECK(draw(v, ui).contains("raftkv> get k39"));
  CHECK(transcript_lines(v, 76) == 80);
}
