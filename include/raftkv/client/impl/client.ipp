// Bodies for raftkv/client/client.hpp; compiled once by lib/client.cpp, the
// client's only translation unit with Beast.
#pragma once

#include <raftkv/client/client.hpp>
#include <raftkv/server/http_api.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <map>
#include <random>
#include <stdexcept>

namespace raftkv::client {

namespace client_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// One request as every attempt sends it.
struct request_spec {
  http::verb method = http::verb::get;
  std::string target{};           ///< path and query, encoded
  std::string body{};
  bool is_write = false;        ///< routed with maybe_applied bookkeeping, sent with a session
  std::uint64_t client_id = 0;  ///< writes: X-Raftkv-Client
  std::uint64_t seq = 0;        ///< writes: X-Raftkv-Seq
};

/// What one exchange on the wire produced.
struct exchange_result {
  attempt a{};
  json body{};          ///< the parsed answer (null when none or not JSON)
  std::string detail{};   ///< the socket error's text when not answered
};

/// An open keep-alive connection nobody uses right now.
struct idle_connection {
  std::unique_ptr<beast::tcp_stream> stream;
  clock::time_point since;  ///< when it was put back; older than idle_age_max is not reused
};

/// One exactly-once session (thesis §6.3): the server remembers its last seq.
struct session {
  std::uint64_t client_id = 0;  ///< never 0
  std::uint64_t next_seq = 1;   ///< the next write's seq; only grows (until a session_expired renewal)
  bool busy = false;            ///< a write is using it; at most one at a time keeps seqs in order
};

constexpr std::size_t idle_endpoints_max = 16;  ///< idle connections kept (one per endpoint)
constexpr auto idle_age_max = std::chrono::seconds(20);  ///< servers close idle connections after 30 s
constexpr std::size_t node_ids_max = 256;       ///< endpoint -> node id entries before the table is reset

inline ms millis(clock::duration d) { return std::chrono::duration_cast<ms>(d); }
inline double millis_f(clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

/// j[name] if it is a string, else "".
inline std::string string_field(const json& j, const char* name) {
  if (!j.is_object()) return {};
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

/// j[name] if it is a non-negative integer, else 0.
inline std::uint64_t number_field(const json& j, const char* name) {
  if (!j.is_object()) return 0;
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return 0;
  return it->is_number_unsigned() || it->get<std::int64_t>() >= 0 ? it->get<std::uint64_t>() : 0;
}

}  // namespace client_detail

using namespace client_detail;

/// The state every copy of a client shares; touched on the executor only.
struct client::impl {
  impl(asio::any_io_executor e, options o) : ex(std::move(e)), opts(std::move(o)), rng(0), ids(std::random_device{}()) {
    if (opts.peers.empty()) throw std::invalid_argument("the client needs at least one peer");
    if (opts.max_hops == 0) throw std::invalid_argument("max_hops must be at least 1");
    if (opts.max_writes_in_flight == 0) throw std::invalid_argument("max_writes_in_flight must be at least 1");
    std::uint64_t seed = opts.seed;
    while (seed == 0) seed = ids();
    rng = core::detail::prng(seed);
  }

  asio::any_io_executor ex;
  options opts;
  /// The believed leader, learned from redirects and writes' answers; cleared
  /// when it fails. Read by every new request's router, updated after each hop.
  std::optional<endpoint> hint{};
  /// The node id each endpoint answered with (or a redirect named); at most node_ids_max entries.
  std::map<endpoint, std::uint64_t> node_ids;
  /// At most one idle keep-alive connection per endpoint, idle_endpoints_max in all.
  std::map<endpoint, idle_connection> idle;
  /// The write sessions: grows to opts.max_writes_in_flight; index-stable.
  std::vector<session> sessions{};
  core::detail::prng rng;  ///< seeds each request's router (backoff jitter)
  std::mt19937_64 ids;     ///< client ids: from random_device, never from opts.seed

  routing_policy policy() const {
    return {.backoff_base = opts.backoff_base, .backoff_max = opts.backoff_max, .max_hops = opts.max_hops};
  }

  std::uint64_t new_client_id() {
    std::uint64_t id = 0;
    while (id == 0) id = ids();
    return id;
  }

  std::unique_ptr<beast::tcp_stream> take_idle(const endpoint& e) {
    auto it = idle.find(e);
    if (it == idle.end()) return nullptr;
    idle_connection c = std::move(it->second);
    idle.erase(it);
    if (clock::now() - c.since > idle_age_max) return nullptr;
    return std::move(c.stream);
  }

  void keep_idle(const endpoint& e, std::unique_ptr<beast::tcp_stream> s) {
    if (idle.count(e) == 0 && idle.size() >= idle_endpoints_max) return;  // closes s
    idle[e] = idle_connection{std::move(s), clock::now()};
  }

  void learn(const endpoint& e, const exchange_result& x) {
    if (!x.body.is_object()) return;
    if (node_ids.size() >= node_ids_max) node_ids.clear();
    if (const auto id = number_field(x.body, "node"); id != 0) node_ids[e] = id;
    if (const auto id = number_field(x.body, "id"); id != 0 && x.body.contains("role")) node_ids[e] = id;  // a status
    const auto leader = number_field(x.body, "leader_id");
    const auto url = parse_endpoint(string_field(x.body, "leader_url"));
    if (leader != 0 && url) node_ids[*url] = leader;
    if (const auto it = x.body.find("peers"); it != x.body.end() && it->is_array()) {
      for (const json& p : *it) {
        const auto purl = parse_endpoint(string_field(p, "api_url"));
        if (purl && number_field(p, "id") != 0) node_ids[*purl] = number_field(p, "id");
      }
    }
  }

  std::optional<std::size_t> acquire_session() {
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      if (!sessions[i].busy) {
        sessions[i].busy = true;
        return i;
      }
    }
    if (sessions.size() >= opts.max_writes_in_flight) return std::nullopt;
    const std::uint64_t id = sessions.empty() && opts.client_id != 0 ? opts.client_id : new_client_id();
    sessions.push_back({.client_id = id, .next_seq = 1, .busy = true});
    return sessions.size() - 1;
  }
};

namespace client_detail {

using impl_ptr = std::shared_ptr<client::impl>;

/// Marks a session free again when the write using it ends (also when its frame is destroyed).
class session_lease {
 public:
  session_lease(impl_ptr self, std::size_t slot) : self_(std::move(self)), slot_(slot) {}
  ~session_lease() { self_->sessions[slot_].busy = false; }
  session_lease(const session_lease&) = delete;
  session_lease& operator=(const session_lease&) = delete;

