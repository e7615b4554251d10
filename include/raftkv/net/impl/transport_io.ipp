// The transport's coroutines and member functions (bodies for
// raftkv/net/transport.hpp); compiled once by lib/net_transport.cpp.
#pragma once

#include <raftkv/net/impl/transport.ipp>

namespace raftkv::net {
namespace detail {

using namespace asio::experimental::awaitable_operators;

/// The next frame from `c`; reads as needed. With `timed`, gives up with
/// timed_out when c->deadline expires (the caller sets it).
inline asio::awaitable<result<frame>> read_frame(std::shared_ptr<connection> c, bool timed) {
  for (;;) {
    auto next = c->decoder.next();
    if (!next) co_return next.error();
    if (next->has_value()) co_return std::move(**next);
    std::size_t n = 0;
    if (timed) {
      auto read = c->socket.async_read_some(asio::buffer(c->buf), use_tuple);
      auto wait = c->deadline.async_wait(use_tuple);
      auto r = co_await (std::move(read) || std::move(wait));
      if (r.index() == 1) co_return make_error_code(errc::timed_out);
      auto [ec, got] = std::get<0>(r);
      if (ec) co_return ec;
      n = got;
    } else {
      auto [ec, got] = co_await c->socket.async_read_some(asio::buffer(c->buf), use_tuple);
      if (ec) co_return ec;
      n = got;
    }
    c->decoder.feed(std::string_view(c->buf.data(), n));
  }
}

/// Writes every buffer of `bufs` to `c`, or fails with timed_out after `timeout`.
inline asio::awaitable<error_code> write_all(std::shared_ptr<connection> c,
                                             std::vector<asio::const_buffer> bufs,
                                             std::chrono::milliseconds timeout) {
  c->deadline.expires_after(timeout);
  auto write = asio::async_write(c->socket, bufs, use_tuple);
  auto wait = c->deadline.async_wait(use_tuple);
  auto r = co_await (std::move(write) || std::move(wait));
  if (r.index() == 1) co_return make_error_code(errc::timed_out);
  auto [ec, n] = std::get<0>(r);
  (void)n;
  co_return ec;
}

/// Milliseconds until `deadline`, at least 1 (so an expired one times out at once).
inline std::chrono::milliseconds time_left(asio::steady_timer::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

/// True for errors that mean the peer sent bytes that break the protocol
/// (rather than a timeout or a socket error).
inline bool is_malformed(const error_code& ec) {
  return ec.category() == net_category() && ec != errc::timed_out;
}

/// Why the accepting side refuses `h`, or empty when it accepts it.
inline std::string refusal(const transport_state& s, const hello& h) {
  if (h.version != protocol_version) {
    return "protocol version " + std::to_string(h.version) + ", this node speaks " +
           std::to_string(protocol_version);
  }
  if (h.cluster_id != s.cfg.cluster_id) {
    return "cluster '" + h.cluster_id + "', this node is in cluster '" + s.cfg.cluster_id + "'";
  }
  if (h.from == s.cfg.self || !s.peers.contains(h.from)) {
    return "unknown node id " + std::to_string(h.from);
  }
  if (h.to != s.cfg.self) {
    return "this is node " + std::to_string(s.cfg.self) + ", not node " + std::to_string(h.to);
  }
  return {};
}

/// The accepting side's handshake: reads hello, answers hello_ok or
/// hello_refused. Returns the peer, or nullptr (logged) to close.
inline asio::awaitable<peer_state*> accept_hello(std::shared_ptr<transport_state> s,
                                                 std::shared_ptr<connection> c) {
  c->deadline.expires_after(s->cfg.handshake_timeout);
  auto first = co_await read_frame(c, true);
  if (!first) {
    if (is_malformed(first.error())) ++s->totals.closed_malformed;
    s->log("closing connection from " + c->remote + " before hello: " + first.error().message());
    co_return nullptr;
  }
  auto h = decode_hello(*first);
  if (!h) {
    ++s->totals.closed_malformed;
    s->log("closing connection from " + c->remote + ": bad hello: " + h.error().message());
    co_return nullptr;
  }
  const std::string reason = refusal(*s, *h);
  const std::string answer = reason.empty() ? encode_hello_ok() : encode_hello_refused(reason);
  std::vector<asio::const_buffer> bufs{asio::buffer(answer)};
  auto ec = co_await write_all(c, std::move(bufs), time_left(c->deadline.expiry()));
  if (!reason.empty()) {
    ++s->totals.refused;
    s->log("refused connection from " + c->remote + " (node " + std::to_string(h->from) +
           "): " + reason);
    co_return nullptr;
  }
  if (ec) {
    s->log("closing connection from " + c->remote + " during hello: " + ec.message());
    co_return nullptr;
  }
  peer_state* p = s->find_peer(h->from);
  c->peer = p->id;
  ++p->stats.inbound_connections;
  p->stats.bytes_in += frame_header_bytes + first->payload.size();
  p->stats.bytes_out += answer.size();
  co_return p;
}

/// One accepted connection: the handshake, then raft frames until it closes.
inline asio::awaitable<void> serve(std::shared_ptr<transport_state> s, std::shared_ptr<connection> c) {
  peer_state* p = co_await accept_hello(s, c);
  if (p == nullptr) co_return;
  const std::string who = "node " + std::to_string(p->id) + " (" + c->remote + ")";
  while (!s->stopped) {
    auto f = co_await read_frame(c, false);
    if (!f) {
      if (is_malformed(f.error())) {
        ++s->totals.closed_malformed;
        s->log("closing connection from " + who + ": " + f.error().message());
      } else if (!c->closed) {
        s->log("connection from " + who + " ended: " + f.error().message());
      }
      co_return;
    }
    p->stats.bytes_in += frame_header_bytes + f->payload.size();
    auto m = decode_message(*f);
    if (!m) {
      ++s->totals.closed_malformed;
      s->log("closing connection from " + who + ": " + m.error().message());
      co_return;
    }
    if (m->from != p->id || m->to != s->cfg.self) {
      ++s->totals.closed_malformed;
      s->log("closing connection from " + who + ": message from " + std::to_string(m->from) +
             " to " + std::to_string(m->to));
      co_return;
    }
    receive(s, *p, std::move(*m));
  }
}

/// Accepts connections until stop(); each one is served by its own coroutine.
inline asio::awaitable<void> accept_loop(std::shared_ptr<transport_state> s) {
  while (!s->stopped) {
    auto c = std::make_shared<connection>(s->ex, s->cfg.max_frame_bytes);
    auto [ec] = co_await s->acceptor.async_accept(c->socket, use_tuple);
    if (s->stopped) co_return;
    if (ec) {
      // EMFILE and friends: pause instead of spinning.
      s->log("accept failed: " + ec.message());
      asio::steady_timer pause(s->ex, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    error_code ignored;
    c->remote = to_string(c->socket.remote_endpoint(ignored));
    c->socket.set_option(tcp::no_delay(true), ignored);
    const std::uint64_t serial = s->next_inbound++;
    s->inbound.emplace(serial, c);
    asio::co_spawn(s->ex, serve(s, c), [s, c, serial](std::exception_ptr e) {
      log_failure(s, "serving " + c->remote)(e);
      c->close();
      s->inbound.erase(serial);
      if (peer_state* p = s->find_peer(c->peer)) --p->stats.inbound_connections;
    });
  }
}

/// The connecting side's handshake on p.conn: connect, hello, wait for the answer.
inline asio::awaitable<error_code> connect_hello(std::shared_ptr<transport_state> s, peer_state* p) {
  auto c = p->conn;
  c->deadline.expires_after(s->cfg.handshake_timeout);
  auto connect = c->socket.async_connect(p->endpoint, use_tuple);
  auto wait = c->deadline.async_wait(use_tuple);
  auto r = co_await (std::move(connect) || std::move(wait));
  if (r.index() == 1) co_return make_error_code(errc::timed_out);
  if (auto [ec] = std::get<0>(r); ec) co_return ec;
  error_code ignored;
  c->socket.set_option(tcp::no_delay(true), ignored);
  c->socket.set_option(asio::socket_base::keep_alive(true), ignored);
  const std::string out = encode_hello({protocol_version, s->cfg.cluster_id, s->cfg.self, p->id});
  std::vector<asio::const_buffer> bufs{asio::buffer(out)};
  const auto deadline = c->deadline.expiry();
  auto wec = co_await write_all(c, std::move(bufs), time_left(deadline));
  if (wec) co_return wec;
  p->stats.bytes_out += out.size();
  c->deadline.expires_at(deadline);
  auto answer = co_await read_frame(c, true);
  if (!answer) co_return answer.error();
  if (answer->type == frame_type::hello_refused) {
    auto why = decode_hello_refused(*answer);
    p->stats.last_error = "refused: " + (why ? *why : why.error().message());
    co_return make_error_code(errc::handshake_refused);
  }
  auto ok = decode_hello_ok(*answer);
  if (!ok) co_return ok.error();
  co_return error_code{};
}

/// Our outbound connection c to p after its handshake: nothing should ever
/// arrive on it, so any read completion (eof, reset, stray bytes) means it is
/// gone; closes it and wakes the writer.
inline asio::awaitable<void> watch(std::shared_ptr<transport_state> s, peer_state* p,
                                   std::shared_ptr<connection> c) {
  auto [ec, n] = co_await c->socket.async_read_some(asio::buffer(c->buf), use_tuple);
  if (!c->closed) {
    const std::string why = ec ? ec.message() : std::to_string(n) + " unexpected bytes";
    s->log("connection to node " + std::to_string(p->id) + " lost: " + why);
    p->stats.last_error = why;
  }
  c->close();
  p->wake.cancel();
}

/// Writes p's queue to c, coalescing up to write_batch_bytes_max a write,
/// until the connection fails or stop().
inline asio::awaitable<void> write_loop(std::shared_ptr<transport_state> s, peer_state* p,
                                        std::shared_ptr<connection> c) {
  while (!s->stopped && !c->closed) {
    if (p->queue.empty()) {
      p->wake.expires_at(asio::steady_timer::time_point::max());
      co_await p->wake.async_wait(use_tuple);
      continue;
    }
    std::vector<queued_frame> batch;
    std::size_t bytes = 0;
    while (!p->queue.empty() &&
           (batch.empty() || bytes + p->queue.front().bytes.size() <= s->cfg.write_batch_bytes_max)) {
      bytes += p->queue.front().bytes.size();
      p->queue_bytes -= p->queue.front().bytes.size();
      batch.push_back(std::move(p->queue.front()));
      p->queue.pop_front();
    }
    std::vector<asio::const_buffer> bufs;
    bufs.reserve(batch.size());
    for (const auto& f : batch) bufs.push_back(asio::buffer(f.bytes));
    auto ec = co_await write_all(c, std::move(bufs), s->cfg.write_timeout);
    if (ec) {
      // The batch is lost; Raft retransmits what matters (§5.3).
      if (!c->closed) s->log("write to node " + std::to_string(p->id) + " failed: " + ec.message());
      p->stats.last_error = ec.message();
      co_return;
    }
    p->stats.sent += batch.size();
    p->stats.bytes_out += bytes;
    for (const auto& f : batch) ++s->totals.sent_by_type[static_cast<std::size_t>(f.type)];
  }
}

/// The wait before the next connection attempt: `backoff` minus up to `jitter` of it.
inline std::chrono::milliseconds jittered(transport_state& s, std::chrono::milliseconds backoff) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double j = std::clamp(s.cfg.reconnect_jitter, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(backoff.count()) * (1.0 - j * u(s.rng))));
}

/// Records an outbound failure; logs it unless it repeats the last one logged.
inline void note_failure(transport_state& s, peer_state& p, std::string what) {
  p.stats.last_error = what;
  if (what == p.last_logged) return;
  p.last_logged = what;
  s.log("cannot reach node " + std::to_string(p.id) + " at " + to_string(p.endpoint) + ": " + what);
}

/// Keeps one outbound connection to p up until stop(): connect, handshake,
/// write loop; after a failure or loss, waits with exponential backoff and jitter.
inline asio::awaitable<void> run_peer(std::shared_ptr<transport_state> s, peer_state* p) {
  // At least 1 ms, so that a zero in the configuration cannot make a busy loop.
  const auto initial = std::max(s->cfg.reconnect_initial, std::chrono::milliseconds(1));
  auto backoff = initial;
  bool first = true;
  while (!s->stopped) {
    if (!first) ++p->stats.reconnects;
    first = false;
    auto c = std::make_shared<connection>(s->ex, s->cfg.max_frame_bytes);
    c->peer = p->id;
    p->conn = c;
    auto ec = co_await connect_hello(s, p);
    if (s->stopped) break;
    if (!ec) {
      backoff = initial;
      p->stats.connected = true;
      p->last_logged.clear();
      s->log("connected to node " + std::to_string(p->id) + " at " + to_string(p->endpoint));
      asio::co_spawn(s->ex, watch(s, p, c), log_failure(s, "watching node " + std::to_string(p->id)));
      co_await write_loop(s, p, c);
      p->stats.connected = false;
    } else {
      note_failure(*s, *p, ec == errc::handshake_refused ? p->stats.last_error : ec.message());
    }
    c->close();
    p->conn.reset();
    if (s->stopped) break;
    p->retry.expires_after(jittered(*s, backoff));
    co_await p->retry.async_wait(use_tuple);
    backoff = std::max(initial, std::min(backoff * 2, s->cfg.reconnect_max));
  }
  p->running = false;
}

/// Starts p's connection coroutine unless it runs already.
inline void spawn_peer(const std::shared_ptr<transport_state>& s, peer_state* p) {
  if (p->running) return;
  p->running = true;
  asio::co_spawn(s->ex, run_peer(s, p), log_failure(s, "connection to node " + std::to_string(p->id)));
}

}  // namespace detail

transport::transport(boost::asio::any_io_executor ex, transport_config config)
    : state_(std::make_shared<detail::transport_state>(ex, std::move(config))) {
  for (const auto& [id, ep] : state_->cfg.peers) {
    if (id != state_->cfg.self) set_peer(id, ep);
  }
}

transport::~transport() { stop(); }

void transport::start() {
  auto& s = *state_;
  if (s.started || s.stopped) return;
  const auto& ep = s.cfg.listen;
  error_code ec;
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    s.acceptor.close(ignored);
    throw boost::system::system_error(ec, "cannot listen on " + detail::to_string(ep));
  }
  s.started = true;
  s.log("listening on " + detail::to_string(local_endpoint()));
  asio::co_spawn(s.ex, detail::accept_loop(state_), detail::log_failure(state_, "accept loop"));
  for (auto& [id, p] : s.peers) detail::spawn_peer(state_, p.get());
}

void transport::stop() {
  auto& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  error_code ignored;
  s.acceptor.close(ignored);
  for (auto& [id, p] : s.peers) {
    p->wake.cancel();
    p->retry.cancel();
    if (p->conn) p->conn->close();
    p->queue.clear();
    p->queue_bytes = 0;
    p->stats.connected = false;
  }
  for (auto& [serial, c] : s.inbound) c->close();
  s.delay_timer.cancel();
  s.held.clear();
}

boost::asio::ip::tcp::endpoint transport::local_endpoint() const {
  error_code ec;
  auto ep = state_->acceptor.local_endpoint(ec);
  return ec ? tcp::endpoint{} : ep;
}

void transport::set_peer(core::node_id id, boost::asio::ip::tcp::endpoint endpoint) {
  auto& s = *state_;
  if (id == s.cfg.self || id == core::no_node) return;
  if (auto* p = s.find_peer(id)) {
    p->endpoint = endpoint;
    return;
  }
  auto [it, added] = s.peers.emplace(id, std::make_unique<detail::peer_state>(s.ex, id, endpoint));
  (void)added;
  if (s.started && !s.stopped) detail::spawn_peer(state_, it->second.get());
}

bool transport::send(core::message m) {
  auto& s = *state_;
  detail::peer_state* p = s.find_peer(m.to);
  if (s.stopped || p == nullptr || m.from != s.cfg.self) {
    ++s.totals.dropped_invalid;
    return false;
  }
  if (s.faults.isolated || s.faults.cut_out.contains(m.to)) {
    ++p->stats.dropped_fault_out;
    return false;
  }
  if (s.faults.drop_per_mille > 0 && s.rng() % 1000 < s.faults.drop_per_mille) {
    ++p->stats.dropped_fault_out;
    return false;
  }
  if (p->queue.size() >= s.cfg.queue_messages_max) {
    ++p->stats.dropped_queue_full;
    return false;
  }
  std::string bytes = encode(m);
  if (bytes.size() - 4 > s.cfg.max_frame_bytes) {
    ++s.totals.dropped_invalid;
    s.log("dropped a " + std::string(core::to_string(m.type)) + " of " + std::to_string(bytes.size()) +
          " bytes to node " + std::to_string(m.to) + ": larger than max_frame_bytes");
    return false;
  }
  if (!p->queue.empty() && p->queue_bytes + bytes.size() > s.cfg.queue_bytes_max) {
    ++p->stats.dropped_queue_full;
    return false;
  }
  p->queue_bytes += bytes.size();
  p->queue.push_back({std::move(bytes), m.type});
  p->wake.cancel();
  return true;
}

void transport::isolate(bool on) { state_->faults.isolated = on; }

void transport::cut(core::node_id peer, direction d, bool on) {
  auto& f = state_->faults;
  const auto apply = [&](std::set<core::node_id>& set) {
    if (on) {
      set.insert(peer);
    } else {
      set.erase(peer);
    }
  };
  if (d == direction::in || d == direction::both) apply(f.cut_in);
  if (d == direction::out || d == direction::both) apply(f.cut_out);
}

void transport::drop_per_mille(std::uint32_t n) { state_->faults.drop_per_mille = std::min(n, 1000u); }

void transport::delay(std::chrono::milliseconds d) {
  state_->faults.delay = std::max(d, std::chrono::milliseconds(0));
}

fault_settings transport::faults() const { return state_->faults; }

transport_stats transport::stats() const {
  const auto& s = *state_;
  transport_stats out = s.totals;
  out.held = s.held.size();
  for (const auto& [id, p] : s.peers) {
    peer_stats ps = p->stats;
    ps.queued = p->queue.size();
    out.peers.emplace(id, std::move(ps));
  }
  return out;
}

}  // namespace raftkv::net
