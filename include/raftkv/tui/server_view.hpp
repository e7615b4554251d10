// raftkv/tui/server_view.hpp: the server TUI's view model, its input state,
// and the pure functions between them (bodies in tui/impl/server_view.ipp and
// tui/impl/server_render.ipp, compiled by lib/tui.cpp).
//
// The view model is built from the JSON of GET /v1/status (with ?log=&keys=),
// the one snapshot of a node that curl, the TUI and the client read. Rendering
// is `render(view, ui, screen)`: no terminal, no clock, no node; the program
// copies the screen to ncurses. Keys go through `handle_key`, which changes
// only the UI state and returns the action for the program to run.
#pragma once

#include <raftkv/tui/line_edit.hpp>
#include <raftkv/tui/screen.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace raftkv::tui {

/// One other member, as this node sees it.
struct peer_row {
  std::uint64_t id = 0;
  std::string address;
  bool connected = false;                     ///< our outbound link finished its handshake
  std::optional<std::uint64_t> last_contact_ms;  ///< since a message from it was delivered
  bool cut_in = false, cut_out = false;       ///< injected faults on this link
  std::uint64_t dropped = 0;                  ///< messages dropped (queue full or faults)
  std::string last_error;
  // Leader only (the Raft progress of this follower):
  bool has_progress = false;
  std::uint64_t match = 0, next = 0, inflight = 0;
  std::string state;                          ///< probe, replicate or snapshot
  bool recent_active = false;
  std::uint64_t snapshot_acked = 0, snapshot_bytes = 0;
};

struct log_row {
  std::uint64_t index = 0, term = 0;
  std::string command;        ///< in words
  bool noop = false;
  /// Set while the entry that used to be at this index was replaced recently.
  std::optional<std::string> replaced;  ///< "term 2: put x=1"
  std::uint64_t replaced_age_ms = 0;
};

struct kv_row {
  std::string key, value;
  std::uint64_t mod_revision = 0, version = 0;
  bool truncated = false;     ///< value cut for display
};

struct event_row {
  std::uint64_t seq = 0, term = 0, at_ms = 0;
  std::string kind, text;
};

/// Everything the server screen shows, from one status snapshot.
struct server_view {
  bool valid = false;                    ///< false until the first snapshot arrived
  std::uint64_t id = 0;
  std::string role;                      ///< follower, pre_candidate, candidate, leader
  std::uint64_t term = 0, vote = 0, leader = 0;
  std::uint64_t commit = 0, applied = 0, first_index = 0, last_index = 0, last_term = 0;
  std::uint64_t snapshot_index = 0, snapshot_term = 0;
  int election_elapsed = 0, election_timeout = 0, heartbeat_elapsed = 0, heartbeat_timeout = 0;
  int tick_ms = 0;
  std::uint64_t transfer_target = 0;
  std::string api_url, cluster_id, data_dir;
  std::uint64_t uptime_ms = 0;
  bool paused = false, isolated = false;
  std::uint64_t drop_per_mille = 0, delay_ms = 0;
  std::vector<peer_row> peers;
  std::vector<log_row> log;              ///< oldest first
  std::vector<std::string> removed;      ///< recently removed entries without a successor, in words
  std::uint64_t keys = 0, kv_skip = 0, revision = 0;
  std::vector<kv_row> items;
  std::optional<std::string> last_change;  ///< key of the newest applied write
  std::uint64_t last_change_age_ms = 0;
  std::vector<event_row> events;         ///< oldest first
  std::string fatal;
};

/// Builds the view from a /v1/status answer. Missing fields keep defaults;
/// anything that is not an object gives a view with valid == false.
server_view view_from_status(const nlohmann::json& status);

/// The panes that take focus (Tab cycles through them).
enum class pane : std::uint8_t { log, kv, peers, events };

/// What a key asks the program to do.
struct action {
  enum class kind : std::uint8_t {
    none, quit, campaign, transfer, snapshot, pause, resume, isolate, heal, cut, restore, drop, delay, command,
  };
  kind what = kind::none;
  std::uint64_t number = 0;   ///< transfer/cut/restore: the peer; drop: per mille; delay: ms
  std::string line;           ///< command: the text typed after ':'
  friend bool operator==(const action&, const action&) = default;
};


/// The UI's own state: focus, scroll positions, overlays and the prompt.
struct ui_state {
  pane focus = pane::events;
  std::size_t log_skip = 0;      ///< entries hidden below the log pane (0: newest shown)
  std::size_t kv_skip = 0;       ///< keys scrolled past at the top of the key pane
  std::size_t events_skip = 0;   ///< wrapped lines hidden below the events pane
  bool help = false;             ///< the help overlay is open
  enum class prompt : std::uint8_t { none, command, transfer, cut, drop, delay } prompting = prompt::none;
  std::string input;             ///< what is typed at the prompt
  std::size_t cursor = 0;        ///< byte offset of the cursor in `input`
  line_history history;          ///< command lines typed at ':'
  std::string flash;             ///< a one-line hint shown in the footer until the next key
};

/// Applies one key; returns what the program should run.
action handle_key(ui_state& ui, int k, const server_view& v);

/// How the screen is divided (exposed so the program asks for just the rows
/// it will draw, and tests can check the layout at 80x24).
struct layout {
  bool too_small = false;
  int peers_y = 0, peers_h = 0;
  int left_w = 0, mid_y = 0, mid_h = 0;
  int log_h = 0, kv_h = 0;       ///< frames of the left column, stacked
  int footer_y = 0;
  int log_rows() const { return log_h > 2 ? log_h - 2 : 0; }
  int kv_rows() const { return kv_h > 2 ? kv_h - 2 : 0; }
};
layout compute_layout(int width, int height, std::size_t peers);
inline constexpr int min_width = 60, min_height = 16;
/// How long the log pane flags an entry that replaced another term's entry.
inline constexpr std::uint64_t replaced_mark_ms = 30000;
/// How long the footer shows the answer to the last `:` command.
inline constexpr std::uint64_t command_answer_ms = 15000;

/// Keeps the scroll positions within what a `width` x `height` screen can
/// show of `v` (call after every key and every new snapshot).
void clamp_scroll(ui_state& ui, const server_view& v, int width, int height);

/// Draws the whole screen.
void render(const server_view& v, const ui_state& ui, screen& s);

}  // namespace raftkv::tui
