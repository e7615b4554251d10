// Bodies for raftkv/server/host.hpp; compiled once by lib/server_net.cpp.
#pragma once

#include <raftkv/net/transport.hpp>
#include <raftkv/server/host.hpp>
#include <raftkv/storage/writer.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>
#include <utility>

namespace raftkv::server {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const char* to_string(outcome o) noexcept {
  switch (o) {
    case outcome::ok: return "ok";
    case outcome::not_leader: return "not_leader";
    case outcome::no_leader: return "no_leader";
    case outcome::busy: return "busy";
    case outcome::outcome_unknown: return "outcome_unknown";
    case outcome::timeout: return "timeout";
    case outcome::read_failed: return "read_failed";
  }
  return "unknown";
}

/// One waiting client request. The driver fills it and cancels the timer; the
/// request's coroutine waits on the timer, whose expiry is the request timeout.
struct host::waiter {
  explicit waiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool done = false;                ///< set once; later finish() calls are ignored
  outcome result = outcome::ok;
  core::entry_id entry{};           ///< writes: where it went
  kv::apply_result applied{};       ///< writes: the state machine's answer
  core::index_t read_index = 0;     ///< reads: the index to wait for

  void finish(outcome o) {
    if (done) return;
    done = true;
    result = o;
    timer.cancel();
  }
};

namespace {

asio::ip::tcp::endpoint endpoint_of(const host_port& hp) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(hp.host == "localhost" ? "127.0.0.1" : hp.host, ec);
  if (ec) throw std::invalid_argument("cannot use address '" + hp.host + "' (give an IP address)");
  return {addr, hp.port};
}

}  // namespace

host::host(asio::any_io_executor ex, const server_options& opts, log_sink log)
    : ex_(ex), opts_(opts), log_(std::move(log)), tick_timer_(ex), started_(std::chrono::steady_clock::now()) {
  // Addresses first: a bad --peers must not leave a data directory behind.
  net::transport_config tc;
  tc.self = opts_.id;
  tc.cluster_id = opts_.cluster_id;
  tc.listen = endpoint_of(opts_.self());
  for (const auto& [id, hp] : opts_.peers) {
    if (id != opts_.id) tc.peers[id] = endpoint_of(hp);
  }
  replica_options ro;
  ro.raft.id = opts_.id;
  for (const auto& [id, _] : opts_.peers) ro.raft.voters.push_back(id);
  ro.raft.election_ticks = opts_.election_ticks;
  ro.raft.heartbeat_ticks = opts_.heartbeat_ticks;
  // Different nodes must draw different election timeouts.
  std::random_device rd;
  ro.raft.seed = ((std::uint64_t{rd()} << 32 | rd()) * 0x9e3779b97f4a7c15ULL) ^ opts_.id;
  next_read_context_ = ((std::uint64_t{rd()} << 32 | rd()) >> 2) + 1;
  ro.data_dir = opts_.data_dir;
  ro.cluster_id = opts_.cluster_id;
  ro.snapshot_entries = opts_.snapshot_entries;
  ro.compact_keep = opts_.compact_keep;
  rep_ = replica::open(ro);
  // this->log: the parameter `log` (moved into log_ above) shadows the member.
  for (const std::string& w : rep_->recovery_warnings()) this->log("recovery: " + w);

  tc.log = [this](std::string_view line) { this->log(line); };
  tc.on_message = [this](core::message m) { on_peer_message(std::move(m)); };
  net_ = std::make_unique<net::transport>(ex_, std::move(tc));
  disk_ = std::make_unique<storage::sync_thread>(4);
}

host::~host() {
  stop();
  alive_.reset();
}

void host::log(std::string_view line) const {
  if (log_) log_(line);
}

void host::start() {
  net_->start();
  auto self = this;
  asio::co_spawn(ex_, tick_loop(), [self](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      self->log(std::string("tick loop failed: ") + ex.what());
    }
  });
  log("node " + std::to_string(opts_.id) + " started: Raft on " + opts_.self().str() + ", client API on " +
      api_url(opts_.id) + ", data in " + opts_.data_dir + ", term " + std::to_string(raft().term()) +
      ", commit " + std::to_string(raft().log().committed()));
  switch (opts_.admin) {
    case admin_access::open: log("admin and fault routes: open (the API listens on loopback only)"); break;
    case admin_access::token: log("admin and fault routes: need 'Authorization: Bearer <token>'"); break;
    case admin_access::off:
      log(is_loopback(opts_.self().host) ? "admin and fault routes: off (--no-admin)"
                                         : "admin and fault routes: off (the API is not on loopback; give "
                                           "--admin-token to use them)");
      break;
  }
}

