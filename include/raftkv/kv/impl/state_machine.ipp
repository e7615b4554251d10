// Bodies for raftkv/kv/state_machine.hpp; compiled once by lib/kv.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/kv/detail/codec.hpp>
#include <raftkv/kv/state_machine.hpp>

#include <utility>

namespace raftkv::kv {
namespace {

constexpr std::string_view snapshot_magic = "RKVS";
/// Magic, version, applied index, key count, session count.
constexpr std::size_t snapshot_header_bytes = 4 + 1 + 8 + 8 + 8;
constexpr std::size_t snapshot_checksum_bytes = 4;
/// The smallest encoded key record: an empty value and a 1-byte key.
constexpr std::size_t min_key_record_bytes = 4 + 1 + 4;
/// A session record without a cached previous value.
constexpr std::size_t min_session_record_bytes = 8 + 8 + 8 + 1 + 8 + 1;

}  // namespace

std::string_view to_string(apply_status s) noexcept {
  switch (s) {
    case apply_status::ok: return "ok";
    case apply_status::not_found: return "not_found";
    case apply_status::bad_command: return "bad_command";
    case apply_status::session_expired: return "session_expired";
    case apply_status::stale_request: return "stale_request";
  }
  return "unknown";
}

result<void> config::validate() const {
  if (max_sessions < 1) return make_error_code(errc::invalid_config);
  return {};
}

state_machine::state_machine(config cfg) : cfg_(cfg) {
  RAFTKV_ASSERT(cfg_.validate().has_value(), "kv config must validate");
}

void state_machine::advance_to(core::index_t index) {
  RAFTKV_ASSERT(index > applied_index_, "entries are applied in increasing index order");
  applied_index_ = index;
}

apply_result state_machine::apply(core::index_t index, std::string_view data) {
  auto c = decode(data);
  if (!c) {
    advance_to(index);
    return {.status = apply_status::bad_command, .index = index};
  }
  return apply(index, std::move(*c));
}

apply_result state_machine::apply(core::index_t index, command c) {
  advance_to(index);
  if (!validate(c)) return {.status = apply_status::bad_command, .index = index};
  if (c.client_id == no_client) return execute(index, std::move(c));

  auto it = sessions_.find(c.client_id);
  if (it == sessions_.end()) {
    // Thesis §6.3: without a session this is either a new client (seq 1) or
    // one whose session was evicted. The latter may have had this very write
    // applied already, so applying it again could break exactly-once.
    if (c.seq != 1) return {.status = apply_status::session_expired, .index = index};
    it = open_session(c.client_id, index);
  } else {
    touch(it, index);
  }
  session& s = it->second;
  if (c.seq == s.last_seq) {  // a retry of a write that was applied: answer it again
    apply_result r = s.last_result;
    r.duplicate = true;
    return r;
  }
  if (c.seq < s.last_seq) return {.status = apply_status::stale_request, .index = index};
  s.last_seq = c.seq;
  s.last_result = execute(index, std::move(c));
  return s.last_result;
}

void state_machine::apply_noop(core::index_t index) { advance_to(index); }

apply_result state_machine::execute(core::index_t index, command&& c) {
  apply_result r{.status = apply_status::ok, .index = index};
  auto it = data_.lower_bound(c.key);
  const bool found = it != data_.end() && it->first == c.key;
  if (c.op == op_kind::put) {
    bytes_ += c.value.size();
    if (found) {
      bytes_ -= it->second.size();
      r.previous = std::exchange(it->second, std::move(c.value));
    } else {
      bytes_ += c.key.size();
      data_.emplace_hint(it, std::move(c.key), std::move(c.value));
    }
  } else if (!found) {
    r.status = apply_status::not_found;
  } else {
    bytes_ -= it->first.size() + it->second.size();
    r.previous = std::move(it->second);
    data_.erase(it);
  }
  return r;
}

state_machine::session_map::iterator state_machine::open_session(std::uint64_t client_id,
                                                                 core::index_t index) {
  while (sessions_.size() >= cfg_.max_sessions) {
    auto oldest = by_activity_.begin();
    sessions_.erase(oldest->second);
    by_activity_.erase(oldest);
  }
  by_activity_.emplace_hint(by_activity_.end(), index, client_id);
  return sessions_.emplace(client_id, session{.last_activity = index}).first;
}

void state_machine::touch(session_map::iterator it, core::index_t index) {
  by_activity_.erase(it->second.last_activity);
  it->second.last_activity = index;
  by_activity_.emplace_hint(by_activity_.end(), index, it->first);
}

std::optional<std::string> state_machine::get(std::string_view key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

std::vector<key_value> state_machine::list(std::string_view prefix, std::size_t limit) const {
  std::vector<key_value> out;
  for (auto it = data_.lower_bound(prefix);
       it != data_.end() && out.size() < limit && it->first.starts_with(prefix); ++it) {
    out.push_back({it->first, it->second});
  }
  return out;
}

bool state_machine::same_state(const state_machine& other) const {
  return applied_index_ == other.applied_index_ && data_ == other.data_ &&
         sessions_ == other.sessions_;
}

std::string state_machine::serialize() const {
  std::size_t total = snapshot_header_bytes + snapshot_checksum_bytes + bytes_ +
                      data_.size() * 8 + sessions_.size() * min_session_record_bytes;
  for (const auto& [id, s] : sessions_) {
    if (s.last_result.previous) total += 4 + s.last_result.previous->size();
  }
  std::string out;
  out.reserve(total);
  out.append(snapshot_magic);
  detail::put_u8(out, snapshot_version);
  detail::put_u64(out, applied_index_);
  detail::put_u64(out, data_.size());
  for (const auto& [key, value] : data_) {
    detail::put_bytes(out, key);
    detail::put_bytes(out, value);
  }
  detail::put_u64(out, sessions_.size());
  for (const auto& [id, s] : sessions_) {
    detail::put_u64(out, id);
    detail::put_u64(out, s.last_seq);
    detail::put_u64(out, s.last_activity);
    detail::put_u8(out, static_cast<std::uint8_t>(s.last_result.status));
    detail::put_u64(out, s.last_result.index);
    detail::put_u8(out, s.last_result.previous ? 1 : 0);
    if (s.last_result.previous) detail::put_bytes(out, *s.last_result.previous);
  }
  detail::put_u32(out, detail::crc32c(out));
  RAFTKV_ASSERT(out.size() == total, "serialize() reserved the exact size");
  return out;
}

result<state_machine> state_machine::restore(std::string_view data, config cfg) {
  const auto bad = make_error_code(errc::bad_snapshot);
  if (data.size() < snapshot_header_bytes + snapshot_checksum_bytes) return bad;
  const std::string_view body = data.substr(0, data.size() - snapshot_checksum_bytes);
  detail::reader tail(data.substr(body.size()));
  if (tail.get_u32() != detail::crc32c(body)) return bad;

  detail::reader r(body);
  if (r.get_raw(snapshot_magic.size()) != snapshot_magic) return bad;
  if (r.get_u8() != snapshot_version) return bad;
  state_machine sm(cfg);
  sm.applied_index_ = r.get_u64();
  if (!read_keys(r, sm) || !read_sessions(r, sm) || !r.done()) return bad;
  return sm;
}

bool state_machine::read_keys(detail::reader& r, state_machine& sm) {
  const std::uint64_t count = r.get_u64();
  // A count the remaining bytes cannot hold is corrupt; checking it first also
  // keeps a forged count from driving a long loop.
  if (!r.ok() || count > r.remaining() / min_key_record_bytes) return false;
  std::string_view previous;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string_view key = r.get_bytes(max_key_bytes);
    const std::string_view value = r.get_bytes(max_value_bytes);
    // Strictly ascending keys: the order serialize() writes, so every key goes
    // at the end of the map (O(1) with the hint) and duplicates are rejected.
    if (!r.ok() || key.empty() || (i > 0 && key <= previous)) return false;
    sm.data_.emplace_hint(sm.data_.end(), std::string(key), std::string(value));
    sm.bytes_ += key.size() + value.size();
    previous = key;
  }
  return true;
}

bool state_machine::read_sessions(detail::reader& r, state_machine& sm) {
  const std::uint64_t count = r.get_u64();
  if (!r.ok() || count > r.remaining() / min_session_record_bytes) return false;
  std::uint64_t previous_id = no_client;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t id = r.get_u64();
    session s;
    s.last_seq = r.get_u64();
    s.last_activity = r.get_u64();
    s.last_result.status = static_cast<apply_status>(r.get_u8());
    s.last_result.index = r.get_u64();
    const std::uint8_t has_previous = r.get_u8();
    if (has_previous == 1) s.last_result.previous = std::string(r.get_bytes(max_value_bytes));
    const apply_status st = s.last_result.status;
    const bool result_ok =
        (st == apply_status::ok || (st == apply_status::not_found && has_previous == 0)) &&
        has_previous <= 1 && s.last_result.index >= 1 &&
        s.last_result.index <= s.last_activity;
    if (!r.ok() || id <= previous_id || s.last_seq < 1 || !result_ok ||
        s.last_activity > sm.applied_index_) {
      return false;
    }
    if (!sm.by_activity_.emplace(s.last_activity, id).second) return false;  // must be unique
    sm.sessions_.emplace_hint(sm.sessions_.end(), id, std::move(s));
    previous_id = id;
  }
  return true;
}

}  // namespace raftkv::kv
