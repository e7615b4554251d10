// The server TUI for real: three raftkv-server processes in a private tmux
// server, read back with `tmux capture-pane`. Checks that roles, terms, log
// entries and keys appear; that all three panes show the same committed
// entries after a put (one typed into a follower's ':' prompt); and that after
// the leader is killed another pane shows a new leader in a higher term.
#include "integration/cluster.hpp"
#include "integration/tmux.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

namespace {

using namespace raftkv::itest;

/// Three raftkv-server TUIs, one tmux window each ("n1".."n3").
class tmux_cluster {
 public:
  explicit tmux_cluster(std::size_t n) : tmux_(110, 32), ports_(free_peer_ports(n)) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!peers_.empty()) peers_ += ",";
      peers_ += std::to_string(i + 1) + "=127.0.0.1:" + std::to_string(ports_[i]);
    }
    for (std::uint64_t id = 1; id <= n; ++id) {
      tmux_.open(name(id), shell_quote(server_binary()) + " --id " + std::to_string(id) + " --peers " + peers_ +
                               " --data-dir " + shell_quote((tmux_.dir() / name(id)).string()) +
                               " --tick-ms 50 --heartbeat-ticks 2 --election-ticks 10");
    }
  }
  static std::string name(std::uint64_t id) { return "n" + std::to_string(id); }
  void kill(std::uint64_t id) { tmux_.kill(name(id)); }
  std::string capture(std::uint64_t id) const { return tmux_.capture(name(id)); }
  void keys(std::uint64_t id, const std::string& literal) const { tmux_.type(name(id), literal); }
  void enter(std::uint64_t id) const { tmux_.enter(name(id)); }
  std::uint16_t api_port(std::uint64_t id) const { return static_cast<std::uint16_t>(ports_[id - 1] + 1000); }

 private:
  tmux_session tmux_;
  std::vector<std::uint16_t> ports_;
  std::string peers_;
};

struct pane_state {
  std::string role;
  std::uint64_t term = 0;
};

/// Role and term from the header row of a pane.
pane_state header_of(const std::string& screen) {
  static const std::regex head(R"(raftkv node \d+\s+(LEADER|FOLLOWER|CANDIDATE|PRE-CANDIDATE)\s+term (\d+))");
  std::smatch m;
  if (!std::regex_search(screen, m, head)) return {};
  return {m[1].str(), std::stoull(m[2].str())};
}

/// The log pane's entries ("● 3 t1 put a=b") in a capture.
std::vector<std::string> applied_entries(const std::string& screen) {
  static const std::regex line(R"(│● (\d+ t\d+ [^│]*?)\s*│)");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(screen.begin(), screen.end(), line); it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

}  // namespace

TEST_CASE("three server TUIs in tmux: roles, terms, the same committed log, and a new leader after a kill") {
  if (!tmux_session::available()) FAIL("tmux is not installed (scripts/test.sh installs it)");
  tmux_cluster c(3);

  std::uint64_t leader = 0, term = 0;
  REQUIRE(eventually([&] {
    int leaders = 0, followers = 0;
    for (std::uint64_t id = 1; id <= 3; ++id) {
      const pane_state p = header_of(c.capture(id));
      if (p.role == "LEADER") ++leaders, leader = id, term = p.term;
      if (p.role == "FOLLOWER") ++followers;
    }
    return leaders == 1 && followers == 2;
  }, std::chrono::seconds(20), screen_poll));
  CAPTURE(c.capture(leader));
  CHECK(term >= 1);

  // A put through the HTTP API, and one typed into a follower's command line.
  // Leadership may move between the capture and the write: try each node.
  REQUIRE(eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) {
      if (http(c.api_port(id), "PUT", "/v1/kv/greeting", "hello").status == 200) return true;
    }
    return false;
  }, screen_wait, screen_poll));
  const std::uint64_t follower = leader == 1 ? 2 : 1;
  c.keys(follower, ":put typed from-the-tui");
  c.enter(follower);

  std::vector<std::string> logs[3];
  const bool same = eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) logs[id - 1] = applied_entries(c.capture(id));
    const auto has = [](const std::vector<std::string>& l, const std::string& s) {
      for (const auto& e : l) {
        if (e.find(s) != std::string::npos) return true;
      }
      return false;
    };
    for (const auto& l : logs) {
      if (!has(l, "put greeting=hello") || !has(l, "put typed=from-the-tui")) return false;
    }
    return logs[0] == logs[1] && logs[1] == logs[2];
  }, std::chrono::seconds(15), screen_poll);
  CAPTURE(c.capture(1));
  CAPTURE(c.capture(2));
  CAPTURE(c.capture(3));
  CHECK(same);
  for (std::uint64_t id = 1; id <= 3; ++id) {
    const std::string s = c.capture(id);
    CHECK(s.find("greeting = hello") != std::string::npos);
    CHECK(s.find("typed = from-the-tui") != std::string::npos);
  }
  // The follower's timeline shows where its put went: redirected to the leader.
  CHECK(eventually([&] {
    const std::string s = c.capture(follower);
    return s.find("307 not") != std::string::npos || s.find("not leader") != std::string::npos;
  }, screen_wait, screen_poll));

  c.kill(leader);
  std::uint64_t new_leader = 0, new_term = 0;
  CHECK(eventually([&] {
    for (std::uint64_t id = 1; id <= 3; ++id) {
      if (id == leader) continue;
      const pane_state p = header_of(c.capture(id));
      if (p.role == "LEADER") new_leader = id, new_term = p.term;
    }
    return new_leader != 0;
  }, std::chrono::seconds(20), screen_poll));
  CAPTURE(new_leader == 0 ? std::string() : c.capture(new_leader));
  CHECK(new_term > term);
}
