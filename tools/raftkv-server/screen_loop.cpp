// tools/raftkv-server/screen_loop.cpp: see screen_loop.hpp.
#include "screen_loop.hpp"

#include "console.hpp"
#include "split_run.hpp"
#include "terminal.hpp"

#include <raftkv/tui/console.hpp>
#include <raftkv/tui/server_view.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

namespace raftkv::server_tool {

namespace asio = boost::asio;

namespace {

/// What the two threads share: the newest snapshot one way, the windows the
/// screen wants the other way. Nothing else crosses.
struct exchange {
  std::mutex m;
  std::shared_ptr<const nlohmann::json> status;  ///< newest snapshot (guarded by m)
  std::atomic<std::size_t> log_rows{20}, log_skip{0}, kv_rows{20}, kv_skip{0};
  std::atomic<bool> quit{false};     ///< the screen is closing
  std::atomic<bool> stopped{false};  ///< the io thread ended
};

constexpr auto publish_every = std::chrono::milliseconds(50);

/// On the io thread: a fresh snapshot every 50 ms.
asio::awaitable<void> publish(server::host* node, std::shared_ptr<exchange> x) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer t(ex);
  while (!x->quit) {
    server::status_query q;
    q.events = server::status_query::max_events_kept;
    q.log = x->log_rows;
    q.log_skip = x->log_skip;
    q.keys = x->kv_rows;
    q.keys_skip = x->kv_skip;
    auto snap = std::make_shared<const nlohmann::json>(node->status_json(q));
    {
      std::lock_guard lock(x->m);
      x->status = std::move(snap);
    }
    t.expires_after(publish_every);
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
  }
}

void log_failure(server::host* node, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    node->note("command", std::string("command failed: ") + ex.what());
  }
}

/// Runs an action on the io thread; true when it asks to quit.
bool dispatch(asio::io_context& io, server::host& node, std::shared_ptr<console> con, const tui::action& a,
              tui::ui_state& ui) {
  using k = tui::action::kind;
  server::host* n = &node;
  const std::uint64_t num = a.number;
  switch (a.what) {
    case k::none: return false;
    case k::quit: return true;
    case k::campaign: asio::post(io, [n] { (void)n->campaign(); }); return false;
    case k::transfer: asio::post(io, [n, num] { (void)n->transfer(num); }); return false;
    case k::snapshot: asio::post(io, [n] { (void)n->snapshot_now(); }); return false;
    case k::pause: asio::post(io, [n] { n->pause(true); }); return false;
    case k::resume: asio::post(io, [n] { n->pause(false); }); return false;
    case k::isolate: asio::post(io, [n] { n->isolate(true); }); return false;
    case k::heal: asio::post(io, [n] { n->isolate(false); }); return false;
    case k::cut: asio::post(io, [n, num] { n->cut(num, true, true, true); }); return false;
    case k::restore: asio::post(io, [n, num] { n->cut(num, true, true, false); }); return false;
    case k::drop: asio::post(io, [n, num] { n->drop_per_mille(static_cast<std::uint32_t>(num)); }); return false;
    case k::delay: asio::post(io, [n, num] { n->delay(std::chrono::milliseconds(num)); }); return false;
    case k::command: {
      auto parsed = tui::parse_console(a.line);
      if (auto* err = std::get_if<std::string>(&parsed)) {
        ui.flash = *err;
        return false;
      }
      tui::console_command c = std::get<tui::console_command>(parsed);
      if (c.what == tui::console_command::kind::quit) return true;
      if (c.what == tui::console_command::kind::help) {
        ui.help = true;
        return false;
      }
      asio::co_spawn(io, con->run(std::move(c)), [n, con](std::exception_ptr e) { log_failure(n, e); });
      return false;
    }
  }
  return false;
}

/// The screen thread's loop: keys, the newest snapshot, drawing; until quit
/// or the io thread stops.
void loop(term::terminal& term, asio::io_context& io, server::host& node, std::shared_ptr<console> con,
          exchange& xr) {
  exchange* x = &xr;
  term::terminal* t = &term;
  tui::ui_state ui;
  tui::screen scr(t->width(), t->height());
  std::shared_ptr<const nlohmann::json> shown;
  tui::server_view view;
  bool quit_asked = false;
  while (!x->stopped) {
    int k = t->read_key(static_cast<int>(publish_every.count()));
    for (; k != -1; k = t->read_key(0)) {
      if (k == tui::key::resize) scr = tui::screen(t->width(), t->height());
      const tui::action a = tui::handle_key(ui, k, view);
      if (dispatch(io, node, con, a, ui)) {
        quit_asked = true;
        break;
      }
    }
    if (quit_asked) break;
    std::shared_ptr<const nlohmann::json> newest;
    {
      std::lock_guard lock(x->m);
      newest = x->status;
    }
    if (newest && newest != shown) {
      shown = newest;
      view = tui::view_from_status(*shown);
    }
    tui::clamp_scroll(ui, view, scr.width(), scr.height());
    const tui::layout l = tui::compute_layout(scr.width(), scr.height(), view.peers.size());
    x->log_rows = static_cast<std::size_t>(std::max(1, l.log_rows()));
    x->log_skip = ui.log_skip;
    x->kv_rows = static_cast<std::size_t>(std::max(1, l.kv_rows()));
    x->kv_skip = ui.kv_skip;
    tui::render(view, ui, scr);
    t->draw(scr);
  }
}

}  // namespace

bool run_screen(asio::io_context& io, server::host& node, std::function<void()> stop) {
  std::unique_ptr<term::terminal> t;
  try {
    t = std::make_unique<term::terminal>();
  } catch (const std::exception&) {
    return false;
  }
  auto x = std::make_shared<exchange>();
  auto con = std::make_shared<console>(io.get_executor(), node);
  asio::co_spawn(io, publish(&node, x), [n = &node](std::exception_ptr e) { log_failure(n, e); });
  term::split_run(
      io, [&] { loop(*t, io, node, con, *x); },
      [&] {
        x->quit = true;
        if (!x->stopped) asio::post(io, std::move(stop));
      },
      [x] { x->stopped = true; }, [&] { t.reset(); });
  return true;
}

}  // namespace raftkv::server_tool
