// The transport's shared state and its synchronous helpers (delivery, the
// delay fault); the coroutines and member functions are in transport_io.ipp.
// Both compiled once by lib/net_transport.cpp, the only translation unit that
// instantiates the transport's coroutines.
//
// Coroutines (GCC 12 rules of shared/STYLE.md): parameters by value (the
// shared state and the connection as shared_ptr), one co_await per statement
// with the awaitables hoisted into locals, as_tuple where failure is normal
// (peer down, eof, timeout), co_spawn with a completion handler that logs.
#pragma once

#include <raftkv/net/transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <random>
#include <utility>
#include <variant>
#include <vector>

namespace raftkv::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace detail {

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// "127.0.0.1:7001".
inline std::string to_string(const tcp::endpoint& ep) {
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

/// One TCP connection, either direction.
struct connection {
  connection(asio::any_io_executor ex, std::size_t max_frame_bytes)
      : socket(ex), deadline(ex), decoder(max_frame_bytes) {}

  /// Closes the socket once; pending operations complete with an error.
  void close() {
    if (closed) return;
    closed = true;
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  tcp::socket socket;          ///< open until close()
  asio::steady_timer deadline; ///< the handshake's or a write's deadline; raced with IO
  frame_decoder decoder;       ///< bytes read and not yet returned as frames
  std::array<char, 64 * 1024> buf{};  ///< one socket read; bounds what a feed() adds
  std::string remote{};        ///< the remote address, for log lines
  core::node_id peer = core::no_node;  ///< the peer, once its hello was accepted (inbound) or sent (outbound)
  bool closed = false;         ///< set by close(); never cleared
};

/// An encoded raft frame waiting for its peer's writer.
struct queued_frame {
  std::string bytes{};
  core::message_type type{};
};

/// One peer: its outbound queue and connection, and its counters.
struct peer_state {
  peer_state(asio::any_io_executor ex, core::node_id id_, tcp::endpoint ep)
      : id(id_), endpoint(ep), wake(ex), retry(ex) {}

  core::node_id id;              ///< never changes
  tcp::endpoint endpoint;        ///< where to connect; set_peer() may change it
  std::deque<queued_frame> queue{};  ///< size <= queue_messages_max; pushed by send(), popped by the writer
  std::size_t queue_bytes = 0;   ///< sum of queue's frame sizes; <= queue_bytes_max unless one frame
  asio::steady_timer wake;       ///< the idle writer waits on it; send() and stop() cancel it
  asio::steady_timer retry;      ///< the reconnect backoff; stop() cancels it
  std::shared_ptr<connection> conn{};  ///< the outbound connection being set up or used, or null
  bool running = false;          ///< a run_peer coroutine exists for this peer
  peer_stats stats{};            ///< counters (queued is filled in by stats())
  std::string last_logged{};     ///< the last outbound failure logged; repeats are not logged
};

/// A raft message held by the delay fault until `due`.
struct held_message {
  std::chrono::steady_clock::time_point due{};
  core::message msg{};
};

/// Everything the transport's coroutines share; lives as long as any of them.
struct transport_state {
  transport_state(asio::any_io_executor ex_, transport_config cfg_)
      : ex(ex_), cfg(std::move(cfg_)), acceptor(ex_), delay_timer(ex_), rng(cfg.seed) {}

  /// Logs `line` with the node id; silent after stop() (see transport.hpp).
  void log(std::string_view line) const {
    if (cfg.log && !stopped) cfg.log("net[" + std::to_string(cfg.self) + "]: " + std::string(line));
  }
  peer_state* find_peer(core::node_id id) {
    auto it = peers.find(id);
    return it == peers.end() ? nullptr : it->second.get();
  }

  asio::any_io_executor ex;  ///< where every coroutine and callback runs
  transport_config cfg;      ///< as constructed; cfg.peers is not updated by set_peer()
  tcp::acceptor acceptor;    ///< open between start() and stop()
  std::map<core::node_id, std::unique_ptr<peer_state>> peers{};  ///< never erased: references stay valid
  std::map<std::uint64_t, std::shared_ptr<connection>> inbound{};  ///< accepted connections, by serial
  std::uint64_t next_inbound = 0;  ///< serial of the next accepted connection
  fault_settings faults{};         ///< changed only by the fault hooks
  std::deque<held_message> held{}; ///< FIFO; size <= delay_held_max; non-empty iff delay_timer is armed
  asio::steady_timer delay_timer;  ///< fires when held.front() is due
  std::mt19937_64 rng;             ///< drop fault and jitter; seeded by cfg.seed
  transport_stats totals{};        ///< the counters not kept per peer (peers is filled by stats())
  bool started = false;            ///< start() succeeded
  bool stopped = false;            ///< stop() ran; never cleared
};

/// The completion handler of every co_spawn: logs an escaped exception.
inline auto log_failure(std::shared_ptr<transport_state> s, std::string what) {
  return [s, what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      s->log(what + " failed: " + x.what());
    }
  };
}

/// Hands `m` to on_message; an exception from it is logged, never propagated.
inline void deliver(const std::shared_ptr<transport_state>& s, core::message m) {
  if (!s->cfg.on_message || s->stopped) return;
  try {
    s->cfg.on_message(std::move(m));
  } catch (const std::exception& x) {
    s->log(std::string("on_message threw: ") + x.what());
  }
}

/// Delivers every held message that is due, then waits for the next one.
inline void arm_delay(std::shared_ptr<transport_state> s);

inline void deliver_due(const std::shared_ptr<transport_state>& s) {
  const auto now = std::chrono::steady_clock::now();
  while (!s->stopped && !s->held.empty() && s->held.front().due <= now) {
    core::message m = std::move(s->held.front().msg);
    s->held.pop_front();
    deliver(s, std::move(m));
  }
  if (!s->stopped && !s->held.empty()) arm_delay(s);
}

inline void arm_delay(std::shared_ptr<transport_state> s) {
  s->delay_timer.expires_at(s->held.front().due);
  s->delay_timer.async_wait([s](error_code ec) {
    if (ec || s->stopped) return;
    deliver_due(s);
  });
}

/// A raft message `m` arrived from `p`: the in-faults, then the delay, then on_message.
inline void receive(const std::shared_ptr<transport_state>& s, peer_state& p, core::message m) {
  ++p.stats.received;
  ++s->totals.received_by_type[static_cast<std::size_t>(m.type)];
  if (s->faults.isolated || s->faults.cut_in.contains(p.id)) {
    ++p.stats.dropped_fault_in;
    return;
  }
  if (s->faults.delay.count() > 0) {
    if (s->held.size() >= s->cfg.delay_held_max) {
      ++s->totals.dropped_delay_full;
      return;
    }
    s->held.push_back({std::chrono::steady_clock::now() + s->faults.delay, std::move(m)});
    if (s->held.size() == 1) arm_delay(s);
    return;
  }
  deliver(s, std::move(m));
}

}  // namespace detail
}  // namespace raftkv::net
