// raftkv/server/host.hpp: the runtime of one raftkv-server node (bodies in
// server/impl/host.ipp, compiled with Asio by lib/server_net.cpp).
//
// One io_context thread runs everything except disk syncs: the tick timer,
// the peer transport, the HTTP API, and the driver that feeds the replica's
// Ready cycle. Disk jobs that sync run on a storage::sync_thread and post
// their completion back, so sockets are served while an fsync runs; a job
// that only records a commit index (no sync) is written in place. Only that one thread
// touches the replica; HTTP handlers wait for their outcome on a per-request
// timer that the driver cancels when the outcome is known.
#pragma once

#include <raftkv/kv/command.hpp>
#include <raftkv/server/options.hpp>
#include <raftkv/server/replica.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace raftkv::net {
class transport;
}
namespace raftkv::storage {
class sync_thread;
}

namespace raftkv::server {

/// How a client operation ended.
enum class outcome {
  ok,               ///< done: applied (writes) or safe to read (reads)
  not_leader,       ///< not proposed here; the leader is known (redirect)
  no_leader,        ///< not proposed: no leader known (503, retry)
  busy,             ///< not proposed: overloaded or transferring (503, retry)
  outcome_unknown,  ///< proposed, then leadership was lost before it applied (504)
  timeout,          ///< not done within the request timeout (504; a write may still apply)
  read_failed,      ///< a linearizable read could not be confirmed (503, retry)
};

/// "ok", "not_leader", ...
const char* to_string(outcome o) noexcept;

/// The answer to a write.
struct write_answer {
  outcome result = outcome::ok;
  core::node_id leader = core::no_node;  ///< the leader hint (not_leader)
  core::entry_id entry{};                ///< where it went in the log (ok, outcome_unknown)
  kv::apply_result applied{};            ///< the state machine's answer (ok)
};

/// The answer to a read barrier: once ok, the local state machine may be read.
struct read_answer {
  outcome result = outcome::ok;
  core::node_id leader = core::no_node;
  core::index_t read_index = 0;  ///< linearizable: the confirmed commit index waited for
};

/// What GET /v1/status includes besides the node's Raft state. The TUI asks
/// for the log and key windows it draws; curl users add ?log=N&keys=N.
struct status_query {
  static constexpr std::size_t max_events_kept = 500;  ///< the timeline keeps this many lines
  std::size_t events = 50;     ///< newest timeline lines (at most max_events_kept)
  std::size_t log = 0;         ///< newest log entries, each with its command in words
  std::size_t log_skip = 0;    ///< ...ending this many entries before the last one
  std::size_t keys = 0;        ///< keys of the state machine in byte order, with values
  std::size_t keys_skip = 0;   ///< ...after skipping this many keys
  static constexpr std::size_t max_window = 1000;     ///< bound of `keys`
  static constexpr std::size_t max_log_window = 100;  ///< bound of `log`
  static constexpr std::uint64_t log_window_bytes_max = 4u << 20;  ///< log window: command bytes copied at most
};

/// A line of the log with its severity.
using log_sink = std::function<void(std::string_view line)>;

/// One node: replica + transport + timers; the HTTP API calls into it.
class host {
 public:
  /// Opens the data directory (throws storage::storage_error) and binds the
  /// peer port (throws boost::system::system_error naming the address).
  host(boost::asio::any_io_executor ex, const server_options& opts, log_sink log);
  ~host();
  host(const host&) = delete;
  host& operator=(const host&) = delete;

  /// Starts ticking and talking to peers.
  void start();
  /// Stops timers, the transport and waits for the disk thread. Pending
  /// requests are finished as `timeout`; they are answered only if the
  /// io_context keeps running (raftkv-server stops it, so their connections
  /// just close).
  void stop();
  /// Set when the disk failed: the process must exit (never retry an fsync).
  const std::optional<std::string>& fatal_error() const { return fatal_; }
  /// Called (once) when fatal_error() becomes set.
  void on_fatal(std::function<void()> f) { on_fatal_ = std::move(f); }

  // -- client operations (call on the io thread) ------------------------------

  /// Proposes `cmd` and waits until it is applied (or fails).
  boost::asio::awaitable<write_answer> write(kv::command cmd);
  /// Linearizable read barrier (§6.4 ReadIndex, through the leader when we follow).
  boost::asio::awaitable<read_answer> read_barrier();
  const kv::state_machine& state() const { return rep_->state(); }
  const core::node& raft() const { return rep_->raft(); }
  const server_options& options() const { return opts_; }
  /// "http://host:port" of a node's client API.
  std::string api_url(core::node_id node) const;
  /// Where this node's client API listens (our address, our API port).
  boost::asio::ip::tcp::endpoint api_endpoint() const;

  // -- admin ------------------------------------------------------------------

  // Each admin action adds a line to the timeline (kind "action" or "fault"),
  // so whoever watches the node sees what was done to it.