void host::stop() {
  if (stopped_) return;
  stopped_ = true;
  tick_timer_.cancel();
  if (net_) net_->stop();
  disk_.reset();  // runs the job in flight to its end; its completion is dropped
  cycle_.reset();
  for (auto& [_, p] : writes_) p.w->finish(outcome::timeout);
  for (auto& [_, w] : reads_) w->finish(outcome::timeout);
  for (auto& [_, w] : parked_reads_) w->finish(outcome::timeout);
  writes_.clear();
  reads_.clear();
  parked_reads_.clear();
}

asio::awaitable<void> host::tick_loop() {
  while (!stopped_) {
    tick_timer_.expires_after(std::chrono::milliseconds(opts_.tick_ms));
    auto [ec] = co_await tick_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopped_) break;
    if (paused_ || fatal_) continue;
    rep_->raft().tick();
    pump();
  }
}

void host::on_peer_message(core::message m) {
  if (stopped_ || fatal_) return;
  if (paused_) {
    ++peer_messages_dropped_paused_;
    return;
  }
  ++peer_messages_in_;
  last_heard_ms_[m.from] = now_ms();
  (void)rep_->raft().step(std::move(m));  // a refusal is an event already
  pump();
}

void host::pump() {
  // Readies with nothing to sync are finished here, one after the other; after
  // this many the rest waits for a posted pump(), so sockets and timers are
  // served between them whatever the core keeps producing.
  constexpr int max_inline_cycles = 16;
  int inline_cycles = 0;
  while (!stopped_ && !fatal_ && !cycle_) {
    if (inline_cycles == max_inline_cycles) {
      asio::post(ex_, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (!alive.expired()) pump();
      });
      return;
    }
    auto c = rep_->begin();
    if (!c) return;
    cycle_ = std::move(c);
    note_ready(cycle_->rd);
    for (core::message& m : cycle_->rd.messages) net_->send(std::move(m));
    // What begin() applied was durable already: answer it now, not after
    // this cycle's fsync. Confirmed reads need no disk either.
    if (!cycle_->early.applied.empty()) {
      note_applied(cycle_->rd, cycle_->early);
      complete_writes(cycle_->early);
    }
    complete_reads(cycle_->rd);
    serve_parked_reads();
    const disk_job& job = cycle_->job;
    if (!job.batch.sync && !job.save && job.compact_to == 0) {
      // Nothing to make durable (at most a commit index is recorded, without
      // an fsync): done here, without a round trip through the disk thread.
      std::optional<std::string> err;
      try {
        rep_->write(cycle_->job);
      } catch (const std::exception& e) {
        err = e.what();
      }
      finish_cycle(err, 0);
      ++inline_cycles;
      continue;
    }
    cycle* cp = &*cycle_;
    replica* rp = rep_.get();
    std::weak_ptr<bool> alive = alive_;
    asio::any_io_executor ex = ex_;
    const bool submitted = disk_->try_submit([cp, rp, ex, alive, this] {
      const auto t0 = std::chrono::steady_clock::now();
      std::optional<std::string> err;
      try {
        rp->write(cp->job);
      } catch (const std::exception& e) {
        err = e.what();
      }
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      asio::post(ex, [alive, err, ms, this] {
        if (alive.expired()) return;
        on_written(err, ms);
      });
    });
    if (!submitted) fail("the disk queue is full");
    return;
  }
}

void host::on_written(std::optional<std::string> error, double write_ms) {
  finish_cycle(std::move(error), write_ms);
  pump();
}

