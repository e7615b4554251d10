// raftkv/net/transport.hpp: the peer transport: Raft messages between the
// nodes of one cluster over TCP, with fault hooks for tests and the TUI.
//
// One outbound connection per peer carries our messages to it; the peer's
// own outbound connection carries its messages to us (so every pair of nodes
// talks over two connections, each one-way after the handshake, as etcd's
// rafthttp streams do). The connecting side sends hello; the accepting side
// checks cluster id, node ids and protocol version and answers hello_ok or
// hello_refused with a reason. Frames are those of net/frame.hpp.
//
// Raft tolerates loss, duplication and reordering of messages (§5.3, §5.5), so
// the transport drops rather than blocks: send() enqueues into a bounded
// per-peer queue and returns at once; a full queue, a fault hook or a
// disconnected peer loses messages, counted in stats().
//
// Threading: every member function must be called on the executor passed to
// the constructor (the server's one io_context thread); on_message and log
// are invoked there too, and never after stop() returned (so they may capture
// objects that die with the transport). The coroutines share the state through
// a shared_ptr, so destroying the transport is safe while they wind down.
// Bodies in net/impl/transport.ipp, compiled once by lib/net_transport.cpp.
#pragma once

#include <raftkv/core/types.hpp>
#include <raftkv/net/frame.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace raftkv::net {

/// Everything that parameterises a transport.
struct transport_config {
  core::node_id self = core::no_node;  ///< this node's id (not 0)
  std::string cluster_id{};            ///< peers of another cluster are refused
  /// The other members and where they listen. An entry for `self` is ignored.
  std::map<core::node_id, boost::asio::ip::tcp::endpoint> peers{};
  boost::asio::ip::tcp::endpoint listen{};  ///< where start() listens; port 0 picks a free port
  std::size_t queue_messages_max = 4096;    ///< per-peer outbound queue bound, in messages
  std::size_t queue_bytes_max = std::size_t{64} << 20;  ///< per-peer outbound queue bound, in frame bytes
  std::size_t write_batch_bytes_max = std::size_t{1} << 20;  ///< bytes coalesced into one write (at least one frame)
  std::chrono::milliseconds reconnect_initial{50};  ///< first wait after a failed or lost connection
  std::chrono::milliseconds reconnect_max{1000};    ///< the wait doubles up to this
  double reconnect_jitter = 0.5;  ///< each wait is uniform in [w * (1 - jitter), w]; 0 <= jitter <= 1
  std::chrono::milliseconds handshake_timeout{2000};  ///< connect + hello + answer, either side
  std::chrono::milliseconds write_timeout{5000};      ///< one coalesced write; then the connection is dropped
  std::size_t max_frame_bytes = default_max_frame_bytes;  ///< bound on a frame's length field, both ways
  std::size_t delay_held_max = 4096;  ///< messages held by the delay fault; beyond, dropped and counted
  std::uint64_t seed = 1;             ///< seeds the PRNG of the drop fault and of the backoff jitter
  std::function<void(std::string_view)> log{};        ///< one line per event; may be empty
  std::function<void(core::message)> on_message{};    ///< each raft message received; may be empty
};

/// Directions a cut() applies to, seen from this node.
enum class direction : std::uint8_t {
  in = 1,    ///< messages from the peer are dropped on arrival
  out = 2,   ///< messages to the peer are dropped in send()
  both = 3,  ///< both
};

/// The fault hooks' current settings (for the status page).
struct fault_settings {
  bool isolated = false;               ///< every message in and out is dropped
  std::set<core::node_id> cut_in{};    ///< peers whose messages are dropped on arrival
  std::set<core::node_id> cut_out{};   ///< peers our messages to are dropped in send()
  std::uint32_t drop_per_mille = 0;    ///< chance (of 1000) that send() drops a message; <= 1000
  std::chrono::milliseconds delay{0};  ///< how long arriving messages are held before delivery
  friend bool operator==(const fault_settings&, const fault_settings&) = default;
};

/// Counters for one peer. "sent" and "received" count raft messages that
/// crossed the wire; drops are counted where they happen, never as sent.
struct peer_stats {
  bool connected = false;                ///< our outbound connection finished its handshake
  std::uint32_t inbound_connections = 0; ///< the peer's accepted connections to us right now
  std::uint64_t sent = 0;                ///< messages written to the outbound connection
  std::uint64_t received = 0;            ///< messages read from the peer (before fault drops)
  std::uint64_t dropped_queue_full = 0;  ///< send() found the queue at its message or byte bound
  std::uint64_t dropped_fault_out = 0;   ///< send() dropped it: isolate, cut out or drop_per_mille
  std::uint64_t dropped_fault_in = 0;    ///< dropped on arrival: isolate or cut in
  std::uint64_t bytes_out = 0;           ///< frame bytes written, handshake included
  std::uint64_t bytes_in = 0;            ///< frame bytes read after the peer was identified
  std::uint64_t reconnects = 0;          ///< outbound connection attempts after the first
  std::size_t queued = 0;                ///< messages waiting in the outbound queue
  std::string last_error{};              ///< the last outbound failure, or a refusal reason
};

/// A copy of every counter (stats()).
struct transport_stats {
  std::map<core::node_id, peer_stats> peers{};  ///< one entry per configured peer
  std::array<std::uint64_t, message_type_count> sent_by_type{};      ///< indexed by core::message_type
  std::array<std::uint64_t, message_type_count> received_by_type{};  ///< indexed by core::message_type
  std::uint64_t dropped_invalid = 0;     ///< send() refused: unknown or own destination, foreign `from`, oversized
  std::uint64_t dropped_delay_full = 0;  ///< arrivals dropped because delay_held_max were held
  std::size_t held = 0;                  ///< messages held by the delay fault right now
  std::uint64_t refused = 0;             ///< inbound handshakes refused
  std::uint64_t closed_malformed = 0;    ///< inbound connections closed for malformed input
};

namespace detail {
struct transport_state;
}  // namespace detail

/// The peer transport of one node. Not copyable or movable.
class transport {
 public:
  /// A stopped transport with `config`, running its work on `ex`.
  transport(boost::asio::any_io_executor ex, transport_config config);
  /// Calls stop().
  ~transport();
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// Listens on config.listen and starts connecting to every peer. Throws
  /// boost::system::system_error naming the address when it cannot listen.
  void start();
  /// Closes the listener and every connection, cancels every wait and drops
  /// held and queued messages; the coroutines finish on the executor. Idempotent.
  void stop();
  /// Where the transport listens (after start(); the real port if listen's was 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  /// Adds peer `id` or changes its address (used from the next connection
  /// attempt). Meant for tests and for configuration before start().
  void set_peer(core::node_id id, boost::asio::ip::tcp::endpoint endpoint);

  /// Enqueues `m` for `m.to` without blocking. False when dropped (counted in
  /// stats()): unknown peer, fault hooks, a full queue, or larger than a frame.
  bool send(core::message m);

  /// Drops every message in and out while `on` (connections stay up).
  void isolate(bool on);
  /// Drops messages from (in), to (out) or both ways with `peer` while `on`.
  void cut(core::node_id peer, direction d, bool on);
  /// Drops each message sent from now on with probability n/1000 (clamped to 1000).
  void drop_per_mille(std::uint32_t n);
  /// Holds each raft message that arrives from now on for `d` before delivery.
  void delay(std::chrono::milliseconds d);
  /// The current fault settings.
  fault_settings faults() const;

  /// A copy of every counter.
  transport_stats stats() const;

 private:
  std::shared_ptr<detail::transport_state> state_;  ///< shared with the coroutines; never null
};

}  // namespace raftkv::net
