// Bodies for raftkv/tui/server_view.hpp (view model and keys); compiled once
// by lib/tui.cpp. Rendering is in server_render.ipp.
#pragma once

#include <raftkv/tui/server_view.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace raftkv::tui {

namespace {

using nlohmann::json;

template <class T>
T field(const json& j, const char* name, T fallback = T{}) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return fallback;
  }
}

bool contains_id(const json& j, const char* name, std::uint64_t id) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_array()) return false;
  for (const json& x : *it) {
    if (x.is_number_unsigned() && x.get<std::uint64_t>() == id) return true;
  }
  return false;
}

}  // namespace

server_view view_from_status(const json& j) {
  server_view v;
  if (!j.is_object()) return v;
  v.valid = true;
  v.id = field<std::uint64_t>(j, "id");
  v.role = field<std::string>(j, "role", "follower");
  v.term = field<std::uint64_t>(j, "term");
  v.vote = field<std::uint64_t>(j, "vote");
  v.leader = field<std::uint64_t>(j, "leader");
  v.commit = field<std::uint64_t>(j, "commit");
  v.applied = field<std::uint64_t>(j, "applied");
  v.first_index = field<std::uint64_t>(j, "first_index");
  v.last_index = field<std::uint64_t>(j, "last_index");
  v.last_term = field<std::uint64_t>(j, "last_term");
  v.snapshot_index = field<std::uint64_t>(j, "snapshot_index");
  v.snapshot_term = field<std::uint64_t>(j, "snapshot_term");
  v.election_elapsed = field<int>(j, "election_elapsed_ticks");
  v.election_timeout = field<int>(j, "election_timeout_ticks");
  v.heartbeat_elapsed = field<int>(j, "heartbeat_elapsed_ticks");
  v.heartbeat_timeout = field<int>(j, "heartbeat_timeout_ticks");
  v.tick_ms = field<int>(j, "tick_ms");
  v.transfer_target = field<std::uint64_t>(j, "transfer_target");
  v.api_url = field<std::string>(j, "api_url");
  v.cluster_id = field<std::string>(j, "cluster_id");
  v.data_dir = field<std::string>(j, "data_dir");
  v.uptime_ms = field<std::uint64_t>(j, "uptime_ms");
  v.fatal = field<std::string>(j, "fatal");
  const json faults = field<json>(j, "faults", json::object());
  v.paused = field<bool>(j, "paused", field<bool>(faults, "paused"));
  v.isolated = field<bool>(faults, "isolated");
  v.drop_per_mille = field<std::uint64_t>(faults, "drop_per_mille");
  v.delay_ms = field<std::uint64_t>(faults, "delay_ms");
  for (const json& p : field<json>(j, "peers", json::array())) {
    peer_row r;
    r.id = field<std::uint64_t>(p, "id");
    r.address = field<std::string>(p, "address");
    r.connected = field<bool>(p, "connected");
    if (p.contains("last_contact_ms")) r.last_contact_ms = field<std::uint64_t>(p, "last_contact_ms");
    r.cut_in = contains_id(faults, "cut_in", r.id);
    r.cut_out = contains_id(faults, "cut_out", r.id);
    r.dropped = field<std::uint64_t>(p, "messages_dropped");
    r.last_error = field<std::string>(p, "last_error");
    r.has_progress = p.contains("match");
    r.match = field<std::uint64_t>(p, "match");
    r.next = field<std::uint64_t>(p, "next");
    r.inflight = field<std::uint64_t>(p, "inflight");
    r.state = field<std::string>(p, "state");
    r.recent_active = field<bool>(p, "recent_active");
    const json snap = field<json>(p, "snapshot", json::object());
    r.snapshot_acked = field<std::uint64_t>(snap, "acked_bytes");
    r.snapshot_bytes = field<std::uint64_t>(snap, "bytes");
    v.peers.push_back(std::move(r));
  }
  for (const json& e : field<json>(j, "log", json::array())) {
    log_row r;
    r.index = field<std::uint64_t>(e, "index");
    r.term = field<std::uint64_t>(e, "term");
    r.command = field<std::string>(e, "command");
    r.noop = field<std::string>(e, "type") == "noop";
    if (auto it = e.find("replaced"); it != e.end() && it->is_object()) {
      r.replaced = "term " + std::to_string(field<std::uint64_t>(*it, "old_term")) + ": " +
                   field<std::string>(*it, "old_command");
      r.replaced_age_ms = field<std::uint64_t>(*it, "age_ms");
    }
    v.log.push_back(std::move(r));
  }
  for (const json& o : field<json>(j, "overwritten", json::array())) {
    if (field<std::uint64_t>(o, "new_term") != 0) continue;
    v.removed.push_back("#" + std::to_string(field<std::uint64_t>(o, "index")) + " term " +
                        std::to_string(field<std::uint64_t>(o, "old_term")) + ": " +
                        field<std::string>(o, "old_command"));
  }
  const json kv = field<json>(j, "kv", json::object());
  v.keys = field<std::uint64_t>(kv, "keys");
  v.kv_skip = field<std::uint64_t>(kv, "skip");
  v.revision = field<std::uint64_t>(kv, "revision");
  for (const json& it : field<json>(kv, "items", json::array())) {
    kv_row r;
    r.key = field<std::string>(it, "key");
    r.value = field<std::string>(it, "value");
    r.mod_revision = field<std::uint64_t>(it, "mod_revision");
    r.version = field<std::uint64_t>(it, "version");
    r.truncated = field<bool>(it, "value_truncated");
    v.items.push_back(std::move(r));
  }
  if (auto it = kv.find("last_change"); it != kv.end() && it->is_object()) {
    v.last_change = field<std::string>(*it, "key");
    v.last_change_age_ms = field<std::uint64_t>(*it, "age_ms");
  }
  for (const json& e : field<json>(j, "events", json::array())) {
    v.events.push_back({field<std::uint64_t>(e, "seq"), field<std::uint64_t>(e, "term"),
                        field<std::uint64_t>(e, "at_ms"), field<std::string>(e, "kind"),
                        field<std::string>(e, "text")});
  }
  return v;
}