 private:
  impl_ptr self_;
  std::size_t slot_;
};

inline http::request<http::string_body> make_request(const request_spec& spec, const endpoint& e) {
  http::request<http::string_body> req{spec.method, spec.target, 11};
  req.set(http::field::host, e.str());
  req.set(http::field::user_agent, "raftkv-client");
  if (spec.is_write && spec.client_id != 0) {
    req.set("X-Raftkv-Client", std::to_string(spec.client_id));
    req.set("X-Raftkv-Seq", std::to_string(spec.seq));
  }
  if (spec.method == http::verb::put) {
    req.set(http::field::content_type, "application/octet-stream");
    req.body() = spec.body;
  }
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

/// Connects `s` to `e` before `end` (names are resolved, raced with the deadline).
inline asio::awaitable<beast::error_code> open_stream(beast::tcp_stream* s, endpoint e, clock::time_point end) {
  using namespace asio::experimental::awaitable_operators;
  beast::error_code ec;
  const auto addr = asio::ip::make_address(e.host, ec);
  if (!ec) {
    s->expires_at(end);
    auto [cec] = co_await s->async_connect(tcp::endpoint(addr, e.port), use_tuple);
    co_return cec;
  }
  tcp::resolver resolver(s->get_executor());
  asio::steady_timer timer(s->get_executor(), end);
  auto resolve = resolver.async_resolve(e.host, std::to_string(e.port), use_tuple);
  auto wait = timer.async_wait(use_tuple);
  auto r = co_await (std::move(resolve) || std::move(wait));
  if (r.index() == 1) co_return beast::error::timeout;
  auto [rec, results] = std::get<0>(std::move(r));
  if (rec) co_return rec;
  s->expires_at(end);
  auto [cec, used] = co_await s->async_connect(results, use_tuple);
  (void)used;
  co_return cec;
}

/// One request/response on an open stream.
struct wire_result {
  exchange_result x;
  bool stale = false;  ///< failed before any answer byte, not by timeout: maybe a connection the server closed
  bool keep = false;   ///< the stream may carry another request
};

inline void read_answer(const http::response<http::string_body>& res, exchange_result& x) {
  x.a.result = wire::answered;
  x.a.status = static_cast<int>(res.result_int());
  x.a.location = std::string(res[http::field::location]);
  x.body = json::parse(res.body(), nullptr, false);
  if (x.body.is_discarded()) x.body = nullptr;
  x.a.error = string_field(x.body, "error");
  x.a.leader_url = string_field(x.body, "leader_url");
}

inline asio::awaitable<wire_result> send_on(beast::tcp_stream* s, http::request<http::string_body> req,
                                            clock::time_point end, std::size_t body_max) {
  wire_result w;
  s->expires_at(end);
  auto [wec, wn] = co_await http::async_write(*s, req, use_tuple);
  (void)wn;
  if (wec) {
    w.x.a.result = wec == beast::error::timeout ? wire::timed_out : wire::dropped;
    w.x.detail = wec.message();
    w.stale = wec != beast::error::timeout;
    co_return w;
  }
  w.x.a.sent = true;
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_max);
  auto [rec, rn] = co_await http::async_read(*s, buf, parser, use_tuple);
  (void)rn;
  if (rec) {
    w.x.a.result = rec == beast::error::timeout ? wire::timed_out : wire::dropped;
    w.x.detail = rec.message();
    w.stale = rec != beast::error::timeout && !parser.got_some();
    co_return w;
  }
  read_answer(parser.get(), w.x);
  w.keep = parser.get().keep_alive() && buf.size() == 0;
  co_return w;
}

/// One attempt at `e`, on an idle keep-alive connection if there is one, within `timeout`.
inline asio::awaitable<exchange_result> exchange(impl_ptr self, endpoint e, request_spec spec, ms timeout) {
  const auto end = clock::now() + timeout;
  http::request<http::string_body> req = make_request(spec, e);
  std::unique_ptr<beast::tcp_stream> stream = self->take_idle(e);
  if (stream) {
    wire_result w = co_await send_on(stream.get(), req, end, self->opts.body_bytes_max);
    if (!w.stale) {
      if (w.keep) self->keep_idle(e, std::move(stream));
      co_return std::move(w.x);
    }
    // The server had closed the idle connection: once more on a fresh one.
    // Safe for writes too: the same session makes a second apply a duplicate.
  }
  stream = std::make_unique<beast::tcp_stream>(self->ex);
  const beast::error_code cec = co_await open_stream(stream.get(), e, end);
  if (cec) {
    exchange_result x;
    x.a.result = cec == beast::error::timeout ? wire::timed_out : wire::refused;
    x.detail = cec.message();
    co_return x;
  }
  wire_result w = co_await send_on(stream.get(), std::move(req), end, self->opts.body_bytes_max);
  if (w.keep) self->keep_idle(e, std::move(stream));
  co_return std::move(w.x);
}

inline hop make_hop(const client::impl& self, const endpoint& e, const exchange_result& x, double elapsed_ms) {
  hop h;
  h.target = e;
  if (const auto it = self.node_ids.find(e); it != self.node_ids.end()) h.node = it->second;
  h.result = x.a.result;
  h.status = x.a.status;
  h.error = x.a.result == wire::answered ? x.a.error : x.detail;
  if (is_redirect_status(x.a.status)) {
    h.hint_node = number_field(x.body, "leader_id");
    h.hint_url = !x.a.location.empty() ? x.a.location : x.a.leader_url;
  }
  if (x.a.status >= 200 && x.a.status <= 299) h.revision = number_field(x.body, "revision");
  h.elapsed_ms = elapsed_ms;
  return h;
}

/// Fills `out` from a definite answer.
inline void take_answer(answer& out, const exchange_result& x) {
  out.status = x.a.status;
  out.body = x.body;
  out.error = x.a.error;
  out.result = classify(x.a.status, x.a.error);
  const std::string server_message = string_field(x.body, "message");
  switch (out.result) {
    case outcome::ok: break;
    case outcome::not_found: out.message = "key not found"; break;
    case outcome::cas_failed:
      out.message = "compare-and-swap failed: the key's mod revision is " +
                    std::to_string(number_field(x.body, "current_mod_revision"));
      break;
    default:
      out.message = "HTTP " + std::to_string(x.a.status) + (out.error.empty() ? "" : " " + out.error) +
                    (server_message.empty() ? "" : ": " + server_message);
  }
}

/// Ends `out` without a definite answer.
inline void end_unanswered(answer& out, const router& r, std::string code, std::string why) {
  out.result = r.maybe_applied() ? outcome::outcome_unknown : outcome::unavailable;
  out.error = std::move(code);
  out.message = (r.maybe_applied() ? "outcome unknown (the write may or may not have been applied): "
                                   : "cluster unavailable: ") + why;
}

/// Routes one request until it ends (client/routing.hpp), by `deadline`.
inline asio::awaitable<answer> route(impl_ptr self, request_spec spec, clock::time_point deadline) {
  const auto start = clock::now();
  router r(self->policy(), self->opts.peers, self->hint, self->rng.next(), spec.is_write);
  answer out;
  out.client_id = spec.client_id;
  out.seq = spec.seq;
  for (;;) {
    const ms left = millis(deadline - clock::now());
    if (left.count() <= 0) {
      std::string why = "no definite answer within " + std::to_string(self->opts.deadline.count()) + " ms (" +
                        std::to_string(out.hops.size()) + " attempts";
      if (!out.hops.empty()) {
        hop last = out.hops.back();
        last.wait = ms(0);
        why += "; last: " + describe(last);
      }
      end_unanswered(out, r, "deadline_exceeded", why + ")");
      break;
    }
    const endpoint target = r.target();
    const ms timeout = std::min(self->opts.attempt_timeout, left);
    const auto t0 = clock::now();
    exchange_result x = co_await exchange(self, target, spec, timeout);
    if (x.a.result == wire::timed_out) x.detail = "timed out after " + std::to_string(timeout.count()) + " ms";
    self->learn(target, x);
    const std::optional<endpoint> before = r.leader_hint();
    const decision d = r.next(x.a);
    if (r.leader_hint() != before) {
      if (r.leader_hint()) {
        self->hint = r.leader_hint();
      } else if (self->hint == before) {
        self->hint.reset();  // unless another request learned a newer leader meanwhile
      }
    }
    hop h = make_hop(*self, target, x, millis_f(clock::now() - t0));
    if (d.what == action::retry) h.wait = std::max(ms(0), std::min(d.wait, millis(deadline - clock::now())));
    out.hops.push_back(h);
    if (self->opts.on_hop) self->opts.on_hop(h);
    if (d.what == action::done) {
      take_answer(out, x);
      break;
    }
    if (d.what == action::give_up) {
      end_unanswered(out, r, "gave_up", d.reason);
      break;
    }
    if (h.wait.count() > 0) {
      asio::steady_timer pause(self->ex, h.wait);
      auto [ec] = co_await pause.async_wait(use_tuple);
      (void)ec;
    }
  }
  out.maybe_applied = r.maybe_applied();
  out.elapsed_ms = millis_f(clock::now() - start);
  co_return out;
}

inline answer local_failure(outcome o, std::string code, std::string message) {
  answer a;
  a.result = o;
  a.error = std::move(code);
  a.message = std::move(message);
  return a;
}

inline asio::awaitable<answer> ready(answer a) { co_return a; }

inline asio::awaitable<answer> route_read(impl_ptr self, request_spec spec) {
  const auto deadline = clock::now() + self->opts.deadline;
  answer a = co_await route(self, std::move(spec), deadline);
  co_return a;
}

/// A write with a session of its own for all its attempts (exactly once).
inline asio::awaitable<answer> route_write(impl_ptr self, request_spec spec) {
  const auto deadline = clock::now() + self->opts.deadline;
  const std::optional<std::size_t> slot = self->acquire_session();
  if (!slot) {
    co_return local_failure(outcome::failed, "too_many_writes",
                            "too many writes in flight (max " + std::to_string(self->opts.max_writes_in_flight) +
                                "); nothing was sent");
  }
  session_lease lease(self, *slot);
  spec.is_write = true;
  spec.client_id = self->sessions[*slot].client_id;
  spec.seq = self->sessions[*slot].next_seq++;
  answer first = co_await route(self, spec, deadline);
  if (first.error != "session_expired") co_return first;
  // The server forgot this session (expired or evicted, docs/kv.md): this
  // slot starts a new one. The 409 itself promises nothing was applied; an
  // earlier ambiguous attempt of this write may have been, so only a write
  // without one is sent again, as seq 1 of the new session.
  session& s = self->sessions[*slot];
  s.client_id = self->new_client_id();
  s.next_seq = 1;
  if (first.maybe_applied) {
    first.result = outcome::outcome_unknown;
    first.message = "outcome unknown: the session expired after an attempt that may have applied this write";
    co_return first;
  }
  spec.client_id = s.client_id;
  spec.seq = s.next_seq++;
  answer again = co_await route(self, spec, deadline);
  again.hops.insert(again.hops.begin(), first.hops.begin(), first.hops.end());
  again.elapsed_ms += first.elapsed_ms;
  co_return again;
}

inline asio::awaitable<node_status> fetch_status(impl_ptr self, endpoint e) {
  const auto t0 = clock::now();
  request_spec spec{.method = http::verb::get, .target = "/v1/status"};
  exchange_result x = co_await exchange(self, e, spec, self->opts.status_timeout);
  self->learn(e, x);
  node_status s;
  s.target = e;
  s.elapsed_ms = millis_f(clock::now() - t0);
  if (x.a.result == wire::timed_out) {
    s.error = "timed out after " + std::to_string(self->opts.status_timeout.count()) + " ms";
  } else if (x.a.result != wire::answered) {
    s.error = x.detail;
  } else if (x.a.status != 200 || !x.body.is_object()) {
    s.error = "HTTP " + std::to_string(x.a.status);
  } else {
    s.reachable = true;
    s.body = std::move(x.body);
  }
  co_return s;
}

inline asio::awaitable<std::vector<node_status>> fetch_all(impl_ptr self) {
  using op = decltype(asio::co_spawn(self->ex, fetch_status(self, endpoint{}), asio::deferred));
  std::vector<op> ops{};
  for (const endpoint& e : self->opts.peers) ops.push_back(asio::co_spawn(self->ex, fetch_status(self, e), asio::deferred));
  auto group = asio::experimental::make_parallel_group(std::move(ops));
  auto [order, errors, results] = co_await group.async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
  (void)order;
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  co_return std::move(results);
}

inline request_spec kv_spec(http::verb method, const std::string& key, std::string query = {}) {
  return {.method = method, .target = "/v1/kv/" + server::url_encode(key) + query};
}

inline std::optional<answer> bad_key(const std::string& key) {
  if (!key.empty()) return std::nullopt;
  return local_failure(outcome::rejected, "bad_key", "the key is empty");
}

}  // namespace client_detail

client::client(asio::any_io_executor ex, options opts) : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}

