// tools/raftkv-server/console.cpp: the TUI's ':' commands, run on the node's
// io_context thread.
#include "console.hpp"

#include <raftkv/kv/command.hpp>

#include <boost/asio/co_spawn.hpp>

#include <string>

namespace raftkv::server_tool {

namespace {

client::options client_options(const server::host& node) {
  client::options o;
  const server::server_options& so = node.options();
  auto add = [&](core::node_id id) {
    auto e = client::parse_endpoint(so.peers.at(id).host + ":" + std::to_string(so.api_port_of(id)));
    if (e) o.peers.push_back(*e);
  };
  add(so.id);  // ask this node first: the trace shows a redirect when it follows
  for (const auto& [id, _] : so.peers) {
    if (id != so.id) add(id);
  }
  o.deadline = std::chrono::milliseconds(8000);
  return o;
}

/// Shows a key or value in a sentence: quoted, control bytes escaped, cut.
std::string shown(const std::string& bytes) { return "\"" + kv::printable(bytes, 60) + "\""; }

}  // namespace

console::console(boost::asio::any_io_executor ex, server::host& node)
    : node_(node), client_(std::move(ex), client_options(node)) {}

void console::say(std::string text) { node_.note("command", std::move(text)); }

boost::asio::awaitable<void> console::run(tui::console_command c) {
  using k = tui::console_command::kind;
  switch (c.what) {
    case k::put:
    case k::del: {
      auto op = write(std::move(c));
      co_await std::move(op);
      co_return;
    }
    case k::get: {
      auto op = get(std::move(c));
      co_await std::move(op);
      co_return;
    }
    case k::keys: {
      const auto items = node_.state().list(c.key, 21);
      std::string line = "keys" + (c.key.empty() ? std::string() : " with prefix " + shown(c.key)) + " on this node: ";
      if (items.empty()) line += "none";
      for (std::size_t i = 0; i < items.size() && i < 20; ++i) {
        line += (i == 0 ? "" : ", ") + shown(items[i].key) + "=" + shown(items[i].value);
      }
      if (items.size() > 20) line += ", ... (the State machine pane scrolls)";
      say(line);
      co_return;
    }
    case k::status: {
      const core::node_status st = node_.raft().status();
      say("status: " + std::string(core::to_string(st.state)) + " in term " + std::to_string(st.term) + ", leader " +
          (st.leader == core::no_node ? std::string("unknown") : std::to_string(st.leader)) + ", commit " +
          std::to_string(st.commit) + ", applied " + std::to_string(st.applied) + ", last log " +
          std::to_string(st.last_index) + " (term " + std::to_string(st.last_term) + "), snapshot " +
          std::to_string(st.snapshot_index) + ", " + std::to_string(node_.state().size()) + " keys");
      co_return;
    }
    case k::campaign: (void)node_.campaign(); co_return;
    case k::transfer: (void)node_.transfer(c.number); co_return;
    case k::snapshot: (void)node_.snapshot_now(); co_return;
    case k::pause: node_.pause(true); co_return;
    case k::resume: node_.pause(false); co_return;
    case k::isolate: node_.isolate(true); co_return;
    case k::heal: node_.isolate(false); co_return;
    case k::cut:
    case k::restore:
      if (c.number == node_.options().id || node_.options().peers.count(c.number) == 0) {
        say("no member " + std::to_string(c.number) + " to cut or restore");
        co_return;
      }
      node_.cut(c.number, true, true, c.what == k::cut);
      co_return;
    case k::drop: node_.drop_per_mille(static_cast<std::uint32_t>(c.number)); co_return;
    case k::delay: node_.delay(std::chrono::milliseconds(c.number)); co_return;
    case k::help:
    case k::quit: co_return;  // the screen handles these
  }
}

boost::asio::awaitable<void> console::write(tui::console_command c) {
  const bool is_put = c.what == tui::console_command::kind::put;
  const std::string what = is_put ? "put " + shown(c.key) + "=" + shown(c.value) : "del " + shown(c.key);
  client::answer a;
  if (is_put) {
    auto op = client_.put(c.key, c.value);
    a = co_await std::move(op);
  } else {
    auto op = client_.del(c.key);
    a = co_await std::move(op);
  }
  std::string line = what + ": ";
  if (a.ok()) {
    line += "ok at log index " + std::to_string(a.body.value("index", 0ull)) + ", revision " +
            std::to_string(a.body.value("revision", 0ull));
  } else {
    line += a.message.empty() ? a.error : a.message;
  }
  line += " · " + client::format_trace(a.hops, a.elapsed_ms);
  say(line);
}

boost::asio::awaitable<void> console::get(tui::console_command c) {
  if (c.stale) {
    auto v = node_.state().get(c.key);
    say("get " + shown(c.key) + " (stale, from this node at applied index " +
        std::to_string(node_.state().applied_index()) + "): " +
        (v ? shown(v->value) + " (mod_revision " + std::to_string(v->mod_revision) + ")" : std::string("not found")));
    co_return;
  }
  // Linearizable: a ReadIndex round through the leader (§6.4), then this node's state.
  auto op = node_.read_barrier();
  const server::read_answer r = co_await std::move(op);
  if (r.result != server::outcome::ok) {
    say("get " + shown(c.key) + ": linearizable read failed (" + server::to_string(r.result) +
        "); try get " + shown(c.key) + " --stale for this node's own copy");
    co_return;
  }
  auto v = node_.state().get(c.key);
  say("get " + shown(c.key) + " (linearizable, read index " + std::to_string(r.read_index) + "): " +
      (v ? shown(v->value) + " (mod_revision " + std::to_string(v->mod_revision) + ")" : std::string("not found")));
}

}  // namespace raftkv::server_tool