layout compute_layout(int width, int height, std::size_t peers) {
  layout l;
  if (width < min_width || height < min_height) {
    l.too_small = true;
    return l;
  }
  l.peers_y = 3;
  l.peers_h = std::min(static_cast<int>(std::max<std::size_t>(peers, 1)) + 3, height / 3);
  l.footer_y = height - 1;
  l.mid_y = l.peers_y + l.peers_h;
  l.mid_h = l.footer_y - l.mid_y;
  l.left_w = width * 46 / 100;
  l.log_h = (l.mid_h + 1) / 2;
  l.kv_h = l.mid_h - l.log_h;
  return l;
}

namespace {

constexpr std::size_t page = 10;

void scroll(ui_state& ui, const server_view& v, int k) {
  std::size_t* at = nullptr;
  std::size_t max = 0;
  bool up_grows = true;  // log and events count from the newest end
  switch (ui.focus) {
    case pane::log:
      at = &ui.log_skip;
      max = v.last_index >= v.first_index ? static_cast<std::size_t>(v.last_index - v.first_index) : 0;
      break;
    case pane::kv:
      at = &ui.kv_skip;
      max = v.keys == 0 ? 0 : static_cast<std::size_t>(v.keys - 1);
      up_grows = false;
      break;
    case pane::events:
      at = &ui.events_skip;
      max = 100000;  // clamp_scroll() bounds it by the wrapped lines
      break;
    case pane::peers:
      return;
  }
  std::size_t step = (k == key::page_up || k == key::page_down) ? page : 1;
  const bool toward_old = (k == key::up || k == key::page_up) == up_grows;
  if (k == key::home) {
    *at = up_grows ? max : 0;
  } else if (k == key::end) {
    *at = up_grows ? 0 : max;
  } else if (toward_old) {
    *at = std::min(max, *at + step);
  } else {
    *at = *at > step ? *at - step : 0;
  }
}

bool all_peers_single_digit(const server_view& v) {
  return std::all_of(v.peers.begin(), v.peers.end(), [](const peer_row& p) { return p.id < 10; });
}

/// Completes a transfer/cut/drop/delay prompt; none when the number is bad.
action submit_number(ui_state& ui, const server_view& v) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(ui.input.data(), ui.input.data() + ui.input.size(), n);
  const bool ok = !ui.input.empty() && ec == std::errc{} && end == ui.input.data() + ui.input.size();
  const auto kind = ui.prompting;
  ui.prompting = ui_state::prompt::none;
  ui.input.clear();
  ui.cursor = 0;
  action a;
  const bool is_peer = std::any_of(v.peers.begin(), v.peers.end(), [&](const peer_row& p) { return p.id == n; });
  switch (kind) {
    case ui_state::prompt::transfer:
      if (!ok || !is_peer) return ui.flash = "transfer: give the id of another member", a;
      return {action::kind::transfer, n, {}};
    case ui_state::prompt::cut: {
      if (!ok || !is_peer) return ui.flash = "cut: give the id of another member", a;
      const auto p = std::find_if(v.peers.begin(), v.peers.end(), [&](const peer_row& r) { return r.id == n; });
      return {p->cut_in || p->cut_out ? action::kind::restore : action::kind::cut, n, {}};
    }
    case ui_state::prompt::drop:
      if (!ok || n > 1000) return ui.flash = "drop: give 0..1000 (per mille of outgoing messages)", a;
      return {action::kind::drop, n, {}};
    case ui_state::prompt::delay:
      if (!ok || n > 60000) return ui.flash = "delay: give 0..60000 ms", a;
      return {action::kind::delay, n, {}};
    default:
      return a;
  }
}

