// render() for raftkv/tui/server_view.hpp: the server screen as a pure
// function of the view model and the UI state. Compiled once by lib/tui.cpp.
#pragma once

#include <raftkv/tui/server_view.hpp>

#include <algorithm>
#include <cstdio>

namespace raftkv::tui {

namespace {

style role_style(const std::string& role) {
  style s{color::follower, true};
  if (role == "leader") s.fg = color::leader;
  if (role == "candidate") s.fg = color::candidate;
  if (role == "pre_candidate") s.fg = color::pre_candidate;
  return s;
}

std::string role_name(const std::string& role) {
  if (role == "leader") return "LEADER";
  if (role == "candidate") return "CANDIDATE";
  if (role == "pre_candidate") return "PRE-CANDIDATE";
  return "FOLLOWER";
}

std::string node_name(std::uint64_t id) { return id == 0 ? "none" : std::to_string(id); }

/// "01:23.4" from milliseconds.
std::string clock(std::uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02llu:%02llu.%llu", static_cast<unsigned long long>(ms / 60000),
                static_cast<unsigned long long>(ms / 1000 % 60), static_cast<unsigned long long>(ms / 100 % 10));
  return buf;
}

std::string ago(std::uint64_t ms) {
  char buf[32];
  if (ms < 10000) {
    std::snprintf(buf, sizeof buf, "%.1fs ago", static_cast<double>(ms) / 1000);
  } else {
    std::snprintf(buf, sizeof buf, "%llus ago", static_cast<unsigned long long>(ms / 1000));
  }
  return buf;
}

/// Draws "label [bar] n/m ticks" from x; returns the column after it.
int timer(screen& s, int x, int y, const std::string& label, int elapsed, int timeout, int bar_w, style on) {
  x += s.put(x, y, label + " ");
  const int filled = timeout <= 0 ? 0 : std::min(bar_w, (std::max(0, elapsed) * bar_w + timeout - 1) / timeout);
  s.bar(x, y, bar_w, filled, on, style{color::none, false, true});
  x += bar_w;
  x += s.put(x, y, " " + std::to_string(elapsed) + "/" + std::to_string(timeout) + " ticks");
  return x;
}

void header(const server_view& v, screen& s) {
  const int w = s.width();
  const style title{color::accent, true};
  int x = s.put(0, 0, " raftkv node " + std::to_string(v.id) + " ", title);
  style badge = role_style(v.role);
  badge.reverse = true;
  x += s.put(x, 0, " " + role_name(v.role) + " ", badge);
  std::string leader = v.leader == 0 ? "none known" : std::to_string(v.leader);
  if (v.leader != 0 && v.leader == v.id) leader += " (this node)";
  x += s.put(x, 0, "  term " + std::to_string(v.term) + " · voted for " + node_name(v.vote) + " · leader " + leader);
  const std::string right = v.api_url + " · up " + clock(v.uptime_ms) + " ";
  if (x + columns(right) + 1 < w) s.put_right(w, 0, right, style{color::none, false, true});

  s.put(0, 1, " commit " + std::to_string(v.commit) + " · applied " + std::to_string(v.applied) + " · last " +
                  std::to_string(v.last_index) + " (term " + std::to_string(v.last_term) + ") · snapshot " +
                  std::to_string(v.snapshot_index) + " (term " + std::to_string(v.snapshot_term) + ") · " +
                  std::to_string(v.keys) + " keys · rev " + std::to_string(v.revision));

  if (!v.fatal.empty()) {
    s.put(0, 2, " FATAL: " + v.fatal, style{color::bad, true, false, true});
    return;
  }
  const int bar_w = w >= 100 ? 20 : 10;
  if (v.role == "leader") {
    x = timer(s, 1, 2, "heartbeat", v.heartbeat_elapsed, v.heartbeat_timeout, std::max(3, bar_w / 3),
              style{color::leader});
    x = timer(s, x + 2, 2, "quorum check", v.election_elapsed, v.election_timeout, bar_w, style{color::warn});
  } else {
    const style on{v.election_elapsed * 4 >= v.election_timeout * 3 ? color::bad : color::warn};
    x = timer(s, 1, 2, "election timer", v.election_elapsed, v.election_timeout, bar_w, on);
    const char* why = v.role == "follower"    ? " · the leader's heartbeats reset it; full: election"
                      : v.role == "candidate" ? " · waiting for votes; full: a new term"
                                              : " · asking for pre-votes; full: try again";
    if (x + columns(why) < w - 20) x += s.put(x, 2, why, style{color::none, false, true});
  }
  // Badges, right-aligned: what was done to this node.
  std::string badges;
  if (v.transfer_target != 0) badges += " transferring to " + std::to_string(v.transfer_target) + " ";
  if (v.paused) badges += " PAUSED ";
  if (v.isolated) badges += " ISOLATED ";
  if (v.drop_per_mille != 0) {
    badges += " drop " + std::to_string(v.drop_per_mille / 10) + "." + std::to_string(v.drop_per_mille % 10) + "% ";
  }
  if (v.delay_ms != 0) badges += " delay " + std::to_string(v.delay_ms) + "ms ";
  if (!badges.empty()) s.put_right(w, 2, badges, style{color::fault, true, false, true});
}

void peers_pane(const server_view& v, const ui_state& ui, const layout& l, screen& s) {
  const int w = s.width();
  s.box(0, l.peers_y, w, l.peers_h, "Peers", ui.focus == pane::peers);
  // Columns: node, address, link, heard, then the leader's view of each follower.
  const int addr_w = w >= 100 ? 21 : 15;
  const int c_addr = 6, c_link = c_addr + addr_w + 1, c_heard = c_link + 14, c_match = c_heard + 10;
  const int c_next = c_match + 7, c_infl = c_next + 7, c_state = c_infl + 6;
  const style dim{color::none, false, true};
  const int y0 = l.peers_y + 1;
  s.put(2, y0, "id", dim);
  s.put(c_addr, y0, "address", dim);
  s.put(c_link, y0, "link", dim);
  s.put(c_heard, y0, "heard", dim);
  s.put(c_match, y0, "match", dim);
  s.put(c_next, y0, "next", dim);
  s.put(c_infl, y0, "infl", dim);
  s.put(c_state, y0, "progress", dim, w - 1 - c_state);
  int y = y0 + 1;
  if (v.peers.empty() && y < l.peers_y + l.peers_h - 1) s.put(2, y, "(a cluster of one: no other members)", dim);
  for (const peer_row& p : v.peers) {
    if (y >= l.peers_y + l.peers_h - 1) break;
    s.put(2, y, std::to_string(p.id), style{color::none, true}, 3);
    s.put(c_addr, y, ellipsize(p.address, addr_w), {});
    std::string link = p.connected ? "connected" : "down";
    style ls{p.connected ? color::good : color::bad};
    if (p.cut_in || p.cut_out) {
      link = p.cut_in && p.cut_out ? "CUT" : p.cut_in ? "CUT incoming" : "CUT outgoing";
      ls = style{color::fault, true};
    }
    if (v.isolated) link = "ISOLATED", ls = style{color::fault, true};
    s.put(c_link, y, link, ls, 13);
    const bool fresh = p.last_contact_ms && *p.last_contact_ms < 2000;
    s.put(c_heard, y, p.last_contact_ms ? ago(*p.last_contact_ms) : "never", fresh ? style{} : dim, 9);
    if (p.has_progress) {
      s.put(c_match, y, std::to_string(p.match), {}, 6);
      s.put(c_next, y, std::to_string(p.next), {}, 6);
      s.put(c_infl, y, std::to_string(p.inflight), {}, 5);
      std::string prog = p.state;
      if (p.state == "snapshot" && p.snapshot_bytes != 0) {
        prog += " " + std::to_string(p.snapshot_acked * 100 / p.snapshot_bytes) + "%";
      }
      if (!p.recent_active) prog += " (silent)";
      const style ps{p.state == "replicate" ? color::good : p.state == "snapshot" ? color::accent : color::warn};
      s.put(c_state, y, prog, ps, w - 1 - c_state);
    } else if (y == y0 + 1) {
      s.put(c_match, y, "(the leader tracks these)", dim, w - 1 - c_match);
    }
    ++y;
  }
}

void log_pane(const server_view& v, const ui_state& ui, const layout& l, screen& s) {
  const int x0 = 0, w = l.left_w;
  std::string title = "Log ●applied ◐committed ○not yet";
  if (ui.log_skip != 0) title = "Log (scrolled back " + std::to_string(ui.log_skip) + ")";
  s.box(x0, l.mid_y, w, l.log_h, title, ui.focus == pane::log);
  // Lines to draw, oldest first: entries, a snapshot boundary, removed entries.
  struct line {
    std::string text;
    style st;
    std::string mark;
  };
  std::vector<line> lines;
  for (const log_row& e : v.log) {
    if (e.index == v.snapshot_index + 1 && v.snapshot_index != 0) {
      lines.push_back({"── snapshot ≤ " + std::to_string(v.snapshot_index) + " (term " +
                           std::to_string(v.snapshot_term) + ") ──",
                       style{color::accent}, ""});
    }
    std::string mark = e.index <= v.applied ? "●" : e.index <= v.commit ? "◐" : "○";
    style st{e.index <= v.applied ? color::none : e.index <= v.commit ? color::warn : color::none, false,
             e.index > v.commit};
    std::string text = std::to_string(e.index) + " t" + std::to_string(e.term) + " " + e.command;
    if (e.noop) st.dim = true;
    const bool replaced = e.replaced && e.replaced_age_ms < replaced_mark_ms;
    if (replaced) {
      st = style{color::bad, true, false, true};
      mark = "!";
    }
    lines.push_back({std::move(text), st, std::move(mark)});
    // What it replaced goes on a line of its own: log panes are narrow.
    if (replaced) lines.push_back({"  ↳ replaced " + *e.replaced, style{color::bad, true}, ""});
  }
  // A snapshot through the newest entry: the boundary closes the list.
  if (!v.log.empty() && v.snapshot_index != 0 && v.log.back().index == v.snapshot_index) {
    lines.push_back({"── snapshot ≤ " + std::to_string(v.snapshot_index) + " (term " +
                         std::to_string(v.snapshot_term) + ") ──",
                     style{color::accent}, ""});
  }
  if (v.log.empty() && v.snapshot_index != 0) {
    lines.push_back({"── snapshot ≤ " + std::to_string(v.snapshot_index) + " ──", style{color::accent}, ""});
  }
  for (const std::string& r : v.removed) lines.push_back({"removed " + r, style{color::bad, true, false, true}, "✗"});
  const int rows = l.log_rows();
  const std::size_t first = lines.size() > static_cast<std::size_t>(rows) ? lines.size() - static_cast<std::size_t>(rows) : 0;
  int y = l.mid_y + 1;
  for (std::size_t i = first; i < lines.size(); ++i, ++y) {
    const line& ln = lines[i];
    if (ln.mark.empty()) {
      s.put(x0 + 2, y, ln.text, ln.st, w - 4);
      continue;
    }
    style ms = ln.st;
    if (ln.mark == "●") ms = style{color::good};
    s.put(x0 + 1, y, ln.mark, ms);
    s.put(x0 + 3, y, ellipsize(ln.text, w - 4), ln.st);
  }
  if (v.log.empty() && v.snapshot_index == 0) s.put(x0 + 2, l.mid_y + 1, "(empty)", style{color::none, false, true});
}

void kv_pane(const server_view& v, const ui_state& ui, const layout& l, screen& s) {
  const int y0 = l.mid_y + l.log_h, w = l.left_w;
  std::string title = "State machine: " + std::to_string(v.keys) + " keys";
  if (v.keys > static_cast<std::uint64_t>(l.kv_rows())) {
    title += " (" + std::to_string(std::min<std::uint64_t>(v.kv_skip + 1, v.keys)) + "-" +
             std::to_string(std::min<std::uint64_t>(v.kv_skip + v.items.size(), v.keys)) + ")";
  }
  s.box(0, y0, w, l.kv_h, title, ui.focus == pane::kv);
  int y = y0 + 1;
  for (const kv_row& r : v.items) {
    if (y >= y0 + l.kv_h - 1) break;
    const bool last = v.last_change && *v.last_change == r.key;
    const std::string rev = " r" + std::to_string(r.mod_revision);
    const int room = w - 3 - columns(rev);
    style ks{color::none, true};
    style vs{};
    if (last) {
      ks = vs = style{color::good, true, false, v.last_change_age_ms < 3000};
    }
    int x = 2;
    x += s.put(x, y, r.key, ks, std::max(1, room / 2));
    x += s.put(x, y, " = ", style{color::none, false, true});
    s.put(x, y, ellipsize(r.value + (r.truncated ? "..." : ""), room - (x - 2)), vs);
    s.put_right(w - 1, y, rev, style{color::none, false, true});
    ++y;
  }
  if (v.items.empty()) s.put(2, y0 + 1, v.keys == 0 ? "(no keys yet: try :put greeting hello)" : "(scrolled past the end)", style{color::none, false, true}, w - 4);
}

style event_style(const std::string& kind) {
  if (kind == "became_leader") return {color::leader, true};
  if (kind == "stepped_down" || kind == "vote_refused" || kind == "append_rejected" || kind == "log_truncated" ||
      kind == "proposal_refused")
    return {color::bad};
  if (kind == "election_timeout" || kind == "election_started" || kind == "pre_vote_started" ||
      kind == "votes_counted" || kind == "term_changed")
    return {color::candidate};
  if (kind == "vote_granted" || kind == "commit_advanced") return {color::good};
  if (kind == "action" || kind == "command") return {color::accent, true};
  if (kind == "fault") return {color::fault, true};
  if (kind == "snapshot" || kind == "transfer") return {color::accent};
  return {};
}

/// Columns of event text in the events pane of a `width`-wide screen.
int event_text_width(const layout& l, int width) { return width - l.left_w - 2 - 9; }

/// Lines the events take once wrapped.
std::size_t event_lines(const server_view& v, int text_w) {
  std::size_t n = 0;
  for (const event_row& e : v.events) n += wrap("t" + std::to_string(e.term) + " " + e.text, text_w).size();
  return n;
}

void events_pane(const server_view& v, const ui_state& ui, const layout& l, screen& s) {
  const int x0 = l.left_w, w = s.width() - l.left_w;
  std::string title = "Events: what happened and why";
  if (ui.events_skip != 0) title = "Events (scrolled back; End returns)";
  s.box(x0, l.mid_y, w, l.mid_h, title, ui.focus == pane::events);
  struct line {
    std::string text;
    style st;
    bool first;
    std::uint64_t at_ms;
  };
  std::vector<line> lines;
  const int text_w = event_text_width(l, s.width());  // after the "01:23.4 " column
  for (const event_row& e : v.events) {
    const auto parts = wrap("t" + std::to_string(e.term) + " " + e.text, text_w);
    for (std::size_t i = 0; i < parts.size(); ++i) lines.push_back({parts[i], event_style(e.kind), i == 0, e.at_ms});
  }
  const int rows = l.mid_h - 2;
  const std::size_t max_skip = lines.size() > static_cast<std::size_t>(rows) ? lines.size() - static_cast<std::size_t>(rows) : 0;
  const std::size_t skip = std::min(ui.events_skip, max_skip);
  const std::size_t end = lines.size() - skip;
  const std::size_t first = end > static_cast<std::size_t>(rows) ? end - static_cast<std::size_t>(rows) : 0;
  int y = l.mid_y + 1;
  for (std::size_t i = first; i < end; ++i, ++y) {
    if (lines[i].first) s.put(x0 + 1, y, clock(lines[i].at_ms), style{color::none, false, true});
    s.put(x0 + 9, y, lines[i].text, lines[i].st, text_w + 1);
  }
}

void footer(const server_view& v, const ui_state& ui, const layout& l, screen& s) {
  const int y = l.footer_y, w = s.width();
  if (ui.prompting != ui_state::prompt::none) {
    std::string label;
    switch (ui.prompting) {
      case ui_state::prompt::command: label = ":"; break;
      case ui_state::prompt::transfer: label = "transfer leadership to node: "; break;
      case ui_state::prompt::cut: label = "cut/restore the link to node: "; break;
      case ui_state::prompt::drop: label = "drop per mille of outgoing messages (0..1000, Enter): "; break;
      case ui_state::prompt::delay: label = "delay incoming messages by ms (0..60000, Enter): "; break;
      case ui_state::prompt::none: break;
    }
    const std::string hint = " Esc cancels ";
    int x = s.put(0, y, label, style{color::accent, true});
    // The text scrolls sideways so that the cursor stays in view.
    const int room = std::max(1, w - x - columns(hint));
    const int cur_col = columns(std::string_view(ui.input).substr(0, ui.cursor));
    const int shift = cur_col >= room ? cur_col - room + 1 : 0;
    const std::u32string cps = decode_utf8(ui.input);
    std::string shown;
    for (std::size_t i = static_cast<std::size_t>(shift); i < cps.size(); ++i) append_utf8(shown, cps[i]);
    s.put(x, y, shown, {}, room);
    const int cur = x + cur_col - shift;
    std::string ch;
    append_utf8(ch, s.at(cur, y).ch);
    s.put(cur, y, ch, style{color::none, false, false, true});
    s.put_right(w, y, hint, style{color::none, false, true});
    return;
  }
  if (!ui.flash.empty()) {
    s.put(0, y, " " + ui.flash, style{color::warn, true}, w);
    return;
  }
  // The answer to the last `:` command stays here a while: on a busy node
  // the events pane scrolls it away within seconds.
  for (auto it = v.events.rbegin(); it != v.events.rend(); ++it) {
    if (it->kind != "command") continue;
    if (v.uptime_ms >= it->at_ms && v.uptime_ms - it->at_ms < command_answer_ms) {
      s.put(0, y, " = " + it->text, style{color::accent, true}, w);
      return;
    }
    break;
  }
  const char* keys = " c campaign  t transfer  s snapshot  p pause  i isolate  x cut  d drop  l delay  : command"
                     "  Tab focus  ? help  q quit";
  s.put(0, y, keys, style{color::none, false, false, true}, w);
  s.restyle(columns(keys), y, w - columns(keys), style{color::none, false, false, true});
}

void help_overlay(screen& s) {
  static constexpr const char* lines[] = {
      "c         campaign: start an election now (§5.2)",
      "t N       transfer leadership to node N (thesis §3.10)",
      "s         snapshot the state machine now, compact the log (§7)",
      "p         pause / resume this node (a frozen process)",
      "i         isolate this node / heal every fault",
      "h         heal: undo every network fault",
      "x N       cut / restore the link to node N",
      "d N       drop N per mille of outgoing messages",
      "l N       hold incoming messages N ms",
      ":         command line: put k v · get k [--stale] · del k",
      "          keys [prefix] · status · campaign · transfer N ...",
      "Tab       focus the next pane; ↑↓ PgUp PgDn Home End scroll",
      "q Ctrl+C  quit (this node stops; the others go on)",
      "",
      "Log: ● applied  ◐ committed, not applied  ○ not committed",
      "     ! replaced by a new leader's entry (§5.3)",
      "Any key closes this help.",
  };
  const int n = static_cast<int>(std::size(lines));
  const int w = std::min(s.width() - 2, 66), h = std::min(s.height() - 2, n + 2);
  const int x = (s.width() - w) / 2, y = (s.height() - h) / 2;
  s.fill(x, y, w, h);
  s.box(x, y, w, h, "Keys", true);
  for (int i = 0; i < n && i < h - 2; ++i) s.put(x + 2, y + 1 + i, lines[i], {}, w - 4);
}

}  // namespace