void host::finish_cycle(std::optional<std::string> error, double write_ms) {
  if (stopped_ || !cycle_) return;
  if (error) {
    fail("disk write failed: " + *error);
    return;
  }
  if (cycle_->job.batch.sync && (cycle_->job.batch.hard || !cycle_->job.batch.entries.empty() ||
                                 cycle_->job.batch.restored)) {
    std::size_t b = 0;
    while (b < fsync_buckets_ms_.size() && write_ms > fsync_buckets_ms_[b]) ++b;
    ++fsync_hist_[b];
    fsync_sum_ms_ += write_ms;
    ++fsync_count_;
  }
  note_overwrites(cycle_->job.batch.entries);  // before finish() replaces them in the stable log
  const finish_result out = rep_->finish(*cycle_);
  note_applied(cycle_->rd, out);
  for (core::message& m : cycle_->rd.messages_after_persist) net_->send(std::move(m));
  committed_ += cycle_->rd.committed_entries.size();
  complete_writes(out);
  if (std::exchange(lost_leadership_, false)) {
    // The rest cannot be answered either way: 504, a retry with the same session is safe.
    for (auto& [_, p] : writes_) p.w->finish(outcome::outcome_unknown);
    writes_.clear();
  }
  serve_parked_reads();
  cycle_.reset();
}

std::uint64_t host::now_ms() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count());
}

void host::note(std::string kind, std::string text) {
  if (events_.size() == status_query::max_events_kept) events_.pop_front();
  log("[" + kind + "] " + text);
  events_.push_back({now_ms(), raft().term(), std::move(kind), std::move(text)});
  ++event_seq_;
}

void host::note_ready(const core::ready& rd) {
  const std::uint64_t now = now_ms();
  for (const core::event& e : rd.events) {
    if (e.kind == core::event_kind::election_started) ++elections_;
    if (events_.size() == status_query::max_events_kept) events_.pop_front();
    events_.push_back({now, e.term, std::string(core::to_string(e.kind)), e.text});
    ++event_seq_;
    // The routine events of every write batch and read round stay in the
    // timeline only: in the log they were a line (and a flushed write) per
    // batch, thousands a second under load.
    if (e.kind == core::event_kind::commit_advanced || e.kind == core::event_kind::read_index) continue;
    log("[term " + std::to_string(e.term) + "] " + e.text);
  }
  if (rd.soft) {
    if (rd.soft->leader != last_leader_) {
      ++leader_changes_;
      last_leader_ = rd.soft->leader;
    }
    // Proposals made while we led may or may not commit under the next
    // leader. Those this Ready applies are answered first (finish_cycle).
    if (rd.soft->state != core::role::leader) lost_leadership_ = true;
  }
}

namespace {

/// A log entry's command in words.
std::string describe_entry(const core::entry& e) {
  if (e.type == core::entry_type::noop) return "no-op (a new leader's first entry)";
  auto c = kv::decode(e.data);
  if (!c) return "undecodable command (" + std::to_string(e.data.size()) + " bytes)";
  return kv::describe(*c);
}

}  // namespace

void host::note_overwrites(const std::vector<core::entry>& entries) {
  if (entries.empty()) return;
  const core::memory_storage& stable = rep_->stable_log();
  const core::index_t first = std::max(entries.front().index, stable.first_index());
  const core::index_t last = stable.last_index();
  if (first > last) return;
  const std::uint64_t now = now_ms();
  for (core::index_t i = first; i <= last; ++i) {
    auto old_term = stable.term(i);
    if (!old_term) continue;
    const core::index_t k = i - entries.front().index;
    const core::term_t new_term = k < entries.size() ? entries[k].term : 0;
    if (new_term == *old_term) continue;
    auto old = stable.entries(i, i + 1, UINT64_MAX);
    if (overwritten_.size() == max_overwrites_kept) overwritten_.pop_front();
    overwritten_.push_back({i, *old_term, new_term, old && !old->empty() ? describe_entry(old->front()) : "", now});
  }
}

void host::note_applied(const core::ready& rd, const finish_result& out) {
  for (auto a = out.applied.rbegin(); a != out.applied.rend(); ++a) {
    if (a->result.status != kv::apply_status::ok || a->result.duplicate) continue;
    for (const core::entry& e : rd.committed_entries) {
      if (e.index != a->id.index) continue;
      if (auto c = kv::decode(e.data)) last_change_ = change{c->key, a->result.revision, now_ms()};
      return;
    }
  }
}

void host::complete_writes(const finish_result& out) {
  for (const applied_command& a : out.applied) {
    auto it = writes_.find(a.id.index);
    if (it == writes_.end()) continue;
    if (it->second.term == a.id.term) {
      it->second.w->applied = a.result;
      it->second.w->finish(outcome::ok);
    } else {
      it->second.w->finish(outcome::outcome_unknown);
    }
    writes_.erase(it);
  }
  // Anything at or below the applied index that did not match was replaced
  // by another leader's entry.
  const core::index_t applied = rep_->state().applied_index();
  while (!writes_.empty() && writes_.begin()->first <= applied) {
    writes_.begin()->second.w->finish(outcome::outcome_unknown);
    writes_.erase(writes_.begin());
  }
}