action prompt_key(ui_state& ui, int k, const server_view& v) {
  if (k == key::escape || k == key::ctrl_c) {
    ui.prompting = ui_state::prompt::none;
    ui.input.clear();
    ui.cursor = 0;
    return {};
  }
  if (ui.prompting == ui_state::prompt::command) {
    if (k == key::enter || k == '\r') {
      std::string line = std::move(ui.input);
      ui.prompting = ui_state::prompt::none;
      ui.input.clear();
      ui.cursor = 0;
      if (line.find_first_not_of(' ') == std::string::npos) return {};
      ui.history.add(line);
      return {action::kind::command, 0, std::move(line)};
    }
    if (k == key::up || k == key::down) {
      ui.input = ui.history.browse(k == key::up);
      ui.cursor = ui.input.size();
      return {};
    }
    edit_line(ui.input, ui.cursor, k);
    return {};
  }
  // Number prompts.
  if (k == key::enter || k == '\r') return submit_number(ui, v);
  if (k >= '0' && k <= '9') {
    ui.input.insert(ui.cursor, 1, static_cast<char>(k));
    ++ui.cursor;
    const bool peer_prompt = ui.prompting == ui_state::prompt::transfer || ui.prompting == ui_state::prompt::cut;
    if (peer_prompt && all_peers_single_digit(v)) return submit_number(ui, v);
    return {};
  }
  if (!key::is_text(k)) edit_line(ui.input, ui.cursor, k);  // cursor keys, backspace; other text is no number
  return {};
}

}  // namespace

action handle_key(ui_state& ui, int k, const server_view& v) {
  ui.flash.clear();
  if (k == key::resize) return {};
  if (ui.help) {
    ui.help = false;  // any key closes the overlay
    return k == key::ctrl_c ? action{action::kind::quit, 0, {}} : action{};
  }
  if (ui.prompting != ui_state::prompt::none) return prompt_key(ui, k, v);
  auto ask = [&](ui_state::prompt p) {
    ui.prompting = p;
    ui.input.clear();
    ui.cursor = 0;
    ui.history.reset();
    return action{};
  };
  switch (k) {
    case 'q':
    case 'Q':
    case key::ctrl_c: return {action::kind::quit, 0, {}};
    case '?': ui.help = true; return {};
    case ':':
    case '/': return ask(ui_state::prompt::command);
    case 'c': return {action::kind::campaign, 0, {}};
    case 't':
      if (v.peers.empty()) return ui.flash = "no other member to transfer to", action{};
      return ask(ui_state::prompt::transfer);
    case 's': return {action::kind::snapshot, 0, {}};
    case 'p': return {v.paused ? action::kind::resume : action::kind::pause, 0, {}};
    case 'i': return {v.isolated ? action::kind::heal : action::kind::isolate, 0, {}};
    case 'h': return {action::kind::heal, 0, {}};
    case 'x':
      if (v.peers.empty()) return ui.flash = "no other member to cut", action{};
      return ask(ui_state::prompt::cut);
    case 'd': return ask(ui_state::prompt::drop);
    case 'l': return ask(ui_state::prompt::delay);
    case key::tab:
      ui.focus = static_cast<pane>((static_cast<int>(ui.focus) + 1) % 4);
      return {};
    case key::back_tab:
      ui.focus = static_cast<pane>((static_cast<int>(ui.focus) + 3) % 4);
      return {};
    case key::up:
    case key::down:
    case key::page_up:
    case key::page_down:
    case key::home:
    case key::end:
    case 'k':
    case 'j': {
      const int kk = k == 'k' ? key::up : k == 'j' ? key::down : k;
      scroll(ui, v, kk);
      return {};
    }
    default:
      if (k >= 32 && k < 127) ui.flash = std::string("'") + static_cast<char>(k) + "' does nothing here; ? shows the keys";
      return {};
  }
}

}  // namespace raftkv::tui
