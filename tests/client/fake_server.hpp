// tests/client/fake_server.hpp: a scripted HTTP server on an ephemeral
// loopback port (Beast, coroutines), for the client's routing tests.
//
// Each request is recorded (method, target, body, headers) and answered by
// `script`: an HTTP answer, a hang (no answer, connection kept open), or a
// close (the connection is dropped after the request was read). Everything
// runs on the test's io_context; the state is shared with the coroutines, so
// destroying the server (or the io_context) while they wait is safe.
#pragma once

#include <raftkv/client/routing.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <exception>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace raftkv::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

/// A request the fake server read.
struct seen_request {
  std::string method{};
  std::string target{};
  std::string body{};
  std::map<std::string, std::string> headers{};  ///< lower-case names
  std::chrono::steady_clock::time_point at{};     ///< when it was read
  std::string header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? "" : it->second;
  }
};

/// What the script does with a request.
struct scripted {
  enum class kind { answer, hang, close };
  kind what = kind::answer;
  int status = 200;
  nlohmann::json body = nlohmann::json::object();
  std::map<std::string, std::string> headers{};

  static scripted ok(nlohmann::json body) { return {.what = kind::answer, .status = 200, .body = std::move(body)}; }
  static scripted hang() { return {.what = kind::hang}; }
  static scripted close() { return {.what = kind::close}; }
  /// A 307 to `to` (Location and leader_url, like raftkv-server) from node `self`.
  static scripted redirect(const client::endpoint& to, std::uint64_t leader_id, std::uint64_t self,
                           const std::string& target) {
    scripted s{.what = kind::answer, .status = 307};
    s.body = {{"error", "not_leader"}, {"node", self}, {"leader_id", leader_id}, {"leader_url", to.url()}};
    s.headers["Location"] = to.url() + target;
    return s;
  }
  static scripted error(int status, const std::string& code, std::uint64_t self) {
    scripted s{.what = kind::answer, .status = status};
    s.body = {{"error", code}, {"message", code}, {"node", self}};
    if (status == 503) s.headers["Retry-After"] = "1";
    return s;
  }
};

class fake_server {
 public:
  using script_fn = std::function<scripted(const seen_request&, std::size_t n)>;

  explicit fake_server(asio::io_context& io) : st_(std::make_shared<state>(io)) {
    st_->acceptor.open(tcp::v4());
    st_->acceptor.set_option(asio::socket_base::reuse_address(true));
    st_->acceptor.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    st_->acceptor.listen();
    asio::co_spawn(io, accept_loop(st_), rethrow);  // ends when the acceptor closes
  }
  ~fake_server() { stop(); }
  fake_server(const fake_server&) = delete;
  fake_server& operator=(const fake_server&) = delete;

  /// Answers request number n (0-based) of this server.
  void script(script_fn f) { st_->script = std::move(f); }
  client::endpoint where() const { return {"127.0.0.1", st_->acceptor.local_endpoint().port()}; }
  const std::vector<seen_request>& requests() const { return st_->requests; }
  std::size_t connections() const { return st_->connections; }
  /// Closes every open connection (as a server's idle timeout does).
  void drop_connections() {
    beast::error_code ignored;
    for (const auto& s : st_->open) s->socket().close(ignored);
    st_->open.clear();
  }
  void stop() {
    beast::error_code ignored;
    st_->acceptor.close(ignored);
    drop_connections();
  }

 private:
  struct state {
    explicit state(asio::io_context& io) : io(io), acceptor(io) {}
    asio::io_context& io;
    tcp::acceptor acceptor;
    script_fn script = [](const seen_request&, std::size_t) { return scripted::ok({{"node", 1}}); };
    std::vector<seen_request> requests;
    std::size_t connections = 0;
    std::set<std::shared_ptr<beast::tcp_stream>> open;
  };

  std::shared_ptr<state> st_;  ///< shared with the accept loop and the connections

  /// A fake server that throws fails the test through io_context::run_for.
  static void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<state> st) {
    for (;;) {
      auto [ec, sock] = co_await st->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      ++st->connections;
      auto stream = std::make_shared<beast::tcp_stream>(std::move(sock));
      st->open.insert(stream);
      asio::co_spawn(st->io, serve(st, stream), rethrow);
    }
  }

  static asio::awaitable<void> serve(std::shared_ptr<state> st, std::shared_ptr<beast::tcp_stream> stream) {
    beast::flat_buffer buf;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      auto [ec, n] = co_await bhttp::async_read(*stream, buf, req, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) break;
      seen_request s{.method = std::string(req.method_string()), .target = std::string(req.target()),
                     .body = req.body(), .at = std::chrono::steady_clock::now()};
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s.headers[name] = std::string(f.value());
      }
      st->requests.push_back(s);
      const scripted a = st->script(s, st->requests.size() - 1);
      if (a.what == scripted::kind::close) break;
      if (a.what == scripted::kind::hang) {
        asio::steady_timer forever(st->io, std::chrono::hours(1));
        auto [tec] = co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)tec;
        break;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(a.status), 11};
      res.set(bhttp::field::content_type, "application/json");
      for (const auto& [k, v] : a.headers) res.set(k, v);
      res.body() = a.body.dump();
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await bhttp::async_write(*stream, res, asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream->socket().close(ignored);
    st->open.erase(stream);
  }
};

/// A loopback endpoint nothing listens on (bound, read, closed).
inline client::endpoint dead_endpoint(asio::io_context& io) {
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return {"127.0.0.1", a.local_endpoint().port()};
}

}  // namespace raftkv::test
