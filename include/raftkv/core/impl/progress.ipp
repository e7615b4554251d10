// Bodies for raftkv/core/progress.hpp; compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/progress.hpp>

#include <algorithm>

namespace raftkv::core {

void inflights::add(index_t last) {
  RAFTKV_ASSERT(!full(), "inflights overflow: caller must check is_paused()");
  buf_[(start_ + count_) % buf_.size()] = last;
  ++count_;
}

void inflights::free_to(index_t index) {
  while (count_ > 0 && buf_[start_] <= index) {
    start_ = (start_ + 1) % buf_.size();
    --count_;
  }
}

void inflights::free_first() {
  if (count_ == 0) return;
  start_ = (start_ + 1) % buf_.size();
  --count_;
}

std::string_view to_string(progress_state s) noexcept {
  switch (s) {
    case progress_state::probe: return "probe";
    case progress_state::replicate: return "replicate";
    case progress_state::snapshot: return "snapshot";
  }
  return "unknown";
}

bool progress::is_paused() const {
  switch (state) {
    case progress_state::probe: return probe_sent;
    case progress_state::replicate: return inflight.full();
    case progress_state::snapshot: return true;
  }
  return true;
}

void progress::become_probe() {
  state = progress_state::probe;
  probe_sent = false;
  next = match + 1;
  inflight.reset();
  sending_snapshot = {};
}

void progress::become_replicate() {
  state = progress_state::replicate;
  probe_sent = false;
  next = match + 1;
  inflight.reset();
  sending_snapshot = {};
}

void progress::become_snapshot(core::snapshot s) {
  state = progress_state::snapshot;
  probe_sent = false;
  inflight.reset();
  sending_snapshot = std::move(s);
  snapshot_acked = 0;
  snapshot_sent = 0;
  snapshot_idle_heartbeats = 0;
}

bool progress::maybe_update(index_t n) {
  bool moved = false;
  if (match < n) {
    match = n;
    moved = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return moved;
}

bool progress::maybe_decrease_to(index_t rejected, index_t candidate_next) {
  if (state == progress_state::snapshot) return false;  // an append sent before the snapshot
  if (state == progress_state::replicate) {
    if (rejected <= match) return false;  // stale: an older append was rejected
  } else if (rejected != next - 1) {
    return false;  // stale: not the probe we are waiting for
  }
  // Back to probing from the hinted position: one append at a time until one is accepted.
  state = progress_state::probe;
  inflight.reset();
  next = std::clamp(candidate_next, match + 1, std::max(rejected, match + 1));
  probe_sent = false;
  return true;
}

}  // namespace raftkv::core