void clamp_scroll(ui_state& ui, const server_view& v, int width, int height) {
  const layout l = compute_layout(width, height, v.peers.size());
  if (l.too_small) return;
  const auto room = [](std::uint64_t total, int rows) -> std::size_t {
    const auto r = static_cast<std::uint64_t>(std::max(rows, 1));
    return static_cast<std::size_t>(total > r ? total - r : 0);
  };
  const std::uint64_t entries = v.last_index >= v.first_index ? v.last_index - v.first_index + 1 : 0;
  ui.log_skip = std::min(ui.log_skip, room(entries, l.log_rows()));
  ui.kv_skip = std::min(ui.kv_skip, room(v.keys, l.kv_rows()));
  ui.events_skip = std::min(ui.events_skip, room(event_lines(v, event_text_width(l, width)), l.mid_h - 2));
}

void render(const server_view& v, const ui_state& ui, screen& s) {
  s.clear();
  const layout l = compute_layout(s.width(), s.height(), v.peers.size());
  if (l.too_small) {
    s.put(0, 0, "terminal too small: " + std::to_string(s.width()) + "x" + std::to_string(s.height()) +
                    ", raftkv-server needs " + std::to_string(min_width) + "x" + std::to_string(min_height));
    s.put(0, 1, "q quits");
    return;
  }
  if (!v.valid) {
    s.put(1, 0, "raftkv-server: starting...", style{color::accent, true});
    footer(v, ui, l, s);
    return;
  }
  header(v, s);
  peers_pane(v, ui, l, s);
  log_pane(v, ui, l, s);
  kv_pane(v, ui, l, s);
  events_pane(v, ui, l, s);
  footer(v, ui, l, s);
  if (ui.help) help_overlay(s);
}

}  // namespace raftkv::tui