void host::complete_reads(const core::ready& rd) {
  for (const core::read_state& rs : rd.read_states) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end()) continue;
    it->second->read_index = rs.index;
    parked_reads_.emplace(rs.index, it->second);
    reads_.erase(it);
  }
  for (std::uint64_t ctx : rd.reads_dropped) {
    auto it = reads_.find(ctx);
    if (it == reads_.end()) continue;
    it->second->finish(outcome::read_failed);
    reads_.erase(it);
  }
}

void host::serve_parked_reads() {
  const core::index_t applied = rep_->state().applied_index();
  while (!parked_reads_.empty() && parked_reads_.begin()->first <= applied) {
    parked_reads_.begin()->second->finish(outcome::ok);
    parked_reads_.erase(parked_reads_.begin());
  }
}

void host::fail(std::string why) {
  if (fatal_) return;
  fatal_ = why;
  log("FATAL: " + why + "; stopping (a failed disk write is never retried)");
  for (auto& [_, p] : writes_) p.w->finish(outcome::outcome_unknown);
  writes_.clear();
  if (on_fatal_) on_fatal_();
}

asio::awaitable<write_answer> host::write(kv::command cmd) {
  write_answer a;
  if (paused_ || fatal_ || stopped_) {
    a.result = outcome::busy;
    co_return a;
  }
  auto r = rep_->raft().propose(kv::encode(cmd));
  a.leader = raft().leader();
  if (!r) {
    ++proposals_refused_;
    a.result = r.error() == errc::not_leader ? outcome::not_leader
               : r.error() == errc::no_leader ? outcome::no_leader
                                              : outcome::busy;
    co_return a;
  }
  ++proposals_;
  auto w = std::make_shared<waiter>(ex_);
  w->entry = *r;
  writes_[r->index] = {r->term, w};
  w->timer.expires_after(std::chrono::milliseconds(opts_.request_timeout_ms));
  pump();
  if (!w->done) {
    auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    w->finish(outcome::timeout);  // no effect when the driver finished it
  }
  a.result = w->result;
  a.entry = w->entry;
  a.applied = w->applied;
  a.leader = raft().leader();
  co_return a;
}

asio::awaitable<read_answer> host::read_barrier() {
  read_answer a;
  if (paused_ || fatal_ || stopped_) {
    a.result = outcome::busy;
    co_return a;
  }
  const std::uint64_t ctx = next_read_context_++;
  auto r = rep_->raft().read_index(ctx);
  a.leader = raft().leader();
  if (!r) {
    a.result = r.error() == errc::no_leader ? outcome::no_leader
               : r.error() == errc::not_leader ? outcome::not_leader
                                               : outcome::busy;
    co_return a;
  }
  auto w = std::make_shared<waiter>(ex_);
  reads_[ctx] = w;
  w->timer.expires_after(std::chrono::milliseconds(opts_.request_timeout_ms));
  pump();
  if (!w->done) {
    auto [ec] = co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    w->finish(outcome::timeout);
  }
  a.result = w->result;
  a.read_index = w->read_index;
  a.leader = raft().leader();
  co_return a;
}

std::string host::api_url(core::node_id node) const {
  return "http://" + opts_.peers.at(node).host + ":" + std::to_string(opts_.api_port_of(node));
}

asio::ip::tcp::endpoint host::api_endpoint() const {
  return {endpoint_of(opts_.self()).address(), opts_.api_port_of(opts_.id)};
}

result<void> host::campaign() {
  auto r = rep_->raft().campaign();
  note("action", r ? "campaign asked: starting an election now"
                   : "campaign refused: " + r.error().message());
  pump();
  return r;
}

result<void> host::transfer(core::node_id to) {
  auto r = rep_->raft().transfer_leader(to);
  note("action", r ? "leadership transfer to node " + std::to_string(to) + " asked"
                   : "leadership transfer to node " + std::to_string(to) + " refused: " + r.error().message());
  pump();
  return r;
}

bool host::snapshot_now() {
  const bool taken = rep_->snapshot_now();
  note("action", taken ? "snapshot taken at applied index " + std::to_string(rep_->state().applied_index()) +
                             "; the log behind it will be compacted"
                       : "snapshot not taken: nothing applied since the last one");
  pump();
  return taken;
}

