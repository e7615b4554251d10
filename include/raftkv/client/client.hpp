// raftkv/client/client.hpp: the smart client of a raftkv cluster (Boost.Asio
// coroutines; bodies in client/impl/client.ipp, compiled with Beast by
// lib/client.cpp). docs/client.md has the policy and an example.
//
//   raftkv::client::client c(io.get_executor(), {.peers = parse_peer_list("127.0.0.1:7001,127.0.0.1:7002")});
//   raftkv::client::answer a = co_await c.put("greeting", "hello");
//   if (a.ok()) std::cout << format_trace(a.hops, a.elapsed_ms) << "\n";
//
// Routing (client/routing.hpp): a request goes to the cached leader hint (or
// the first peer), follows 307 redirects to exactly the URL the server gave,
// and after a 503, 5xx, timeout or refused connection backs off with jitter
// and tries the next node, until a definite answer, options::max_hops
// attempts, or options::deadline. It always ends with an answer.
//
// Exactly-once writes: every write gets a (client id, sequence number) pair,
// reused by each of its attempts, so a retry after a 504, a timeout or a
// dropped connection is applied at most once; a `"duplicate": true` answer is
// the first attempt's success. The server's session remembers one sequence
// number per client id, so each session carries one write at a time: a
// client keeps a small pool of sessions (the first with options::client_id),
// and concurrent writes take different ones.
//
// Threading: a client and its copies (they share one state: connections,
// sessions, leader hint) are used from the executor's thread only; the
// awaitables run there. Reads and status are retried freely.
#pragma once

#include <raftkv/client/routing.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace raftkv::client {

/// Read consistency (docs/api.md): linearizable confirms leadership (ReadIndex,
/// §6.4) first; stale answers from the node's own state at once.
enum class consistency { linearizable, stale };

/// Everything that parameterises a client.
struct options {
  std::vector<endpoint> peers{};  ///< the nodes' client API addresses ("127.0.0.1:7001"); not empty
  std::chrono::milliseconds deadline{10000};         ///< every request ends by then, answered or not
  std::chrono::milliseconds attempt_timeout{3000};   ///< one attempt: connect + send + whole answer
  std::chrono::milliseconds status_timeout{1000};    ///< one GET /v1/status (no retries)
  std::chrono::milliseconds backoff_base{50};        ///< see routing_policy
  std::chrono::milliseconds backoff_max{250};        ///< see routing_policy
  /// Attempts per request (>= 1). With backoffs of 125-250 ms once grown,
  /// 256 hops last 30-60 s of outage: the deadline (10 s by default) is what
  /// normally ends a request.
  std::size_t max_hops = 256;
  std::uint64_t client_id = 0;                       ///< the first session's id; 0: random
  std::size_t max_writes_in_flight = 64;             ///< concurrent writes (one session each); more fail at once
  std::size_t body_bytes_max = std::size_t{64} << 20;  ///< larger answers are treated as a dropped connection
  std::uint64_t seed = 0;                            ///< seeds the backoff jitter; 0: random
  /// Called on the executor as each attempt ends (after its backoff is
  /// chosen), so a UI can show hops live. May be empty.
  std::function<void(const hop&)> on_hop{};
};

/// How one request ended.
struct answer {
  outcome result = outcome::failed;
  int status = 0;            ///< the final HTTP status (0 when the request ended without an answer)
  std::string error{};         ///< the server's error code, or the client's: deadline_exceeded, gave_up, bad_key, too_many_writes
  std::string message{};       ///< one line for people
  nlohmann::json body{};       ///< the final answer's JSON (null when none)
  std::vector<hop> hops{};     ///< every attempt, in order
  double elapsed_ms = 0;     ///< the whole request, backoffs included
  std::uint64_t client_id = 0;  ///< writes: the session id of the last attempt
  std::uint64_t seq = 0;        ///< writes: the sequence number of the last attempt
  bool maybe_applied = false;   ///< writes: an attempt ended ambiguously (see routing.hpp)

  bool ok() const { return result == outcome::ok; }
};

/// One node's GET /v1/status.
struct node_status {
  endpoint target{};
  bool reachable = false;  ///< it answered 200 with a JSON object
  std::string error{};       ///< why not (socket error text, or "HTTP 500")
  nlohmann::json body{};     ///< its status (null when unreachable)
  double elapsed_ms = 0;
};

/// A client of one cluster. Copies share their state.
class client {
 public:
  /// Throws std::invalid_argument when options.peers is empty or max_hops is 0.
  client(boost::asio::any_io_executor ex, options opts);

  /// PUT /v1/kv/{key}: a write (exactly once).
  boost::asio::awaitable<answer> put(std::string key, std::string value);
  /// GET /v1/kv/{key}.
  boost::asio::awaitable<answer> get(std::string key, consistency c = consistency::linearizable);
  /// DELETE /v1/kv/{key}: a write; not_found when absent.
  boost::asio::awaitable<answer> del(std::string key);
  /// GET /v1/kv?prefix=&limit= (limit 1..10000).
  boost::asio::awaitable<answer> list(std::string prefix, std::size_t limit = 1000,
                                      consistency c = consistency::linearizable);
  /// PUT /v1/kv/{key}?cas=REV: writes only if the key's mod revision is
  /// `expected_mod_revision` (0: only if absent); cas_failed otherwise.
  boost::asio::awaitable<answer> cas(std::string key, std::uint64_t expected_mod_revision, std::string value);
  /// GET /v1/status of one node, once, within options::status_timeout.
  boost::asio::awaitable<node_status> status(endpoint node);
  /// status() of every peer at once, in the order of options::peers.
  boost::asio::awaitable<std::vector<node_status>> status_all();

  /// The leader as last learned (a redirect, a write's answer); nullopt when unknown.
  std::optional<endpoint> leader_hint() const;
  /// The node id an endpoint answered with, 0 if none yet.
  std::uint64_t node_of(const endpoint& e) const;
  const options& opts() const;
  boost::asio::any_io_executor get_executor() const;
  /// Closes the idle keep-alive connections.
  void close_idle();

  /// The shared state (client/impl/client.ipp); public only so that the
  /// bodies' free coroutines can name it.
  struct impl;

 private:
  std::shared_ptr<impl> impl_;  ///< shared with copies and running requests
};

}  // namespace raftkv::client
