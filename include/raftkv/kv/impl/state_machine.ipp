// Bodies for raftkv/kv/state_machine.hpp; compiled once by lib/kv.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/kv/detail/codec.hpp>
#include <raftkv/kv/state_machine.hpp>

#include <utility>

namespace raftkv::kv {
namespace {

constexpr std::string_view snapshot_magic = "RKVS";
/// Magic, version, applied index, revision, key count, session count.
constexpr std::size_t snapshot_header_bytes = 4 + 1 + 8 + 8 + 8 + 8;
constexpr std::size_t snapshot_checksum_bytes = 4;
/// A key record's three revisions (create, mod, version).
constexpr std::size_t key_revisions_bytes = 8 + 8 + 8;
/// The smallest encoded key record: a 1-byte key and an empty value.
constexpr std::size_t min_key_record_bytes = 4 + 1 + 4 + key_revisions_bytes;
/// A session record without a cached previous value.
constexpr std::size_t min_session_record_bytes = 8 + 8 + 8 + 1 + 8 + 8 + 8 + 1;

}  // namespace

std::string_view to_string(apply_status s) noexcept {
  switch (s) {
    case apply_status::ok: return "ok";
    case apply_status::not_found: return "not_found";
    case apply_status::bad_command: return "bad_command";
    case apply_status::session_expired: return "session_expired";
    case apply_status::stale_request: return "stale_request";
    case apply_status::cas_failed: return "cas_failed";
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
  // Expiry by log distance: the oldest sessions come first in by_activity_,
  // so this costs one comparison per entry plus one erase per expiry. The
  // sessions a command at `index` sees are those with index - activity <= ttl
  // whether or not the caller reported the entries before it (gaps).
  const std::uint64_t ttl = cfg_.session_ttl_entries;
  while (ttl != 0 && !by_activity_.empty() && index - by_activity_.begin()->first > ttl) {
    sessions_.erase(by_activity_.begin()->second);
    by_activity_.erase(by_activity_.begin());
  }
}

apply_result state_machine::apply(core::index_t index, std::string_view data) {
  auto c = decode(data);
  if (!c) {
    advance_to(index);
    return {.status = apply_status::bad_command, .revision = revision_, .index = index};
  }
  return apply(index, std::move(*c));
}

apply_result state_machine::apply(core::index_t index, command c) {
  advance_to(index);
  if (!validate(c)) return {.status = apply_status::bad_command, .revision = revision_, .index = index};
  if (c.client_id == no_client) return execute(index, std::move(c));

  auto it = sessions_.find(c.client_id);
  if (it == sessions_.end()) {
    // Thesis §6.3: without a session this is either a new client (seq 1) or
    // one whose session was evicted. The latter may have had this very write
    // applied already, so applying it again could break exactly-once.
    if (c.seq != 1) {
      return {.status = apply_status::session_expired, .revision = revision_, .index = index};
    }
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
  if (c.seq < s.last_seq) {
    return {.status = apply_status::stale_request, .revision = revision_, .index = index};
  }
  s.last_seq = c.seq;
  s.last_result = execute(index, std::move(c));
  return s.last_result;
}

void state_machine::apply_noop(core::index_t index) { advance_to(index); }

apply_result state_machine::execute(core::index_t index, command&& c) {
  apply_result r{.status = apply_status::ok, .index = index};
  auto it = data_.lower_bound(c.key);
  const bool found = it != data_.end() && it->key() == c.key;
  r.previous_mod_revision = found ? it->mod_revision : 0;
  if (c.expected && *c.expected != r.previous_mod_revision) {
    r.status = apply_status::cas_failed;  // etcd's failed Txn compare: nothing changes
  } else if (c.op == op_kind::put) {
    const std::uint64_t rev = ++revision_;
    bytes_ += c.value.size();
    if (found) {
      bytes_ -= it->value().size();
      r.previous = std::string(it->value());
      const std::uint64_t create = it->create_revision;
      const std::uint64_t version = it->version + 1;
      data_.replace(it, detail::key_block::make(c.key, c.value, create, rev, version));
    } else {
      bytes_ += c.key.size();
      data_.insert_before(it, detail::key_block::make(c.key, c.value, rev, rev, 1));
    }
  } else if (!found) {
    r.status = apply_status::not_found;
  } else {
    ++revision_;
    bytes_ -= it->key().size() + it->value().size();
    r.previous = std::string(it->value());
    data_.erase(it);
  }
  r.revision = revision_;
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

namespace {

key_value to_key_value(const detail::key_block& b, std::size_t value_bytes_max = SIZE_MAX) {
  return {.key = std::string(b.key()), .value = std::string(b.value().substr(0, value_bytes_max)),
          .create_revision = b.create_revision, .mod_revision = b.mod_revision, .version = b.version};
}

}  // namespace

std::optional<key_value> state_machine::get(std::string_view key) const {
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return to_key_value(*it);
}

std::vector<key_value> state_machine::list(std::string_view prefix, std::size_t limit) const {
  std::vector<key_value> out;
  for (auto it = data_.lower_bound(prefix);
       it != data_.end() && out.size() < limit && it->key().starts_with(prefix); ++it) {
    out.push_back(to_key_value(*it));
  }
  return out;
}

std::vector<key_value> state_machine::page(std::size_t offset, std::size_t limit,
                                           std::size_t value_bytes_max) const {
  std::vector<key_value> out;
  if (offset >= data_.size()) return out;
  auto it = std::next(data_.begin(), static_cast<std::ptrdiff_t>(offset));
  for (; it != data_.end() && out.size() < limit; ++it) out.push_back(to_key_value(*it, value_bytes_max));
  return out;
}

bool state_machine::same_state(const state_machine& other) const {
  return applied_index_ == other.applied_index_ && revision_ == other.revision_ &&
         data_ == other.data_ && sessions_ == other.sessions_;
}

std::string state_machine::serialize() const {
  std::size_t total = snapshot_header_bytes + snapshot_checksum_bytes + bytes_ +
                      data_.size() * (8 + key_revisions_bytes) +
                      sessions_.size() * min_session_record_bytes;
  for (const auto& [id, s] : sessions_) {
    if (s.last_result.previous) total += 4 + s.last_result.previous->size();
  }
  std::string out;
  out.reserve(total);
  out.append(snapshot_magic);
  detail::put_u8(out, snapshot_version);
  detail::put_u64(out, applied_index_);
  detail::put_u64(out, revision_);
  detail::put_u64(out, data_.size());
  for (const detail::key_block& b : data_) {
    detail::put_bytes(out, b.key());
    detail::put_bytes(out, b.value());
    detail::put_u64(out, b.create_revision);
    detail::put_u64(out, b.mod_revision);
    detail::put_u64(out, b.version);
  }
  detail::put_u64(out, sessions_.size());
  for (const auto& [id, s] : sessions_) {
    detail::put_u64(out, id);
    detail::put_u64(out, s.last_seq);
    detail::put_u64(out, s.last_activity);
    detail::put_u8(out, static_cast<std::uint8_t>(s.last_result.status));
    detail::put_u64(out, s.last_result.index);
    detail::put_u64(out, s.last_result.revision);
    detail::put_u64(out, s.last_result.previous_mod_revision);
    detail::put_u8(out, s.last_result.previous ? 1 : 0);
    if (s.last_result.previous) detail::put_bytes(out, *s.last_result.previous);
  }
  detail::put_u32(out, detail::crc32c(out));
  RAFTKV_ASSERT(out.size() == total, "serialize() reserved the exact size");
  return out;
}

result<state_machine> state_machine::restore(std::string_view data, config cfg, bool verify_checksum) {
  const auto bad = make_error_code(errc::bad_snapshot);
  if (data.size() < snapshot_header_bytes + snapshot_checksum_bytes) return bad;
  const std::string_view body = data.substr(0, data.size() - snapshot_checksum_bytes);
  detail::reader tail(data.substr(body.size()));
  if (verify_checksum && tail.get_u32() != detail::crc32c(body)) return bad;

  detail::reader r(body);
  if (r.get_raw(snapshot_magic.size()) != snapshot_magic) return bad;
  if (r.get_u8() != snapshot_version) return bad;
  state_machine sm(cfg);
  sm.applied_index_ = r.get_u64();
  sm.revision_ = r.get_u64();
  if (sm.revision_ > sm.applied_index_) return bad;  // each change takes an entry
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
    const std::uint64_t create = r.get_u64();
    const std::uint64_t mod = r.get_u64();
    const std::uint64_t version = r.get_u64();
    // Strictly ascending keys: the order serialize() writes, so every key goes
    // at the end of the table (O(1)) and duplicates are rejected.
    if (!r.ok() || key.empty() || (i > 0 && key <= previous)) return false;
    // Each put since the creation took its own revision. That no two keys
    // share a revision is not checked: it would cost a sort of all of them.
    const bool revisions_ok = create >= 1 && create <= mod && mod <= sm.revision_ &&
                              version >= 1 && version - 1 <= mod - create;
    if (!revisions_ok) return false;
    sm.data_.insert_before(sm.data_.end(), detail::key_block::make(key, value, create, mod, version));
    sm.bytes_ += key.size() + value.size();
    previous = key;
  }
  return true;
}

bool state_machine::read_session_result(detail::reader& r, const state_machine& sm,
                                        apply_result& out) {
  const std::uint8_t status = r.get_u8();
  out.status = static_cast<apply_status>(status);
  out.index = r.get_u64();
  out.revision = r.get_u64();
  out.previous_mod_revision = r.get_u64();
  const std::uint8_t has_previous = r.get_u8();
  if (has_previous == 1) out.previous = std::string(r.get_bytes(max_value_bytes));
  const std::uint64_t rev = out.revision;
  const std::uint64_t prev_mod = out.previous_mod_revision;
  // The results a write can leave in a session (execute()): a put or delete
  // that changed the store, a delete of an absent key, a failed CAS.
  bool could_be = false;
  switch (out.status) {
    case apply_status::ok:
      could_be = rev >= 1 && (has_previous == 1 ? prev_mod >= 1 && prev_mod < rev
                                                : has_previous == 0 && prev_mod == 0);
      break;
    case apply_status::not_found: could_be = has_previous == 0 && prev_mod == 0; break;
    case apply_status::cas_failed: could_be = has_previous == 0 && prev_mod <= rev; break;
    default: break;
  }
  // A revision is reached no sooner than its entry: rev <= index.
  return r.ok() && could_be && out.index >= 1 && rev <= out.index && rev <= sm.revision_;
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
    if (!read_session_result(r, sm, s.last_result)) return false;
    if (!r.ok() || id <= previous_id || s.last_seq < 1 ||
        s.last_result.index > s.last_activity || s.last_activity > sm.applied_index_) {
      return false;
    }
    if (!sm.by_activity_.emplace(s.last_activity, id).second) return false;  // must be unique
    sm.sessions_.emplace_hint(sm.sessions_.end(), id, std::move(s));
    previous_id = id;
  }
  return true;
}

}  // namespace raftkv::kv
