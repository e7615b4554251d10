// raftkv/server/http_api.hpp: the client HTTP/JSON API of one node (Boost.Beast;
// bodies in server/impl/http_api.ipp, compiled by lib/server_net.cpp).
//
// Routes (docs/api.md has them with curl examples):
//   GET|PUT|DELETE /v1/kv/{key}     one key (PUT ?cas=REV: only if its mod revision is REV)
//   GET /v1/kv?prefix=p&limit=n     keys by prefix
//   GET /v1/status                  the node's Raft state, peers, faults, recent events
//   GET /metrics                    Prometheus text
//   POST /v1/admin/{campaign,transfer,snapshot,pause,resume,isolate,heal,cut,restore,drop,delay}
// Reads take ?consistency=linearizable (default) or stale. Writes on a
// follower are redirected (307) to the leader, with the same path and query.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace raftkv::server {

class host;

/// The URL decoding of a path segment (`+` stays `+`) or, with
/// `plus_is_space`, of a query value; nullopt on a bad %-escape.
std::optional<std::string> url_decode(std::string_view s, bool plus_is_space = false);
/// Percent-encodes every byte outside [A-Za-z0-9-._~].
std::string url_encode(std::string_view s);

/// Serves the client API of `h` on one TCP port.
class http_api {
 public:
  /// Binds `listen` (throws boost::system::system_error naming the address).
  http_api(boost::asio::any_io_executor ex, host& h, const boost::asio::ip::tcp::endpoint& listen);
  ~http_api();
  http_api(const http_api&) = delete;
  http_api& operator=(const http_api&) = delete;

  void start();
  /// Stops accepting and closes idle connections.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;  ///< shared with the accept loop and sessions
};

}  // namespace raftkv::server