void host::pause(bool on) {
  if (paused_ == on) return;
  paused_ = on;
  note("action", on ? "paused: no ticks, every peer message dropped (like a frozen process)" : "resumed");
  if (!on) pump();
}

void host::isolate(bool on) {
  if (on) {
    net_->isolate(true);
    note("fault", "isolated: every peer message in and out is dropped");
    return;
  }
  const net::fault_settings f = net_->faults();
  net_->isolate(false);
  for (core::node_id p : f.cut_in) net_->cut(p, net::direction::in, false);
  for (core::node_id p : f.cut_out) net_->cut(p, net::direction::out, false);
  net_->drop_per_mille(0);
  net_->delay(std::chrono::milliseconds(0));
  note("fault", "healed: every network fault undone");
}

void host::cut(core::node_id peer, bool in, bool out, bool on) {
  const net::direction d = in && out ? net::direction::both : in ? net::direction::in : net::direction::out;
  net_->cut(peer, d, on);
  const std::string what = in && out ? "the link with node " : in ? "messages from node " : "messages to node ";
  note("fault", (on ? "cut " : "restored ") + what + std::to_string(peer));
}

void host::drop_per_mille(std::uint32_t per_mille) {
  net_->drop_per_mille(per_mille);
  note("fault", per_mille == 0 ? "message drop off"
                               : "dropping " + std::to_string(per_mille / 10) + "." + std::to_string(per_mille % 10) +
                                     "% of outgoing peer messages");
}

void host::delay(std::chrono::milliseconds ms) {
  net_->delay(ms);
  note("fault", ms.count() == 0 ? "message delay off"
                                : "holding incoming peer messages " + std::to_string(ms.count()) + " ms");
}


