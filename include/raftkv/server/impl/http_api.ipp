// Bodies for raftkv/server/http_api.hpp; compiled once by lib/server_net.cpp.
#pragma once

#include <raftkv/net/transport.hpp>
#include <raftkv/server/host.hpp>
#include <raftkv/server/http_api.hpp>
#include <raftkv/server/detail/json_text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace raftkv::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using request = http::request<http::string_body>;

std::optional<std::string> url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;  // needs two hex digits
      unsigned v = 0;
      const auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc{} || end != s.data() + i + 3) return std::nullopt;
      out.push_back(static_cast<char>(v));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

namespace http_detail {

using detail::append_json_string;
using detail::append_member;
using detail::dump;

/// An answer, written to the socket as one buffer. Beast's message and
/// serializer allocated per header field and walked a buffer sequence per
/// byte range; for answers of a few hundred bytes a string is cheaper.
class response {
 public:
  response(http::status st, unsigned version) : status_(st), version_(version) {}
  /// Content-Type replaces the default (application/json); any other field is added.
  void set(http::field f, std::string_view value) {
    if (f == http::field::content_type) {
      content_type_ = value;
      return;
    }
    extra_.append(http::to_string(f));
    extra_.append(": ");
    extra_.append(value);
    extra_.append("\r\n");
  }
  void keep_alive(bool on) { keep_alive_ = on; }
  bool keep_alive() const { return keep_alive_; }
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }
  /// The status line, headers and body (Content-Length from the body).
  std::string wire() const {
    std::string w;
    w.reserve(160 + extra_.size() + body_.size());
    w.append(version_ == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    char num[8];
    const auto r = std::to_chars(num, num + sizeof num, static_cast<unsigned>(status_));
    w.append(num, r.ptr);
    w.push_back(' ');
    w.append(http::obsolete_reason(status_));
    w.append("\r\nServer: raftkv\r\nContent-Type: ");
    w.append(content_type_);
    w.append("\r\nContent-Length: ");
    char len[24];
    const auto l = std::to_chars(len, len + sizeof len, body_.size());
    w.append(len, l.ptr);
    w.append("\r\n");
    // HTTP/1.1 keeps the connection by default, 1.0 closes it by default.
    if (version_ == 10 && keep_alive_) w.append("Connection: keep-alive\r\n");
    if (version_ != 10 && !keep_alive_) w.append("Connection: close\r\n");
    w.append(extra_);
    w.append("\r\n");
    w.append(body_);
    return w;
  }

 private:
  http::status status_;
  unsigned version_;
  bool keep_alive_ = true;
  std::string content_type_ = "application/json";
  std::string extra_;
  std::string body_;
};

struct parsed_target {
  std::string path;
  std::map<std::string, std::string> query;
  bool ok = true;
};

inline parsed_target parse_target(std::string_view target) {
  parsed_target t;
  const auto q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view part = rest.substr(0, amp);
    const auto eq = part.find('=');
    auto k = url_decode(part.substr(0, eq), true);
    auto v = url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!k || !v) {
      t.ok = false;
      return t;
    }
    t.query[*k] = *v;
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return t;
}

}  // namespace http_detail

using namespace http_detail;

struct http_api::impl : std::enable_shared_from_this<http_api::impl> {
  impl(asio::any_io_executor ex, host& h, const tcp::endpoint& listen) : ex(ex), h(h), acceptor(ex) {
    acceptor.open(listen.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    boost::system::error_code ec;
    acceptor.bind(listen, ec);
    if (ec) {
      throw boost::system::system_error(ec, "cannot listen for HTTP clients on " + listen.address().to_string() +
                                                ":" + std::to_string(listen.port()));
    }
    acceptor.listen();
  }

  asio::any_io_executor ex;
  host& h;
  tcp::acceptor acceptor;
  bool stopped = false;
  std::set<std::shared_ptr<beast::tcp_stream>> sessions;  ///< open connections, closed by stop()
  /// At most --max-connections (1024 by default), and always fewer than the
  /// file descriptors left after a reserve for the WAL, snapshots and peers.
  std::size_t max_sessions = std::min(session_bound(), h.options().max_connections);

