// tests/integration/playground.hpp: the real playground (scripts/playground.sh)
// started detached on its own tmux socket, free loopback ports and a temp data
// directory, driven the way a learner drives it: keys into panes, plus the
// shell window's curl. The destructor runs `playground.sh stop`, then kills
// the tmux server and SIGKILLs every process whose command line names the
// temp directory, also when a check failed.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

namespace raftkv::itest {

struct playground_options {
  int nodes = 3;
  bool slow = false;
  std::string size = "200x50";  ///< the session's size (panes at 200x50, windows below 121 columns)
};

/// The checkout's root (RAFTKV_SOURCE_DIR).
std::string source_dir();
/// scripts/playground.sh in it.
std::string playground_script();

class playground {
 public:
  explicit playground(playground_options o = {});
  ~playground();
  playground(const playground&) = delete;
  playground& operator=(const playground&) = delete;

  /// Runs scripts/playground.sh with `args` and this playground's
  /// environment; returns whether it exited 0, and what it printed.
  std::pair<bool, std::string> script(const std::string& args) const;
  /// The tmux command prefix for this playground's server ("tmux -S ...").
  std::string tmux() const;

  /// The pane of `role` ("node1".."node5", "client", "shell"), e.g. "%3".
  std::string pane(const std::string& role) const;
  /// The visible text of that pane.
  std::string capture(const std::string& role) const;
  /// The pane's text as one line: box borders dropped, lines joined with
  /// spaces, runs of spaces squeezed (for single-column text that wraps).
  std::string flat(const std::string& role) const;
  /// Types `literal` into the pane.
  void type(const std::string& role, const std::string& literal) const;
  /// Presses tmux key names ("Enter", "C-c", "Escape").
  void keys(const std::string& role, const std::string& names) const;
  /// Types `literal`, then Enter.
  void line(const std::string& role, const std::string& literal) const;
  /// Waits until the pane shows `text` (flat() when `flatten`).
  bool shows(const std::string& role, const std::string& text, bool flatten = false,
             std::chrono::milliseconds limit = std::chrono::seconds(20)) const;

  int nodes() const { return nodes_; }
  std::uint16_t peer_port(int id) const { return static_cast<std::uint16_t>(base_ + id - 1); }
  std::uint16_t api_port(int id) const { return static_cast<std::uint16_t>(base_ + id - 1 + 1000); }
  /// GET /v1/status?events=500 of node `id` (discarded when unreachable).
  nlohmann::json status(int id) const;
  /// The newest of node `id`'s last 500 events that contains `text` ("" if none).
  std::string event(int id, const std::string& text) const;
  /// True when node `id`'s last 500 events include one containing `text`.
  bool has_event(int id, const std::string& text) const;
  /// Waits until every node in `among` (default: all) that answers names the
  /// same leader, which answers as leader; returns it, 0 on timeout.
  int leader(std::chrono::milliseconds limit = std::chrono::seconds(20), int except = 0) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  /// Stops the playground and removes its directory (destructor, failed constructor).
  void cleanup();
  std::string env_;  ///< the environment playground.sh runs with
  int nodes_;
  int base_ = 0;
  std::filesystem::path dir_;
};

}  // namespace raftkv::itest
