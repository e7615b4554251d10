// Bodies for raftkv/core/log.hpp; compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/log.hpp>

#include <algorithm>

namespace raftkv::core {

raft_log::raft_log(const storage& s)
    : storage_(&s),
      unstable_offset_(s.last_index() + 1),
      committed_(s.initial_hard_state().commit),
      applying_(std::max(s.first_index() - 1, s.latest_snapshot_id().index)),
      applied_(applying_) {
  RAFTKV_ASSERT(committed_ <= s.last_index(), "persisted commit index beyond the persisted log");
  RAFTKV_ASSERT(applied_ <= s.last_index(), "the snapshot is within the persisted log");
  committed_ = std::max(committed_, applied_);
}

index_t raft_log::first_index() const {
  if (pending_snapshot_) return pending_snapshot_->last.index + 1;
  return storage_->first_index();
}

index_t raft_log::last_index() const {
  if (!unstable_.empty()) return unstable_.back().index;
  if (pending_snapshot_) return pending_snapshot_->last.index;
  return storage_->last_index();
}

result<term_t> raft_log::term(index_t i) const {
  if (i >= unstable_offset_) {
    if (i - unstable_offset_ < unstable_.size()) return unstable_[i - unstable_offset_].term;
    return make_error_code(errc::unavailable);
  }
  if (pending_snapshot_) {
    if (i == pending_snapshot_->last.index) return pending_snapshot_->last.term;
    return make_error_code(errc::compacted);
  }
  return storage_->term(i);
}

term_t raft_log::term_or_zero(index_t i) const {
  auto t = term(i);
  return t ? *t : 0;
}

bool raft_log::match_term(index_t i, term_t t) const {
  auto have = term(i);
  return have && *have == t;
}

bool raft_log::is_up_to_date(index_t last_index, term_t last_term) const {
  const term_t our = this->last_term();
  return last_term > our || (last_term == our && last_index >= this->last_index());
}

index_t raft_log::find_conflict(std::span<const entry> ents) const {
  for (const entry& e : ents) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::optional<index_t> raft_log::maybe_append(index_t prev_index, term_t prev_term,
                                              index_t leader_commit, std::vector<entry> ents,
                                              index_t* truncated_from) {
  if (!match_term(prev_index, prev_term)) return std::nullopt;
  const index_t last_new = prev_index + ents.size();
  const index_t conflict = find_conflict(ents);
  if (conflict != 0) {
    RAFTKV_ASSERT(conflict > committed_, "a leader never asks to overwrite a committed entry");
    if (conflict <= last_index() && truncated_from != nullptr) *truncated_from = conflict;
    ents.erase(ents.begin(), ents.begin() + static_cast<std::ptrdiff_t>(conflict - prev_index - 1));
    append(std::move(ents));
  }
  commit_to(std::min(leader_commit, last_new));
  return last_new;
}

index_t raft_log::append(std::vector<entry> ents) {
  if (ents.empty()) return last_index();
  const index_t after = ents.front().index;
  RAFTKV_ASSERT(after > committed_, "appending over committed entries");
  RAFTKV_ASSERT(after <= last_index() + 1, "appending would leave a gap");
  if (after == unstable_offset_ + unstable_.size()) {
    // Plain extension of the tail.
  } else if (after <= unstable_offset_) {
    // Replaces (part of) the stable log too; the next Ready persists from `after`.
    unstable_.clear();
    unstable_offset_ = after;
  } else {
    unstable_.resize(after - unstable_offset_);
  }
  for (entry& e : ents) unstable_.push_back(std::move(e));
  return last_index();
}

result<std::vector<entry>> raft_log::slice(index_t lo, index_t hi, std::uint64_t max_bytes,
                                           std::size_t max_count) const {
  if (lo < first_index()) return make_error_code(errc::compacted);
  if (hi > last_index() + 1 || lo > hi) return make_error_code(errc::unavailable);
  if (hi - lo > max_count) hi = lo + max_count;
  std::vector<entry> out;
  std::uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    auto stored = storage_->entries(lo, std::min(hi, unstable_offset_), max_bytes);
    if (!stored) return stored.error();
    out = std::move(*stored);
    for (const entry& e : out) bytes += e.size_bytes();
    if (out.size() < std::min(hi, unstable_offset_) - lo) return out;  // byte limit reached
  }
  for (index_t i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const entry& e = unstable_[i - unstable_offset_];
    if (!out.empty() && bytes + e.size_bytes() > max_bytes) break;
    bytes += e.size_bytes();
    out.push_back(e);
  }
  return out;
}

void raft_log::commit_to(index_t i) {
  if (i <= committed_) return;
  RAFTKV_ASSERT(i <= last_index(), "commit index beyond the last log index");
  committed_ = i;
}

bool raft_log::maybe_commit(index_t i, term_t t) {
  if (i > committed_ && term_or_zero(i) == t) {
    commit_to(i);
    return true;
  }
  return false;
}

std::vector<entry> raft_log::next_committed(std::uint64_t max_bytes) const {
  if (!has_next_committed()) return {};
  auto ents = slice(applying_ + 1, committed_ + 1, max_bytes, SIZE_MAX);
  RAFTKV_ASSERT(ents.has_value(), "committed entries must be readable until applied");
  return std::move(*ents);
}

void raft_log::applying_to(index_t i) {
  RAFTKV_ASSERT(i <= committed_ && i >= applying_, "applying must stay within committed");
  applying_ = i;
}

void raft_log::applied_to(index_t i) {
  RAFTKV_ASSERT(i <= applying_ && i >= applied_, "applied must not pass applying or go back");
  applied_ = i;
}

void raft_log::stable_to(entry_id id) {
  if (id.index < unstable_offset_ || id.index - unstable_offset_ >= unstable_.size()) return;
  if (unstable_[id.index - unstable_offset_].term != id.term) return;
  const auto n = static_cast<std::ptrdiff_t>(id.index - unstable_offset_ + 1);
  unstable_.erase(unstable_.begin(), unstable_.begin() + n);
  unstable_offset_ = id.index + 1;
}

void raft_log::restore(snapshot s) {
  RAFTKV_ASSERT(s.last.index > committed_, "a restored snapshot lies beyond our commit index");
  RAFTKV_ASSERT(s.data != nullptr, "a restored snapshot has data");
  unstable_.clear();
  unstable_offset_ = s.last.index + 1;
  committed_ = s.last.index;
  applying_ = s.last.index;  // the state machine jumps there when the Ready is applied
  pending_snapshot_ = std::move(s);
}

void raft_log::stable_snapshot_to(index_t i) {
  if (!pending_snapshot_ || pending_snapshot_->last.index != i) return;
  RAFTKV_ASSERT(storage_->latest_snapshot_id().index >= i && storage_->first_index() > i,
                "storage holds the restored snapshot");
  pending_snapshot_.reset();
  applied_ = std::max(applied_, i);
}

entry_id raft_log::latest_snapshot_id() const {
  return pending_snapshot_ ? pending_snapshot_->last : storage_->latest_snapshot_id();
}

result<snapshot> raft_log::latest_snapshot() const {
  if (pending_snapshot_) return *pending_snapshot_;
  return storage_->latest_snapshot();
}

void raft_log::check() const {
  RAFTKV_ASSERT(applied_ <= applying_ && applying_ <= committed_, "applied <= applying <= committed");
  RAFTKV_ASSERT(committed_ <= last_index(), "committed <= last index");
  if (pending_snapshot_) {
    RAFTKV_ASSERT(unstable_offset_ == pending_snapshot_->last.index + 1,
                  "entries after a pending snapshot follow it");
    RAFTKV_ASSERT(applying_ >= pending_snapshot_->last.index, "a pending snapshot is being applied");
  } else {
    RAFTKV_ASSERT(unstable_offset_ <= storage_->last_index() + 1,
                  "unstable tail starts inside or right after storage");
  }
  for (std::size_t k = 0; k < unstable_.size(); ++k) {
    RAFTKV_ASSERT(unstable_[k].index == unstable_offset_ + k, "unstable entries are consecutive");
  }
}

}  // namespace raftkv::core