nlohmann::json host::status_json(const status_query& q) const {
  using nlohmann::json;
  const core::node_status st = raft().status();
  const std::uint64_t now = now_ms();
  json j{{"id", st.id},
         {"role", std::string(core::to_string(st.state))},
         {"term", st.term},
         {"vote", st.vote},
         {"leader", st.leader},
         {"commit", st.commit},
         {"applied", st.applied},
         {"first_index", st.first_index},
         {"last_index", st.last_index},
         {"last_term", st.last_term},
         {"snapshot_index", st.snapshot_index},
         {"snapshot_term", st.snapshot_term},
         {"election_elapsed_ticks", st.election_elapsed},
         {"election_timeout_ticks", st.election_timeout},
         {"heartbeat_elapsed_ticks", st.heartbeat_elapsed},
         {"heartbeat_timeout_ticks", st.heartbeat_timeout},
         {"uptime_ms", now},
         {"paused", paused_},
         {"transfer_target", st.transfer_target},
         {"pending_reads", st.pending_reads},
         {"api_url", api_url(opts_.id)},
         {"cluster_id", opts_.cluster_id},
         {"data_dir", opts_.data_dir},
         {"tick_ms", opts_.tick_ms},
         {"heartbeat_ticks", opts_.heartbeat_ticks},
         {"election_ticks", opts_.election_ticks}};
  if (st.leader != core::no_node) j["leader_url"] = api_url(st.leader);
  j["kv"] = {{"keys", state().size()}, {"bytes", state().bytes()}, {"revision", state().revision()},
             {"applied_index", state().applied_index()}, {"sessions", state().session_count()}};
  const net::transport_stats ns = net_->stats();
  json peers = json::array();
  for (const auto& [id, hp] : opts_.peers) {
    if (id == opts_.id) continue;
    json p{{"id", id}, {"address", hp.str()}, {"api_url", api_url(id)}};
    if (auto it = ns.peers.find(id); it != ns.peers.end()) {
      p["connected"] = it->second.connected;
      p["messages_sent"] = it->second.sent;
      p["messages_received"] = it->second.received;
      p["messages_dropped"] =
          it->second.dropped_queue_full + it->second.dropped_fault_out + it->second.dropped_fault_in;
      if (!it->second.last_error.empty()) p["last_error"] = it->second.last_error;
    }
    for (const core::peer_status& ps : st.peers) {
      if (ps.id != id) continue;
      p["match"] = ps.match;
      p["next"] = ps.next;
      p["state"] = std::string(core::to_string(ps.state));
      p["inflight"] = ps.inflight;
      p["recent_active"] = ps.recent_active;
      p["ticks_since_ack"] = ps.ticks_since_contact;
      if (ps.state == core::progress_state::snapshot) {
        p["snapshot"] = {{"index", ps.snapshot_index}, {"acked_bytes", ps.snapshot_acked}, {"bytes", ps.snapshot_bytes}};
      }
    }
    if (auto it = last_heard_ms_.find(id); it != last_heard_ms_.end()) p["last_contact_ms"] = now - it->second;
    peers.push_back(std::move(p));
  }
  j["peers"] = std::move(peers);
  const net::fault_settings f = net_->faults();
  j["faults"] = {{"paused", paused_}, {"isolated", f.isolated}, {"cut_in", f.cut_in}, {"cut_out", f.cut_out},
                 {"drop_per_mille", f.drop_per_mille}, {"delay_ms", f.delay.count()}};
  json evs = json::array();
  const std::size_t n_events = std::min(q.events, events_.size());
  for (std::size_t i = events_.size() - n_events; i < events_.size(); ++i) {
    const auto& e = events_[i];
    evs.push_back({{"seq", event_seq_ - (events_.size() - i)}, {"term", e.term}, {"kind", e.kind}, {"text", e.text},
                   {"at_ms", e.at_ms}, {"age_ms", now - e.at_ms}});
  }
  j["events"] = std::move(evs);
  if (q.log != 0) {
    j["log"] = log_window(q);
    json gone = json::array();
    for (const overwrite& o : overwritten_) {
      if (now - o.at_ms > 10000) continue;
      gone.push_back({{"index", o.index}, {"old_term", o.old_term}, {"new_term", o.new_term},
                      {"old_command", o.old_command}, {"age_ms", now - o.at_ms}});
    }
    j["overwritten"] = std::move(gone);
  }
  if (q.keys != 0) {
    json items = json::array();
    constexpr std::size_t shown_bytes = 256;
    for (const kv::key_value& kvp : state().page(q.keys_skip, std::min(q.keys, status_query::max_window), shown_bytes + 1)) {
      json it{{"key", kvp.key}, {"mod_revision", kvp.mod_revision}, {"version", kvp.version}};
      if (kvp.value.size() > shown_bytes) {
        it["value"] = kvp.value.substr(0, shown_bytes);
        it["value_truncated"] = true;
      } else {
        it["value"] = kvp.value;
      }
      items.push_back(std::move(it));
    }
    j["kv"]["skip"] = q.keys_skip;
    j["kv"]["items"] = std::move(items);
  }
  if (last_change_) {
    j["kv"]["last_change"] = {{"key", last_change_->key}, {"revision", last_change_->revision},
                              {"age_ms", now - last_change_->at_ms}};
  }
  if (fatal_) j["fatal"] = *fatal_;
  return j;
}

nlohmann::json host::log_window(const status_query& q) const {
  using nlohmann::json;
  const core::raft_log& lg = raft().log();
  const core::index_t last = lg.last_index();
  const core::index_t first = lg.first_index();
  const std::size_t n = std::min(q.log, status_query::max_log_window);
  json out = json::array();
  if (last < first || q.log_skip > last - first) return out;
  const core::index_t hi = last - q.log_skip;  // inclusive
  const core::index_t lo = hi - first + 1 > n ? hi - n + 1 : first;
  // Newest first, one entry at a time, until the byte budget is spent: a
  // window of large values must not stall the Raft thread.
  std::vector<core::entry> ents;
  std::uint64_t bytes = 0;
  for (core::index_t i = hi; i >= lo && bytes < status_query::log_window_bytes_max; --i) {
    auto one = lg.slice(i, i + 1, UINT64_MAX, 1);
    if (!one || one->empty()) break;
    bytes += one->front().data.size();
    ents.push_back(std::move(one->front()));
    if (i == lo) break;
  }
  std::reverse(ents.begin(), ents.end());
  const std::uint64_t now = now_ms();
  for (const core::entry& e : ents) {
    json je{{"index", e.index}, {"term", e.term}, {"command", describe_entry(e)},
            {"type", e.type == core::entry_type::noop ? "noop" : "normal"}};
    for (auto o = overwritten_.rbegin(); o != overwritten_.rend(); ++o) {
      if (o->index != e.index) continue;
      je["replaced"] = {{"old_term", o->old_term}, {"old_command", o->old_command}, {"age_ms", now - o->at_ms}};
      break;
    }
    out.push_back(std::move(je));
  }
  return out;
}