  result<void> campaign();
  result<void> transfer(core::node_id to);
  bool snapshot_now();
  void pause(bool on);
  bool paused() const { return paused_; }
  /// Drops every peer message in and out (on) / undoes every network fault (off: heal).
  void isolate(bool on);
  /// Cuts (on) or restores the link to `peer`, incoming and/or outgoing messages.
  void cut(core::node_id peer, bool in, bool out, bool on);
  /// Drops `per_mille`/1000 of the outgoing peer messages (0..1000).
  void drop_per_mille(std::uint32_t per_mille);
  /// Holds incoming peer messages `ms` milliseconds before delivering them.
  void delay(std::chrono::milliseconds ms);
  net::transport& transport() { return *net_; }

  // -- observation --------------------------------------------------------------

  /// GET /v1/status: the one snapshot of this node that curl, the TUI and
  /// the client's cluster pane all read.
  nlohmann::json status_json(const status_query& q = {}) const;
  /// Adds a line to the timeline: `kind` is "action", "fault", "command", ...
  void note(std::string kind, std::string text);
  /// GET /metrics (Prometheus text format).
  std::string metrics_text() const;
  /// Counts an HTTP answer for /metrics.
  void count_http(unsigned status) { ++http_by_status_[status]; }
  /// Counts a client connection closed at once: --max-connections were open.
  void count_connection_refused() { ++connections_refused_; }
  void log(std::string_view line) const;

 private:
  struct waiter;
  struct pending_write {
    core::term_t term = 0;
    std::shared_ptr<waiter> w;
  };

  boost::asio::awaitable<void> tick_loop();
  void on_peer_message(core::message m);
  void pump();
  void on_written(std::optional<std::string> error, double write_ms);
  void finish_cycle(std::optional<std::string> error, double write_ms);
  void complete_writes(const finish_result& out);
  void complete_reads(const core::ready& rd);
  void serve_parked_reads();
  void note_ready(const core::ready& rd);
  void fail(std::string why);

  boost::asio::any_io_executor ex_;
  server_options opts_;
  log_sink log_;
  std::unique_ptr<replica> rep_;
  std::unique_ptr<net::transport> net_;
  std::unique_ptr<storage::sync_thread> disk_;
  boost::asio::steady_timer tick_timer_;
  std::optional<cycle> cycle_;           ///< the Ready whose disk job is running
  bool lost_leadership_ = false;         ///< cycle_'s Ready says we stopped leading
  bool paused_ = false;                  ///< no ticks, peer messages dropped
  bool stopped_ = false;
  std::optional<std::string> fatal_;
  std::function<void()> on_fatal_;

  std::map<core::index_t, pending_write> writes_;   ///< proposals waiting to apply, by log index
  std::map<std::uint64_t, std::shared_ptr<waiter>> reads_;  ///< ReadIndex contexts in flight
  std::multimap<core::index_t, std::shared_ptr<waiter>> parked_reads_;  ///< confirmed, waiting to apply
  /// ReadIndex contexts must be unique over the node's life, restarts
  /// included (a late answer is matched by context): start at a random point.
  std::uint64_t next_read_context_ = 0;

  // Observation.
  std::uint64_t now_ms() const;  ///< milliseconds since started_
  nlohmann::json log_window(const status_query& q) const;
  void note_overwrites(const std::vector<core::entry>& entries);
  void note_applied(const core::ready& rd, const finish_result& out);

  struct event_line {
    std::uint64_t at_ms = 0;   ///< since started_
    core::term_t term = 0;     ///< our term then
    std::string kind;          ///< a core::event_kind name, or "action", "fault", "command"
    std::string text;
  };
  std::deque<event_line> events_;        ///< the last max_events_kept lines, oldest first
  /// Log entries replaced by a new leader's (§5.3), newest last; the TUI flags them for a moment.
  struct overwrite {
    core::index_t index = 0;
    core::term_t old_term = 0;
    core::term_t new_term = 0;         ///< 0: removed, nothing at that index now
    std::string old_command;           ///< described in words
    std::uint64_t at_ms = 0;
  };
  std::deque<overwrite> overwritten_;    ///< at most max_overwrites_kept
  static constexpr std::size_t max_overwrites_kept = 64;
  /// The key the newest applied write changed.
  struct change {
    std::string key;
    std::uint64_t revision = 0;
    std::uint64_t at_ms = 0;
  };
  std::optional<change> last_change_;
  std::map<core::node_id, std::uint64_t> last_heard_ms_;  ///< now_ms() of the last message delivered from each peer
  std::uint64_t event_seq_ = 0;          ///< lines ever added to events_ (numbers them for readers)
  std::uint64_t proposals_ = 0, proposals_refused_ = 0, elections_ = 0, leader_changes_ = 0;
  std::uint64_t committed_ = 0, peer_messages_in_ = 0, peer_messages_dropped_paused_ = 0;
  std::map<unsigned, std::uint64_t> http_by_status_;
  std::uint64_t connections_refused_ = 0;  ///< see count_connection_refused()
  static constexpr std::array<double, 10> fsync_buckets_ms_{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 100, 1000};
  std::array<std::uint64_t, 11> fsync_hist_{};   ///< per bucket, the last is +Inf
  double fsync_sum_ms_ = 0;
  std::uint64_t fsync_count_ = 0;
  core::node_id last_leader_ = core::no_node;
  std::chrono::steady_clock::time_point started_;
  /// Disk completions hold a weak_ptr to it: once the host is gone they do nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace raftkv::server
