// Bodies for raftkv/tui/client_view.hpp; compiled once by lib/tui.cpp.
#pragma once

#include <raftkv/tui/client_view.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace raftkv::tui {

cluster_row cluster_row_from_status(std::string target, bool reachable, std::string error,
                                    const nlohmann::json& st, double ms) {
  cluster_row r;
  r.target = std::move(target);
  r.polled = true;
  r.reachable = reachable && st.is_object();
  r.error = std::move(error);
  r.ms = ms;
  if (!r.reachable) return r;
  auto num = [&](const char* name) -> std::uint64_t {
    auto it = st.find(name);
    if (it == st.end() || !it->is_number_integer()) return 0;
    return it->is_number_unsigned() ? it->get<std::uint64_t>() : static_cast<std::uint64_t>(std::max<std::int64_t>(0, it->get<std::int64_t>()));
  };
  r.id = num("id");
  r.term = num("term");
  r.leader = num("leader");
  r.commit = num("commit");
  r.applied = num("applied");
  r.last_index = num("last_index");
  auto role = st.find("role");
  r.role = role != st.end() && role->is_string() ? role->get<std::string>() : "";
  return r;
}

client_action handle_client_key(client_ui& ui, int k) {
  switch (k) {
    case key::ctrl_c: return {client_action::kind::quit, {}};
    case 4:  // Ctrl+D on an empty line
      if (ui.input.empty()) return {client_action::kind::quit, {}};
      return {};
    case key::enter:
    case '\r': {
      std::string line = std::move(ui.input);
      ui.input.clear();
      ui.cursor = 0;
      ui.scroll = 0;
      if (line.find_first_not_of(' ') == std::string::npos) {
        ui.history.reset();
        return {};
      }
      ui.history.add(line);
      return {client_action::kind::run, std::move(line)};
    }
    case key::up:
    case key::down:
      ui.input = ui.history.browse(k == key::up);
      ui.cursor = ui.input.size();
      return {};
    case key::page_up: ui.scroll += 10; return {};
    case key::page_down: ui.scroll = ui.scroll > 10 ? ui.scroll - 10 : 0; return {};
    case key::escape:
      ui.input.clear();
      ui.cursor = 0;
      ui.history.reset();
      return {};
    default: edit_line(ui.input, ui.cursor, k); return {};
  }
}

namespace {

struct styled_line {
  std::string text;
  style st;
};

std::vector<styled_line> transcript_wrapped(const client_view& v, int width) {
  std::vector<styled_line> out;
  const style prompt{color::accent, true}, dim{color::none, false, true}, bad{color::bad, true};
  for (const transcript_entry& e : v.transcript) {
    for (const auto& l : wrap("raftkv> " + e.line, width)) out.push_back({l, prompt});
    for (const std::string& o : e.out) {
      for (const auto& l : wrap(o, width)) out.push_back({l, {}});
    }
    if (!e.err.empty()) {
      for (const auto& l : wrap(e.err, width)) out.push_back({l, bad});
    }
    if (!e.done) {
      for (const auto& l : wrap("… " + (e.trace.empty() ? std::string("waiting for the first answer") : e.trace),
                                width)) {
        out.push_back({l, style{color::warn}});
      }
    } else if (!e.trace.empty()) {
      for (const auto& l : wrap(e.trace, width)) out.push_back({l, dim});
    }
  }
  return out;
}

style role_color(const std::string& role) {
  if (role == "leader") return {color::leader, true};
  if (role == "candidate") return {color::candidate, true};
  if (role == "pre_candidate") return {color::pre_candidate, true};
  return {color::follower};
}

}  // namespace

std::size_t transcript_lines(const client_view& v, int width) { return transcript_wrapped(v, width).size(); }