std::string host::metrics_text() const {
  std::ostringstream o;
  const core::node_status st = raft().status();
  const auto g = [&](const char* name, const char* help, const char* type, auto value) {
    o << "# HELP raftkv_" << name << " " << help << "\n# TYPE raftkv_" << name << " " << type << "\n"
      << "raftkv_" << name << " " << value << "\n";
  };
  g("term", "current Raft term", "gauge", st.term);
  g("is_leader", "1 when this node leads", "gauge", st.state == core::role::leader ? 1 : 0);
  g("commit_index", "highest committed log index", "gauge", st.commit);
  g("applied_index", "highest index applied to the state machine", "gauge", st.applied);
  g("apply_lag", "commit index minus applied index", "gauge", st.commit - st.applied);
  g("proposals_total", "writes proposed by this node", "counter", proposals_);
  g("proposals_refused_total", "writes refused before proposing (not leader, no leader, busy)", "counter", proposals_refused_);
  g("committed_entries_total", "log entries applied by this node", "counter", committed_);
  g("elections_total", "elections this node started", "counter", elections_);
  g("leader_changes_total", "changes of the known leader", "counter", leader_changes_);
  g("peer_messages_dropped_paused_total", "peer messages dropped while paused", "counter", peer_messages_dropped_paused_);
  g("http_connections_refused_total", "client connections closed at once: --max-connections were open", "counter",
    connections_refused_);
  const net::transport_stats ns = net_->stats();
  g("peer_handshakes_refused_total", "inbound peer connections refused at the handshake (another cluster, an unknown node, another protocol version)",
    "counter", ns.refused);
  g("peer_connections_malformed_total", "inbound peer connections closed for malformed or oversized frames", "counter",
    ns.closed_malformed);
  g("peer_messages_invalid_total", "outgoing peer messages refused (unknown destination, oversized)", "counter",
    ns.dropped_invalid);
  g("peer_messages_delay_full_total", "incoming peer messages dropped because the delay fault held its maximum",
    "counter", ns.dropped_delay_full);
  o << "# HELP raftkv_messages_total peer messages by direction and type\n# TYPE raftkv_messages_total counter\n";
  for (std::size_t t = 0; t < ns.sent_by_type.size(); ++t) {
    const auto name = core::to_string(static_cast<core::message_type>(t));
    o << "raftkv_messages_total{dir=\"out\",type=\"" << name << "\"} " << ns.sent_by_type[t] << "\n";
    o << "raftkv_messages_total{dir=\"in\",type=\"" << name << "\"} " << ns.received_by_type[t] << "\n";
  }
  o << "# HELP raftkv_messages_dropped_total peer messages dropped, by peer and reason\n# TYPE raftkv_messages_dropped_total counter\n";
  for (const auto& [id, p] : ns.peers) {
    o << "raftkv_messages_dropped_total{peer=\"" << id << "\",reason=\"queue_full\"} " << p.dropped_queue_full << "\n";
    o << "raftkv_messages_dropped_total{peer=\"" << id << "\",reason=\"fault\"} "
      << p.dropped_fault_out + p.dropped_fault_in << "\n";
  }
  o << "# HELP raftkv_fsync_duration_ms disk write + fsync time per Ready batch\n# TYPE raftkv_fsync_duration_ms histogram\n";
  std::uint64_t cum = 0;
  for (std::size_t b = 0; b < fsync_buckets_ms_.size(); ++b) {
    cum += fsync_hist_[b];
    o << "raftkv_fsync_duration_ms_bucket{le=\"" << fsync_buckets_ms_[b] << "\"} " << cum << "\n";
  }
  cum += fsync_hist_.back();
  o << "raftkv_fsync_duration_ms_bucket{le=\"+Inf\"} " << cum << "\n";
  o << "raftkv_fsync_duration_ms_sum " << fsync_sum_ms_ << "\nraftkv_fsync_duration_ms_count " << fsync_count_ << "\n";
  o << "# HELP raftkv_http_requests_total HTTP answers by status\n# TYPE raftkv_http_requests_total counter\n";
  for (const auto& [code, n] : http_by_status_) o << "raftkv_http_requests_total{status=\"" << code << "\"} " << n << "\n";
  return o.str();
}

}  // namespace raftkv::server
