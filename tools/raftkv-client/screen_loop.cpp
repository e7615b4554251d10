// tools/raftkv-client/screen_loop.cpp: see screen_loop.hpp.
#include "screen_loop.hpp"

#include "split_run.hpp"
#include "terminal.hpp"

#include <raftkv/tui/client_view.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

namespace raftkv::client_tool {

namespace asio = boost::asio;

namespace {

/// What the screen thread and the io thread share, under `m`.
struct exchange {
  std::mutex m;
  tui::client_view view;                  ///< the screen copies it each frame
  std::deque<std::size_t> queued;         ///< transcript positions waiting to run, oldest first
  std::vector<client::hop> live;          ///< hops of the running request
  std::chrono::steady_clock::time_point started{};  ///< when the running request began
  std::size_t dropped = 0;                ///< transcript entries dropped off the front (positions shift)
  bool running = false;
  std::uint64_t generation = 0;           ///< bumped on every change of `view`; the screen copies on change
  std::atomic<bool> quit{false};
  static constexpr std::size_t max_queued = 32;
  static constexpr std::size_t max_out_lines = 200;  ///< output lines kept per command
};

constexpr auto poll_every = std::chrono::seconds(1);

tui::transcript_entry* entry_at(exchange& x, std::size_t absolute) {
  if (absolute < x.dropped) return nullptr;
  const std::size_t i = absolute - x.dropped;
  return i < x.view.transcript.size() ? &x.view.transcript[i] : nullptr;
}

/// On the io thread: every node's status once a second.
asio::awaitable<void> poll(client::client c, std::shared_ptr<exchange> x) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  while (!x->quit) {
    auto op = c.status_all();
    std::vector<client::node_status> all = co_await std::move(op);
    {
      std::lock_guard lock(x->m);
      x->view.nodes.clear();
      for (const client::node_status& n : all) {
        x->view.nodes.push_back(tui::cluster_row_from_status(n.target.str(), n.reachable, n.error, n.body, n.elapsed_ms));
      }
      ++x->generation;
    }
    t.expires_after(poll_every);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
}

/// On the io thread: runs queued lines one at a time until the queue is empty.
asio::awaitable<void> drain(client::client c, std::shared_ptr<exchange> x) {
  for (;;) {
    std::size_t at = 0;
    std::string line;
    {
      std::lock_guard lock(x->m);
      if (x->queued.empty() || x->quit) {
        x->running = false;
        co_return;
      }
      at = x->queued.front();
      x->queued.pop_front();
      x->live.clear();
      x->started = std::chrono::steady_clock::now();
      if (auto* e = entry_at(*x, at)) line = e->line;
    }
    auto op = client::run_line(c, line, false);
    client::printable p = co_await std::move(op);
    std::lock_guard lock(x->m);
    if (p.quit) x->quit = true;
    auto* e = entry_at(*x, at);
    if (e == nullptr) continue;
    e->done = true;
    e->code = p.code;
    std::size_t from = 0, lines = 0;
    while (from < p.out.size()) {
      const std::size_t nl = p.out.find('\n', from);
      if (++lines <= exchange::max_out_lines) {
        e->out.push_back(p.out.substr(from, nl == std::string::npos ? std::string::npos : nl - from));
      }
      if (nl == std::string::npos) break;
      from = nl + 1;
    }
    if (lines > exchange::max_out_lines) {
      e->out.push_back("... " + std::to_string(lines - exchange::max_out_lines) +
                       " more lines (the one-shot mode prints them all)");
    }
    e->err = p.err;
    e->trace = p.hops.empty() ? std::string() : client::format_trace(p.hops, p.elapsed_ms);
    ++x->generation;
  }
}

/// Shows why a coroutine ended early, as a transcript line. When the command
/// runner failed (`runner`), the running command fails and the queue is
/// dropped, so new lines start a fresh runner.
void note_failure(exchange& x, const std::string& what, std::exception_ptr e, bool runner) {
  if (!e) return;
  std::string why = "unknown error";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    why = ex.what();
  }
  std::lock_guard lock(x.m);
  if (runner) {
    for (auto& entry : x.view.transcript) {
      if (!entry.done) {
        entry.done = true;
        entry.code = 1;
        entry.err = what + ": " + why;
      }
    }
    x.running = false;
    x.queued.clear();
  } else {
    x.view.transcript.push_back({"(cluster pane)", true, 1, {}, what + ": " + why, ""});
  }
  ++x.generation;
}

/// Queues a typed line (on the screen thread) and starts the runner if idle.
void submit(asio::io_context& io, const client::client& c, const std::shared_ptr<exchange>& x, std::string line) {
  std::lock_guard lock(x->m);
  if (x->queued.size() >= exchange::max_queued) {
    x->view.transcript.push_back({std::move(line), true, 1, {},
                                  "not run: " + std::to_string(exchange::max_queued) + " commands are already waiting",
                                  ""});
  } else {
    x->view.transcript.push_back({std::move(line), false, 0, {}, "", ""});
    x->queued.push_back(x->dropped + x->view.transcript.size() - 1);
    if (!x->running) {
      x->running = true;
      asio::co_spawn(io, drain(c, x), [x](std::exception_ptr e) { note_failure(*x, "the command failed", e, true); });
    }
  }
  // Bounded transcript: finished entries leave from the front.
  while (x->view.transcript.size() > tui::client_view::max_transcript && x->view.transcript.front().done) {
    x->view.transcript.pop_front();
    ++x->dropped;
  }
  ++x->generation;
}

/// The screen thread's loop: keys, the newest view, drawing; until quit.
void loop(term::terminal& t, asio::io_context& io, const client::client& c, const std::shared_ptr<exchange>& x) {
  tui::client_ui ui;
  tui::screen scr(t.width(), t.height());
  tui::client_view snapshot;
  std::uint64_t copied = UINT64_MAX;
  while (!x->quit) {
    int k = t.read_key(50);
    for (; k != -1 && !x->quit; k = t.read_key(0)) {
      if (k == tui::key::resize) scr = tui::screen(t.width(), t.height());
      const tui::client_action a = tui::handle_client_key(ui, k);
      if (a.what == tui::client_action::kind::quit) {
        x->quit = true;
        break;
      }
      if (a.what == tui::client_action::kind::run) submit(io, c, x, a.line);
    }
    {
      std::lock_guard lock(x->m);
      if (x->generation != copied) {
        snapshot = x->view;
        copied = x->generation;
      }
    }
    const std::size_t lines = tui::transcript_lines(snapshot, scr.width() - 4);
    ui.scroll = std::min(ui.scroll, lines);
    tui::render(snapshot, ui, scr);
    t.draw(scr);
  }
}

}  // namespace