void render(const client_view& v, const client_ui& ui, screen& s) {
  s.clear();
  const int w = s.width(), h = s.height();
  if (w < 40 || h < 10) {
    s.put(0, 0, "terminal too small: raftkv-client needs 40x10; Ctrl+C quits");
    return;
  }
  // Title: who leads, as the newest term among the answers says.
  const cluster_row* leader = nullptr;
  for (const cluster_row& r : v.nodes) {
    if (r.reachable && r.role == "leader" && (leader == nullptr || r.term > leader->term)) leader = &r;
  }
  int x = s.put(0, 0, " raftkv-client ", style{color::accent, true});
  std::string summary = std::to_string(v.nodes.size()) + " nodes · ";
  summary += leader != nullptr ? "leader: node " + std::to_string(leader->id) + " (" + leader->target + ", term " +
                                     std::to_string(leader->term) + ")"
                               : "no leader known";
  s.put(x, 0, summary, leader != nullptr ? style{} : style{color::warn, true});

  // Cluster pane.
  const int rows = static_cast<int>(v.nodes.size());
  const int box_h = std::min(rows + 3, h / 2);
  s.box(0, 1, w, box_h, "Cluster (polled every second)", false);
  const style dim{color::none, false, true};
  const int c_addr = 2, c_node = c_addr + 22, c_role = c_node + 6, c_term = c_role + 15, c_leader = c_term + 7,
            c_commit = c_leader + 8, c_applied = c_commit + 8, c_ms = c_applied + 9;
  s.put(c_addr, 2, "address", dim);
  s.put(c_node, 2, "node", dim);
  s.put(c_role, 2, "role", dim);
  s.put(c_term, 2, "term", dim);
  s.put(c_leader, 2, "leader", dim);
  s.put(c_commit, 2, "commit", dim);
  s.put(c_applied, 2, "applied", dim);
  if (c_ms + 6 < w) s.put(c_ms, 2, "poll", dim);
  int y = 3;
  for (const cluster_row& r : v.nodes) {
    if (y >= 1 + box_h - 1) break;
    s.put(c_addr, y, ellipsize(r.target, 21));
    if (!r.polled) {
      s.put(c_node, y, "(polling...)", dim);
    } else if (!r.reachable) {
      s.put(c_node, y, ellipsize("unreachable: " + r.error, w - 1 - c_node), style{color::bad, true});
    } else {
      s.put(c_node, y, std::to_string(r.id));
      s.put(c_role, y, r.role, role_color(r.role), 14);
      s.put(c_term, y, std::to_string(r.term), {}, 6);
      s.put(c_leader, y, r.leader == 0 ? "-" : std::to_string(r.leader), {}, 7);
      s.put(c_commit, y, std::to_string(r.commit), {}, 7);
      s.put(c_applied, y, std::to_string(r.applied), {}, 8);
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.1f ms", r.ms);
      if (c_ms + 6 < w) s.put(c_ms, y, ms, dim, w - 1 - c_ms);
    }
    ++y;
  }

  // Transcript.
  const int ty = 1 + box_h, th = h - 2 - ty;
  s.box(0, ty, w, th, ui.scroll != 0 ? "Requests (scrolled back; PgDn returns)" : "Requests and their hops", false);
  const auto lines = transcript_wrapped(v, w - 4);
  const int inner = th - 2;
  const std::size_t max_scroll = lines.size() > static_cast<std::size_t>(inner) ? lines.size() - static_cast<std::size_t>(inner) : 0;
  const std::size_t end = lines.size() - std::min(ui.scroll, max_scroll);
  const std::size_t first = end > static_cast<std::size_t>(inner) ? end - static_cast<std::size_t>(inner) : 0;
  y = ty + 1;
  for (std::size_t i = first; i < end; ++i, ++y) s.put(2, y, lines[i].text, lines[i].st, w - 4);
  if (v.transcript.empty()) {
    s.put(2, ty + 1, "Type a command: put k v · get k [--stale] · delete k · list [prefix] · cas k rev v ·", dim, w - 4);
    s.put(2, ty + 2, "status · leader · help · quit. Each request shows the nodes it tried.", dim, w - 4);
  }

  // Input line and footer.
  const int iy = h - 2;
  x = s.put(0, iy, "raftkv> ", style{color::accent, true});
  const int room = w - x;
  // Keep the cursor visible on long lines.
  const int cur_col = columns(std::string_view(ui.input).substr(0, ui.cursor));
  const int shift = cur_col >= room ? cur_col - room + 1 : 0;
  const std::u32string cps = decode_utf8(ui.input);
  std::string shown;
  for (std::size_t i = static_cast<std::size_t>(shift); i < cps.size(); ++i) append_utf8(shown, cps[i]);
  s.put(x, iy, shown, {}, room);
  const int cx = x + cur_col - shift;
  std::string under;
  append_utf8(under, s.at(cx, iy).ch);
  s.put(cx, iy, under, style{color::none, false, false, true});
  std::size_t waiting = 0;
  for (const auto& e : v.transcript) waiting += e.done ? 0 : 1;
  std::string foot = " Enter runs · ↑↓ history · PgUp PgDn scroll · Esc clears · Ctrl+C quits";
  if (waiting != 0) foot = " " + std::to_string(waiting) + " request(s) in flight; keep typing ·" + foot.substr(1);
  s.put(0, h - 1, foot, style{color::none, false, false, true}, w);
  s.restyle(columns(foot), h - 1, w - columns(foot), style{color::none, false, false, true});
}

}  // namespace raftkv::tui
