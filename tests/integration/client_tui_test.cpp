// The client TUI for real: raftkv-client in a private tmux server against
// three headless servers. Checks the cluster pane, a put's trace, and that
// after the leader is killed a put still succeeds and its trace shows the
// failed hop to the old leader followed by the node that answered.
#include "integration/cluster.hpp"
#include "integration/tmux.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

namespace {

using namespace raftkv::itest;

/// The transcript's text from "raftkv> <line>" to the next prompt, joined
/// across wrapped rows (frame characters removed).
std::string answer_to(const std::string& screen, const std::string& line) {
  std::string flat;
  std::size_t from = 0;
  while (from < screen.size()) {
    std::size_t nl = screen.find('\n', from);
    if (nl == std::string::npos) nl = screen.size();
    std::string row = screen.substr(from, nl - from);
    // Drop the frame: "│ ... │".
    if (row.rfind("│", 0) == 0) row = row.substr(std::string("│").size());
    const auto end = row.rfind("│");
    if (end != std::string::npos) row = row.substr(0, end);
    while (!row.empty() && row.back() == ' ') row.pop_back();
    while (!row.empty() && row.front() == ' ') row.erase(0, 1);
    flat += row + " ";
    from = nl + 1;
  }
  const std::string prompt = "raftkv> " + line;
  const auto at = flat.rfind(prompt);
  if (at == std::string::npos) return {};
  const auto next = flat.find("raftkv> ", at + prompt.size());
  return flat.substr(at + prompt.size(), next == std::string::npos ? std::string::npos : next - at - prompt.size());
}

}  // namespace

TEST_CASE("the client TUI: cluster pane, a put's trace, and the redirect trace after the leader is killed") {
  if (!tmux_session::available()) FAIL("tmux is not installed (scripts/test.sh installs it)");
  cluster c(3);
  const std::uint64_t leader = c.wait_for_leader();
  REQUIRE(leader != 0);
  std::string peers;
  for (std::uint64_t id = 1; id <= 3; ++id) {
    peers += (id == 1 ? "" : ",") + std::string("127.0.0.1:") + std::to_string(c.api_port(id));
  }
  tmux_session t(120, 40);
  t.open("client", shell_quote(client_binary()) + " --peers " + peers);

  const std::string want_leader = "leader: node " + std::to_string(leader);
  CHECK(eventually([&] { return t.capture("client").find(want_leader) != std::string::npos; }, screen_wait, screen_poll));
  CAPTURE(t.capture("client"));

  t.type("client", "put before kill");
  t.enter("client");
  std::string a;
  CHECK(eventually([&] {
    a = answer_to(t.capture("client"), "put before kill");
    return a.find("200 OK") != std::string::npos;
  }, screen_wait, screen_poll));
  CAPTURE(a);
  CHECK(a.find("→ node ") != std::string::npos);

  // The client now knows the leader; kill it, then write again.
  c.kill(leader);
  t.type("client", "put after kill");
  t.enter("client");
  CHECK(eventually([&] {
    a = answer_to(t.capture("client"), "put after kill");
    return a.find("200 OK") != std::string::npos;
  }, std::chrono::seconds(20), screen_poll));
  CAPTURE(t.capture("client"));
  CAPTURE(a);
  // The first hop went to the dead leader and failed; a later one answered.
  const std::string dead = "→ node " + std::to_string(leader) + ": ";
  const auto first = a.find(dead);
  REQUIRE(first != std::string::npos);
  CHECK(a.find("200 OK", first) != std::string::npos);
  CHECK(a.substr(first, a.find(" →", first + 1) - first).find("200") == std::string::npos);

  // The value is there, read through the TUI too.
  t.type("client", "get after");
  t.enter("client");
  CHECK(eventually([&] { return answer_to(t.capture("client"), "get after").find("kill") != std::string::npos; }, screen_wait, screen_poll));
}