bool run_screen(const client::options& base) {
  std::unique_ptr<term::terminal> t;
  try {
    t = std::make_unique<term::terminal>();
  } catch (const std::exception&) {
    return false;
  }
  auto x = std::make_shared<exchange>();
  asio::io_context io(1);
  auto work = asio::make_work_guard(io);
  client::options opts = base;
  // Each hop of the running request shows at once (on the io thread).
  opts.on_hop = [x](const client::hop& h) {
    std::lock_guard lock(x->m);
    x->live.push_back(h);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - x->started).count();
    for (auto& e : x->view.transcript) {
      if (!e.done) {
        e.trace = client::format_trace(x->live, ms);
        ++x->generation;
        break;
      }
    }
  };
  client::client c(io.get_executor(), opts);
  for (const client::endpoint& e : opts.peers) {
    tui::cluster_row r;
    r.target = e.str();
    x->view.nodes.push_back(std::move(r));
  }
  asio::co_spawn(io, poll(c, x), [x](std::exception_ptr e) { note_failure(*x, "the cluster poll stopped", e, false); });
  term::split_run(
      io, [&] { loop(*t, io, c, x); },
      [&] {
        x->quit = true;
        work.reset();
        io.stop();
      },
      [] {}, [&] { t.reset(); });
  return true;
}

}  // namespace raftkv::client_tool