asio::awaitable<answer> client::put(std::string key, std::string value) {
  if (auto bad = bad_key(key)) return ready(std::move(*bad));
  request_spec spec = kv_spec(http::verb::put, key);
  spec.body = std::move(value);
  return route_write(impl_, std::move(spec));
}

asio::awaitable<answer> client::get(std::string key, consistency c) {
  if (auto bad = bad_key(key)) return ready(std::move(*bad));
  return route_read(impl_, kv_spec(http::verb::get, key, c == consistency::stale ? "?consistency=stale" : ""));
}

asio::awaitable<answer> client::del(std::string key) {
  if (auto bad = bad_key(key)) return ready(std::move(*bad));
  return route_write(impl_, kv_spec(http::verb::delete_, key));
}

asio::awaitable<answer> client::list(std::string prefix, std::size_t limit, consistency c) {
  std::string target = "/v1/kv?prefix=" + server::url_encode(prefix) + "&limit=" + std::to_string(limit);
  if (c == consistency::stale) target += "&consistency=stale";
  return route_read(impl_, request_spec{.method = http::verb::get, .target = std::move(target)});
}

asio::awaitable<answer> client::cas(std::string key, std::uint64_t expected_mod_revision, std::string value) {
  if (auto bad = bad_key(key)) return ready(std::move(*bad));
  request_spec spec = kv_spec(http::verb::put, key, "?cas=" + std::to_string(expected_mod_revision));
  spec.body = std::move(value);
  return route_write(impl_, std::move(spec));
}

asio::awaitable<node_status> client::status(endpoint node) { return fetch_status(impl_, std::move(node)); }

asio::awaitable<std::vector<node_status>> client::status_all() { return fetch_all(impl_); }

std::optional<endpoint> client::leader_hint() const { return impl_->hint; }

std::uint64_t client::node_of(const endpoint& e) const {
  const auto it = impl_->node_ids.find(e);
  return it == impl_->node_ids.end() ? 0 : it->second;
}

const options& client::opts() const { return impl_->opts; }

asio::any_io_executor client::get_executor() const { return impl_->ex; }

void client::close_idle() { impl_->idle.clear(); }

}  // namespace raftkv::client