  static std::size_t session_bound() {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 1024;
    const auto fds = static_cast<std::size_t>(lim.rlim_cur);
    return fds > 128 + 16 ? std::min<std::size_t>(1024, fds - 128) : 16;
  }

  // -- responses --------------------------------------------------------------

  response reply(const request& req, http::status st, const json& body) {
    return reply_text(req, st, dump(body) + "\n");
  }

  /// An answer whose JSON text is already written (the hot paths' answers).
  response reply_text(const request& req, http::status st, std::string body) {
    response res{st, req.version()};
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    h.count_http(static_cast<unsigned>(st));
    return res;
  }

  response error(const request& req, http::status st, std::string code, std::string message) {
    json j{{"error", std::move(code)}, {"message", std::move(message)}, {"node", h.options().id}};
    const core::node_id leader = h.raft().leader();
    j["leader"] = leader;
    if (leader != core::no_node) j["leader_url"] = h.api_url(leader);
    return reply(req, st, j);
  }

  response not_leader(const request& req, core::node_id leader) {
    if (leader == core::no_node || leader == h.options().id) {
      auto res = error(req, http::status::service_unavailable, "no_leader",
                       "no leader is known right now; retry shortly");
      res.set(http::field::retry_after, "1");
      return res;
    }
    json j{{"error", "not_leader"},
           {"message", "this node is not the leader; the write was not proposed here"},
           {"node", h.options().id},
           {"leader_id", leader},
           {"leader_url", h.api_url(leader)}};
    auto res = reply(req, http::status::temporary_redirect, j);
    res.set(http::field::location, h.api_url(leader) + std::string(req.target()));
    return res;
  }

  response failed(const request& req, outcome o, core::node_id leader) {
    switch (o) {
      case outcome::not_leader: return not_leader(req, leader);
      case outcome::no_leader: return not_leader(req, core::no_node);
      case outcome::busy: {
        auto res = error(req, http::status::service_unavailable, "busy",
                         h.paused() ? "this node is paused" : "too many requests in flight or a leadership transfer; retry");
        res.set(http::field::retry_after, "1");
        return res;
      }
      case outcome::outcome_unknown:
        return error(req, http::status::gateway_timeout, "outcome_unknown",
                     "the write was proposed but leadership changed before it applied; it may or may not "
                     "apply. Retry with the same X-Raftkv-Client and X-Raftkv-Seq to apply it at most once");
      case outcome::timeout:
        return error(req, http::status::gateway_timeout, "timeout",
                     "not done within the request timeout; a write may still apply (retry with the same session)");
      case outcome::read_failed: {
        auto res = error(req, http::status::service_unavailable, "read_failed",
                         "leadership could not be confirmed for this read; retry");
        res.set(http::field::retry_after, "1");
        return res;
      }
      case outcome::ok: break;
    }
    return error(req, http::status::internal_server_error, "internal", "unexpected outcome");
  }

  // -- routes -------------------------------------------------------------------

