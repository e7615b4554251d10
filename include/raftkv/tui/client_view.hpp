// raftkv/tui/client_view.hpp: the client TUI's view model, keys and pure
// rendering (bodies in tui/impl/client_view.ipp, compiled by lib/tui.cpp).
//
// The screen: a cluster pane (one row per node from its polled /v1/status),
// the transcript of commands with their output and the trace of each
// request's hops, and the input line. The program fills the view from the
// client library's answers; render() only draws it.
#pragma once

#include <raftkv/tui/line_edit.hpp>
#include <raftkv/tui/screen.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace raftkv::tui {

/// One node as the client's last poll saw it.
struct cluster_row {
  std::string target;          ///< "127.0.0.1:7001"
  bool polled = false;         ///< a poll finished (reachable or not)
  bool reachable = false;
  std::string error;           ///< why not reachable
  std::uint64_t id = 0, term = 0, leader = 0, commit = 0, applied = 0, last_index = 0;
  std::string role;            ///< follower, pre_candidate, candidate, leader
  double ms = 0;               ///< how long the poll took
};

/// A row from a node's /v1/status answer (`status` may be anything).
cluster_row cluster_row_from_status(std::string target, bool reachable, std::string error,
                                    const nlohmann::json& status, double ms);

/// One command in the transcript.
struct transcript_entry {
  std::string line;            ///< what was typed
  bool done = false;           ///< false while the request is in flight
  int code = 0;                ///< the one-shot exit code it would have (0 ok)
  std::vector<std::string> out;  ///< output lines
  std::string err;             ///< the error line, if it failed
  std::string trace;           ///< the hops so far: "→ node 1: 307 not leader (hint 3) → ..."
};

struct client_view {
  std::vector<cluster_row> nodes;
  std::deque<transcript_entry> transcript;   ///< oldest first; at most max_transcript
  static constexpr std::size_t max_transcript = 500;
};

/// The client screen's own state.
struct client_ui {
  std::string input;
  std::size_t cursor = 0;
  line_history history;
  std::size_t scroll = 0;      ///< transcript lines hidden below (0: newest shown)
};

/// What a key asks for.
struct client_action {
  enum class kind : std::uint8_t { none, run, quit } what = kind::none;
  std::string line;            ///< run: the command line
  friend bool operator==(const client_action&, const client_action&) = default;
};

/// Applies one key. Typing always works, also while requests are in flight.
client_action handle_client_key(client_ui& ui, int k);

/// Draws the client screen (at least 40x10; smaller says so).
void render(const client_view& v, const client_ui& ui, screen& s);

/// The transcript's wrapped lines at `width` (for scrolling bounds and tests).
std::size_t transcript_lines(const client_view& v, int width);

}  // namespace raftkv::tui
