// Bodies of raftkv/storage/wal.hpp that write (recovery is in wal_recovery.ipp);
// compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/storage/detail/codec.hpp>
#include <raftkv/storage/detail/wal_format.hpp>
#include <raftkv/storage/error.hpp>
#include <raftkv/storage/wal.hpp>

#include <fcntl.h>

namespace raftkv::storage {

namespace detail {

/// Cuts `path` to `size` bytes and makes that durable.
inline void truncate_durably(const std::filesystem::path& path, std::uint64_t size) {
  file f = file::open(path, O_WRONLY);
  f.truncate(size);
  f.sync_all();
  f.close();
}

/// Cuts segment `path` at its first entry record with index >= `from`;
/// false when it holds none.
inline bool cut_segment(const std::filesystem::path& path, core::index_t from,
                        std::uint32_t record_bytes_max) {
  const std::string bytes = read_file(path);
  const scan_result scan = scan_records(path, bytes, record_bytes_max, false);
  for (const scanned_record& r : scan.records) {
    if (r.type != rec_entry || r.payload.size() < 17) continue;
    if (get_le(r.payload.data() + 8, 8) >= from) {
      truncate_durably(path, r.offset);
      return true;
    }
  }
  return false;
}

}  // namespace detail

wal::wal(std::filesystem::path dir, wal_options opts) : dir_(std::move(dir)), opts_(std::move(opts)) {}

wal::~wal() {
  if (!current_.is_open() || !preallocated_ || !buf_.empty()) return;
  try {
    current_.truncate(current_bytes_);
  } catch (const storage_error&) {
    // The zeros stay; recovery reads them as unused space.
  }
}

void wal::check_usable() const {
  if (broken_)
    throw storage_error("wal in " + dir_.string() +
                        " is unusable after an earlier IO failure; the process must restart");
}

void wal::flush() {
  if (buf_.empty()) return;
  current_.write_all(buf_);
  buf_.clear();
}

void wal::write_record(std::uint8_t type, std::string_view payload, bool may_roll_over) {
  if (payload.size() > opts_.record_bytes_max)
    throw storage_error("wal in " + dir_.string() + ": a record of " +
                        std::to_string(payload.size()) + " bytes exceeds record_bytes_max");
  const std::uint64_t size = detail::record_header_bytes + payload.size();
  if (may_roll_over && current_bytes_ > opening_bytes_ &&
      current_bytes_ + size > opts_.segment_bytes_max)
    open_segment(last_index_ + 1, segments_.back().seq, {});
  detail::encode_record(buf_, type, payload);
  current_bytes_ += size;
  stats_.bytes_written += size;
  dirty_ = true;
  if (buf_.size() >= (std::size_t{1} << 20)) flush();
}

void wal::open_segment(core::index_t first, std::uint64_t base_seq, core::entry_id marker) {
  // The previous segment is complete and durable before the next one exists,
  // so only the newest segment can ever have a torn tail.
  flush();
  if (current_.is_open()) {
    // Unused preallocated space goes (recovery would skip it anyway).
    if (preallocated_) current_.truncate(current_bytes_);
    if (dirty_) {
      current_.sync_data();
      ++stats_.fsyncs;
      dirty_ = false;
    }
    current_.close();
  }
  const std::uint64_t seq = next_seq_++;
  std::filesystem::path path = dir_ / detail::segment_name(seq, first);
  // Not O_APPEND: with preallocation the end of the file is not where the
  // next record goes; the file offset is.
  current_ = detail::file::open(path, O_WRONLY | O_CREAT | O_EXCL);
  preallocated_ = opts_.preallocate && current_.preallocate(opts_.segment_bytes_max);
  segments_.push_back({seq, first, base_seq, 0, 0, std::move(path)});
  current_bytes_ = 0;
  dir_dirty_ = true;
  ++stats_.segments_created;
  write_record(detail::rec_header, detail::encode_header({seq, first, base_seq}), false);
  if (marker.index != 0) write_record(detail::rec_snapshot_marker, detail::encode_marker(marker), false);
  write_record(detail::rec_hard_state, detail::encode_hard_state(hard_), false);
  opening_bytes_ = current_bytes_;
}

void wal::write_entry(const core::entry& e) {
  write_record(detail::rec_entry, detail::encode_entry(e), true);
  wal_segment& s = segments_.back();
  if (s.first_live == 0) s.first_live = e.index;
  s.last_live = e.index;
  last_index_ = e.index;
}

void wal::begin_replacement(core::index_t from) {
  // Segments holding no live entry below `from` go entirely; the newest one
  // that keeps some is the base and loses its tail. Both after the next sync.
  while (!segments_.empty()) {
    const wal_segment& s = segments_.back();
    if (s.first_live != 0 && s.first_live < from) break;
    pending_deletes_.push_back(s.path);
    segments_.pop_back();
  }
  std::uint64_t base = 0;
  if (!segments_.empty()) {
    wal_segment& b = segments_.back();
    base = b.seq;
    if (b.last_live >= from) {
      pending_cuts_.push_back({b.path, from});
      b.last_live = from - 1;
    }
  }
  last_index_ = from - 1;
  open_segment(from, base, {});
}

void wal::append(std::span<const core::entry> ents) {
  check_usable();
  if (ents.empty()) return;
  try {
    const core::index_t from = ents.front().index;
    RAFTKV_ASSERT(from >= 1 && from <= last_index_ + 1, "appended entries must not leave a gap");
    if (from <= last_index_) begin_replacement(from);
    for (const core::entry& e : ents) {
      RAFTKV_ASSERT(e.index == last_index_ + 1, "appended entries must be consecutive");
      write_entry(e);
    }
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void wal::set_hard_state(const core::hard_state& hs) {
  check_usable();
  try {
    hard_ = hs;
    // Never rolls over: a batch that only records a commit index is written
    // without a sync (on the caller's thread, server::host), and opening a
    // segment syncs the old one. Entries roll segments over; these few bytes
    // may run past segment_bytes_max until the next one does.
    write_record(detail::rec_hard_state, detail::encode_hard_state(hs), false);
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void wal::mark_snapshot(core::entry_id id) {
  check_usable();
  try {
    for (const wal_segment& s : segments_) pending_deletes_.push_back(s.path);
    segments_.clear();
    last_index_ = id.index;
    open_segment(id.index + 1, 0, id);
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void wal::apply_pending() {
  if (opts_.test_hook_before_cut) opts_.test_hook_before_cut();
  for (const pending_cut& c : pending_cuts_) {
    if (detail::cut_segment(c.path, c.from, opts_.record_bytes_max)) {
      ++stats_.cuts;
      ++stats_.fsyncs;
    }
  }
  for (const std::filesystem::path& p : pending_deletes_) {
    detail::remove_file(p);
    ++stats_.segments_deleted;
  }
  if (!pending_deletes_.empty()) {
    detail::sync_dir(dir_);
    ++stats_.fsyncs;
  }
  pending_cuts_.clear();
  pending_deletes_.clear();
}

void wal::sync() {
  check_usable();
  if (!dirty_ && !dir_dirty_ && pending_cuts_.empty() && pending_deletes_.empty()) return;
  try {
    flush();
    if (dirty_) {
      current_.sync_data();
      ++stats_.fsyncs;
      dirty_ = false;
    }
    if (dir_dirty_) {
      detail::sync_dir(dir_);
      ++stats_.fsyncs;
      dir_dirty_ = false;
    }
    ++stats_.syncs;
    if (!pending_cuts_.empty() || !pending_deletes_.empty()) apply_pending();
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void wal::write_out() {
  check_usable();
  try {
    flush();
  } catch (...) {
    broken_ = true;
    throw;
  }
}

void wal::compact(core::index_t i) {
  check_usable();
  sync();
  try {
    bool removed = false;
    while (segments_.size() > 1 && segments_.front().last_live <= i) {
      detail::remove_file(segments_.front().path);
      ++stats_.segments_deleted;
      segments_.erase(segments_.begin());
      removed = true;
    }
    if (removed) {
      detail::sync_dir(dir_);
      ++stats_.fsyncs;
    }
  } catch (...) {
    broken_ = true;
    throw;
  }
}

}  // namespace raftkv::storage