  asio::awaitable<response> handle(request req) {
    const parsed_target t = parse_target(req.target());
    if (!t.ok) co_return error(req, http::status::bad_request, "bad_query", "a %-escape in the query is malformed");
    if (t.path == "/v1/status") {
      if (req.method() != http::verb::get) co_return error(req, http::status::method_not_allowed, "method_not_allowed", "use GET");
      status_query q;
      const std::pair<const char*, std::size_t*> fields[] = {
          {"events", &q.events}, {"log", &q.log}, {"log_skip", &q.log_skip}, {"keys", &q.keys}, {"keys_skip", &q.keys_skip}};
      for (auto [name, field] : fields) {
        auto it = t.query.find(name);
        if (it == t.query.end()) continue;
        const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), *field);
        if (ec != std::errc{} || end != it->second.data() + it->second.size()) {
          co_return error(req, http::status::bad_request, "bad_query", std::string(name) + " must be a number");
        }
      }
      q.events = std::min(q.events, status_query::max_events_kept);
      q.log = std::min(q.log, status_query::max_log_window);
      q.keys = std::min(q.keys, status_query::max_window);
      co_return reply(req, http::status::ok, h.status_json(q));
    }
    if (t.path == "/metrics") {
      response res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.keep_alive(req.keep_alive());
      res.body() = h.metrics_text();
      h.count_http(200);
      co_return res;
    }
    if (t.path == "/v1/kv" || t.path == "/v1/kv/") {
      if (req.method() != http::verb::get) co_return error(req, http::status::method_not_allowed, "method_not_allowed", "use GET to list keys");
      co_return co_await list(req, t);
    }
    if (t.path.starts_with("/v1/kv/")) {
      auto key = url_decode(std::string_view(t.path).substr(7));
      if (!key || key->empty()) co_return error(req, http::status::bad_request, "bad_key", "the key is empty or its %-escapes are malformed");
      if (key->size() > kv::max_key_bytes) {
        co_return error(req, http::status::bad_request, "bad_key", "keys are at most " + std::to_string(kv::max_key_bytes) + " bytes");
      }
      switch (req.method()) {
        case http::verb::get: co_return co_await get(req, t, *key);
        case http::verb::put:
        case http::verb::post: co_return co_await put(req, t, *key);
        case http::verb::delete_: co_return co_await del(req, t, *key);
        default: co_return error(req, http::status::method_not_allowed, "method_not_allowed", "use GET, PUT or DELETE");
      }
    }
    if (t.path.starts_with("/v1/admin/")) {
      if (req.method() != http::verb::post) co_return error(req, http::status::method_not_allowed, "method_not_allowed", "admin actions take POST");
      if (auto denied = check_admin(req)) co_return std::move(*denied);
      co_return admin(req, t, t.path.substr(10));
    }
    co_return error(req, http::status::not_found, "not_found", "no route " + t.path + " (see docs/api.md)");
  }

  /// Consistency of a read: nullopt when the query value is not allowed.
  static std::optional<bool> linearizable(const parsed_target& t) {
    auto it = t.query.find("consistency");
    if (it == t.query.end() || it->second == "linearizable") return true;
    if (it->second == "stale") return false;
    return std::nullopt;
  }

  /// What a read's barrier established.
  struct read_meta {
    bool linearizable = true;
    std::optional<core::index_t> read_index;  ///< linearizable: the confirmed index
    void add_to(json& j) const {
      j["consistency"] = linearizable ? "linearizable" : "stale";
      if (read_index) j["read_index"] = *read_index;
    }
  };

  /// Runs the read barrier when asked for; an error response when it failed.
  asio::awaitable<std::optional<response>> barrier(const request& req, const parsed_target& t, read_meta& meta) {
    auto lin = linearizable(t);
    if (!lin) co_return error(req, http::status::bad_request, "bad_consistency", "consistency is linearizable or stale");
    meta.linearizable = *lin;
    if (*lin) {
      read_answer a = co_await h.read_barrier();
      if (a.result != outcome::ok) co_return failed(req, a.result == outcome::not_leader ? outcome::no_leader : a.result, a.leader);
      meta.read_index = a.read_index;
    }
    co_return std::nullopt;
  }

  json node_meta() {
    json j{{"node", h.options().id}, {"leader", h.raft().leader()}, {"applied_index", h.state().applied_index()},
           {"revision", h.state().revision()}};
    return j;
  }

  asio::awaitable<response> get(request req, parsed_target t, std::string key) {
    read_meta meta;
    if (auto err = co_await barrier(req, t, meta)) co_return std::move(*err);
    auto v = h.state().get(key);
    if (!v) {
      json j = node_meta();
      meta.add_to(j);
      j["key"] = key;
      j["error"] = "key_not_found";
      j["message"] = "no such key";
      co_return reply(req, http::status::not_found, j);
    }
    // The answer of every GET: written by hand, members in the byte order
    // nlohmann's std::map-backed objects use, so the text is the same.
    std::string out = "{";
    out.reserve(160 + key.size() + v->value.size());
    append_member(out, "applied_index", h.state().applied_index());
    append_member(out, "consistency", std::string_view(meta.linearizable ? "linearizable" : "stale"));
    append_member(out, "create_revision", v->create_revision);
    append_member(out, "key", std::string_view(key));
    append_member(out, "leader", h.raft().leader());
    append_member(out, "mod_revision", v->mod_revision);
    append_member(out, "node", h.options().id);
    if (meta.read_index) append_member(out, "read_index", *meta.read_index);
    append_member(out, "revision", h.state().revision());
    append_member(out, "value", std::string_view(v->value));
    append_member(out, "version", v->version);
    out.append("}\n");
    co_return reply_text(req, http::status::ok, std::move(out));
  }

  asio::awaitable<response> list(request req, parsed_target t) {
    std::size_t limit = 1000;
    if (auto it = t.query.find("limit"); it != t.query.end()) {
      const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
      if (ec != std::errc{} || end != it->second.data() + it->second.size() || limit == 0 || limit > 10000) {
        co_return error(req, http::status::bad_request, "bad_limit", "limit is 1..10000");
      }
    }
    read_meta meta;
    if (auto err = co_await barrier(req, t, meta)) co_return std::move(*err);
    const std::string prefix = t.query.count("prefix") != 0 ? t.query.at("prefix") : "";
    json j = node_meta();
    meta.add_to(j);
    j["prefix"] = prefix;
    json items = json::array();
    for (const auto& kvp : h.state().list(prefix, limit + 1)) {
      if (items.size() == limit) {
        j["more"] = true;
        break;
      }
      items.push_back({{"key", kvp.key}, {"value", kvp.value}, {"create_revision", kvp.create_revision},
                       {"mod_revision", kvp.mod_revision}, {"version", kvp.version}});
    }
    if (!j.contains("more")) j["more"] = false;
    j["count"] = items.size();
    j["items"] = std::move(items);
    co_return reply(req, http::status::ok, j);
  }

  /// Fills the session fields of `cmd` from the headers; an error response when malformed.
  std::optional<response> session(const request& req, kv::command& cmd) {
    const auto client = req.find("X-Raftkv-Client");
    const auto seq = req.find("X-Raftkv-Seq");
    if (client == req.end() && seq == req.end()) return std::nullopt;
    if (client == req.end() || seq == req.end()) {
      return error(req, http::status::bad_request, "bad_session", "send both X-Raftkv-Client and X-Raftkv-Seq, or neither");
    }
    const std::string_view c = client->value(), s = seq->value();
    const auto r1 = std::from_chars(c.data(), c.data() + c.size(), cmd.client_id);
    const auto r2 = std::from_chars(s.data(), s.data() + s.size(), cmd.seq);
    if (r1.ec != std::errc{} || r1.ptr != c.data() + c.size() || r2.ec != std::errc{} ||
        r2.ptr != s.data() + s.size() || cmd.client_id == 0 || cmd.seq == 0) {
      return error(req, http::status::bad_request, "bad_session", "X-Raftkv-Client and X-Raftkv-Seq are positive integers");
    }
    return std::nullopt;
  }

  /// Reads ?cas=REV into `cmd`; an error response when malformed.
  std::optional<response> cas(const request& req, const parsed_target& t, kv::command& cmd) {
    auto it = t.query.find("cas");
    if (it == t.query.end()) return std::nullopt;
    std::uint64_t rev = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), rev);
    if (ec != std::errc{} || end != it->second.data() + it->second.size() || it->second.empty()) {
      return error(req, http::status::bad_request, "bad_cas", "cas is a revision number (0: only if absent)");
    }
    cmd.expected = rev;
    return std::nullopt;
  }

  asio::awaitable<response> put(request req, parsed_target t, std::string key) {
    kv::command cmd{.op = kv::op_kind::put, .key = key};
    if (auto err = session(req, cmd)) co_return std::move(*err);
    const auto ct = req[http::field::content_type];
    if (ct.starts_with("application/json")) {
      json body = json::parse(req.body(), nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.contains("value") || !body["value"].is_string()) {
        co_return error(req, http::status::bad_request, "bad_json", "expected a JSON object {\"value\": \"...\"}");
      }
      cmd.value = body["value"].get<std::string>();
    } else {
      cmd.value = req.body();
    }
    if (auto err = cas(req, t, cmd)) co_return std::move(*err);
    if (cmd.value.size() > kv::max_value_bytes) {
      co_return error(req, http::status::payload_too_large, "value_too_large", "values are at most " + std::to_string(kv::max_value_bytes) + " bytes");
    }
    co_return co_await apply_write(req, std::move(cmd));
  }

  asio::awaitable<response> del(request req, parsed_target t, std::string key) {
    kv::command cmd{.op = kv::op_kind::del, .key = key};
    if (auto err = session(req, cmd)) co_return std::move(*err);
    if (auto err = cas(req, t, cmd)) co_return std::move(*err);
    co_return co_await apply_write(req, std::move(cmd));
  }

  asio::awaitable<response> apply_write(request req, kv::command cmd) {
    if (auto valid = kv::validate(cmd); !valid) {
      co_return error(req, http::status::bad_request, "bad_command", "the key, value or session is out of range");
    }
    const std::string key = cmd.key;
    write_answer a = co_await h.write(std::move(cmd));
    if (a.result != outcome::ok) co_return failed(req, a.result, a.leader);
    if (a.applied.status == kv::apply_status::ok && !a.applied.duplicate) {
      // The answer of nearly every write, by hand (the same text nlohmann writes).
      std::string out = "{";
      out.reserve(160 + key.size() + (a.applied.previous ? a.applied.previous->size() : 0));
      append_member(out, "applied_index", h.state().applied_index());
      append_member(out, "duplicate", false);
      append_member(out, "index", a.entry.index);
      append_member(out, "key", std::string_view(key));
      append_member(out, "leader", h.raft().leader());
      append_member(out, "node", h.options().id);
      if (a.applied.previous) append_member(out, "prev_value", std::string_view(*a.applied.previous));
      append_member(out, "revision", a.applied.revision);
      append_member(out, "term", a.entry.term);
      out.append("}\n");
      co_return reply_text(req, http::status::ok, std::move(out));
    }
    json j = node_meta();
    j["key"] = key;
    j["index"] = a.entry.index;
    j["term"] = a.entry.term;
    j["revision"] = a.applied.revision;
    j["duplicate"] = a.applied.duplicate;
    if (a.applied.duplicate) {
      // The session's first answer; this request's own key and value were not looked at.
      j.erase("key");
      j["message"] = "this (X-Raftkv-Client, X-Raftkv-Seq) was applied before; this is its first answer";
    }
    if (a.applied.previous) j["prev_value"] = *a.applied.previous;
    switch (a.applied.status) {
      case kv::apply_status::ok: co_return reply(req, http::status::ok, j);
      case kv::apply_status::not_found:
        j["error"] = "key_not_found";
        j["message"] = "no such key (nothing was deleted)";
        co_return reply(req, http::status::not_found, j);
      case kv::apply_status::cas_failed:
        j["error"] = "cas_failed";
        j["message"] = "the key's mod revision is not the one given in ?cas=";
        j["current_mod_revision"] = a.applied.previous_mod_revision;
        co_return reply(req, http::status::precondition_failed, j);
      case kv::apply_status::session_expired:
        j["error"] = "session_expired";
        j["message"] = "this client's session expired; start a new client id (the write was not applied)";
        co_return reply(req, http::status::conflict, j);
      case kv::apply_status::stale_request:
        j["error"] = "stale_request";
        j["message"] = "a later sequence number of this client was already applied (this one was not)";
        co_return reply(req, http::status::conflict, j);
      case kv::apply_status::bad_command:
        j["error"] = "bad_command";
        co_return reply(req, http::status::bad_request, j);
    }
    co_return reply(req, http::status::internal_server_error, j);
  }

  /// The answer refusing an admin or fault request, or nothing when it may go on.
  std::optional<response> check_admin(const request& req) {
    switch (h.options().admin) {
      case admin_access::open: return std::nullopt;
      case admin_access::off:
        return error(req, http::status::forbidden, "admin_disabled",
                     "the admin and fault routes are off on this node (--no-admin, or an API address that is "
                     "not loopback without --admin-token; see docs/api.md)");
      case admin_access::token: break;
    }
    const auto it = req.find(http::field::authorization);
    const std::string_view given = it == req.end() ? std::string_view{} : std::string_view(it->value());
    const std::string want = "Bearer " + h.options().admin_token;
    // Compared in time independent of where the first difference is.
    unsigned diff = given.size() == want.size() ? 0u : 1u;
    for (std::size_t i = 0; i < want.size(); ++i) {
      diff |= static_cast<unsigned char>(want[i]) ^ static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    }
    if (diff == 0) return std::nullopt;
    return error(req, http::status::unauthorized, "unauthorized",
                 "admin and fault routes need the header 'Authorization: Bearer <token>' (--admin-token)");
  }

  response admin(const request& req, const parsed_target& t, const std::string& action) {
    auto number = [&](const char* name, std::uint64_t max) -> std::optional<std::uint64_t> {
      auto it = t.query.find(name);
      if (it == t.query.end()) return std::nullopt;
      std::uint64_t v = 0;
      const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
      if (ec != std::errc{} || end != it->second.data() + it->second.size() || v > max) return std::nullopt;
      return v;
    };
    auto ok = [&](json extra) {
      extra["ok"] = true;
      extra["node"] = h.options().id;
      return reply(req, http::status::ok, extra);
    };
    auto peer = [&]() -> std::optional<core::node_id> {
      auto v = number("peer", UINT64_MAX);
      if (!v || *v == h.options().id || h.options().peers.count(*v) == 0) return std::nullopt;
      return *v;
    };
    if (action == "campaign") {
      auto r = h.campaign();
      if (!r) return error(req, http::status::conflict, "already_leader", "this node leads already");
      return ok({{"message", "campaigning"}});
    }
    if (action == "transfer") {
      auto to = number("to", UINT64_MAX);
      if (!to) return error(req, http::status::bad_request, "bad_target", "give ?to=NODE_ID");
      auto r = h.transfer(*to);
      if (!r) return error(req, http::status::conflict, r.error() == errc::not_leader ? "not_leader" : "transfer_refused", r.error().message());
      return ok({{"message", "transferring leadership to " + std::to_string(*to)}});
    }
    if (action == "snapshot") return ok({{"taken", h.snapshot_now()}});
    if (action == "pause") {
      h.pause(true);
      return ok({{"paused", true}});
    }
    if (action == "resume") {
      h.pause(false);
      return ok({{"paused", false}});
    }
    if (action == "isolate" || action == "heal") {
      h.isolate(action == "isolate");
      return ok({{"isolated", action == "isolate"}});
    }
    if (action == "cut" || action == "restore") {
      auto p = peer();
      if (!p) return error(req, http::status::bad_request, "bad_peer", "give ?peer=ID of another member");
      const std::string dir = t.query.count("dir") != 0 ? t.query.at("dir") : "both";
      if (dir != "in" && dir != "out" && dir != "both") {
        return error(req, http::status::bad_request, "bad_direction", "dir is in, out or both");
      }
      h.cut(*p, dir != "out", dir != "in", action == "cut");
      return ok({{"peer", *p}, {"dir", dir}, {"cut", action == "cut"}});
    }
    if (action == "drop") {
      auto v = number("per_mille", 1000);
      if (!v) return error(req, http::status::bad_request, "bad_rate", "give ?per_mille=0..1000");
      h.drop_per_mille(static_cast<std::uint32_t>(*v));
      return ok({{"drop_per_mille", *v}});
    }
    if (action == "delay") {
      auto v = number("ms", 60000);
      if (!v) return error(req, http::status::bad_request, "bad_delay", "give ?ms=0..60000");
      h.delay(std::chrono::milliseconds(*v));
      return ok({{"delay_ms", *v}});
    }
    return error(req, http::status::not_found, "not_found", "no admin action '" + action + "' (see docs/api.md)");
  }

  // -- connections ---------------------------------------------------------------

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopped) break;
        // Out of file descriptors (or similar): the connection waits in the
        // backlog; try again shortly instead of spinning.
        asio::steady_timer pause(ex, std::chrono::milliseconds(100));
        auto [pec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        (void)pec;
        continue;
      }
      if (sessions.size() >= max_sessions) {
        h.count_connection_refused();
        continue;  // the socket closes as it goes out of scope
      }
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      sessions.insert(stream);
      asio::co_spawn(ex, serve(stream), [self, stream](std::exception_ptr e) {
        self->sessions.erase(stream);
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          self->h.log(std::string("http session failed: ") + ex.what());
        }
      });
    }
  }

  asio::awaitable<void> serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto self = shared_from_this();
    beast::flat_buffer buffer;
    while (!stopped) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(h.options().max_body_bytes);
      parser.header_limit(16 * 1024);
      stream->expires_after(std::chrono::seconds(30));  // idle or slow clients go away
      auto [ec, n] = co_await http::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec == http::error::body_limit) {
        request head;
        head.version(11);
        head.keep_alive(false);
        auto res = error(head, http::status::payload_too_large, "body_too_large",
                         "request bodies are at most " + std::to_string(h.options().max_body_bytes) + " bytes");
        stream->expires_after(std::chrono::seconds(5));
        const std::string wire = res.wire();
        co_await asio::async_write(*stream, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
        break;
      }
      if (ec == http::error::header_limit) {
        request head;
        head.version(11);
        head.keep_alive(false);
        auto res = error(head, http::status::request_header_fields_too_large, "headers_too_large",
                         "the request line and headers are at most 16 KiB");
        stream->expires_after(std::chrono::seconds(5));
        const std::string wire = res.wire();
        co_await asio::async_write(*stream, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
        break;
      }
      if (ec && ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream) {
        // Not HTTP as Beast reads it (a bad request line, header or chunk,
        // or a message cut short): say so before closing.
        request head;
        head.version(11);
        head.keep_alive(false);
        auto res = error(head, http::status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
        stream->expires_after(std::chrono::seconds(5));
        const std::string wire = res.wire();
        co_await asio::async_write(*stream, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
        break;
      }
      if (ec) break;  // closed or timed out
      request req = parser.release();
      stream->expires_never();
      response res = co_await handle(std::move(req));
      stream->expires_after(std::chrono::seconds(30));
      const std::string wire = res.wire();
      auto [wec, wn] = co_await asio::async_write(*stream, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
      (void)wn;
      if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
};

http_api::http_api(asio::any_io_executor ex, host& h, const tcp::endpoint& listen)
    : impl_(std::make_shared<impl>(ex, h, listen)) {}

http_api::~http_api() { stop(); }

void http_api::start() {
  auto i = impl_;
  asio::co_spawn(i->ex, i->accept_loop(), [i](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      i->h.log(std::string("http accept loop failed: ") + ex.what());
    }
  });
}

void http_api::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (const auto& s : impl_->sessions) s->socket().close(ignored);
}

tcp::endpoint http_api::local_endpoint() const { return impl_->acceptor.local_endpoint(); }

}  // namespace raftkv::server
