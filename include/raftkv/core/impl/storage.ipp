// Bodies for raftkv/core/storage.hpp; compiled once by lib/core.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/core/storage.hpp>

namespace raftkv::core {

memory_storage::memory_storage() : ents_(1) {}

index_t memory_storage::first_index() const { return ents_.front().index + 1; }

index_t memory_storage::last_index() const { return ents_.front().index + ents_.size() - 1; }

result<term_t> memory_storage::term(index_t i) const {
  const index_t offset = ents_.front().index;
  if (i < offset) return make_error_code(errc::compacted);
  if (i - offset >= ents_.size()) return make_error_code(errc::unavailable);
  return ents_[i - offset].term;
}

result<std::vector<entry>> memory_storage::entries(index_t lo, index_t hi,
                                                   std::uint64_t max_bytes) const {
  if (lo <= ents_.front().index) return make_error_code(errc::compacted);
  if (hi > last_index() + 1 || lo > hi) return make_error_code(errc::unavailable);
  std::vector<entry> out;
  std::uint64_t bytes = 0;
  for (index_t i = lo; i < hi; ++i) {
    const entry& e = ents_[i - ents_.front().index];
    if (!out.empty() && bytes + e.size_bytes() > max_bytes) break;
    bytes += e.size_bytes();
    out.push_back(e);
  }
  return out;
}

void memory_storage::append(std::span<const entry> ents) {
  if (ents.empty()) return;
  const index_t offset = ents_.front().index;
  const index_t first = ents.front().index;
  RAFTKV_ASSERT(first > offset, "cannot overwrite entries before the first held index");
  RAFTKV_ASSERT(first <= last_index() + 1, "appended entries must not leave a gap");
  ents_.resize(first - offset);
  for (const entry& e : ents) {
    RAFTKV_ASSERT(e.index == offset + ents_.size(), "appended entries must be consecutive");
    ents_.push_back(e);
  }
}

result<void> memory_storage::create_snapshot(index_t i, std::shared_ptr<const std::string> data) {
  if (i <= snap_.last.index) return make_error_code(errc::compacted);
  auto t = term(i);
  RAFTKV_ASSERT(t.has_value(), "a snapshot is taken at an entry the log holds");
  RAFTKV_ASSERT(data != nullptr, "a snapshot has data");
  snap_ = snapshot{{*t, i}, std::move(data)};
  released_.reset();
  return {};
}

void memory_storage::compact(index_t i) {
  const index_t offset = ents_.front().index;
  if (i <= offset) return;
  RAFTKV_ASSERT(i <= snap_.last.index, "entries are compacted only behind a snapshot");
  RAFTKV_ASSERT(i <= last_index(), "cannot compact past the last entry");
  ents_.erase(ents_.begin(), ents_.begin() + static_cast<std::ptrdiff_t>(i - offset));
  ents_.front().data.clear();  // the new sentinel keeps index and term only
  ents_.front().type = entry_type::normal;
}

void memory_storage::apply_snapshot(const snapshot& s) {
  RAFTKV_ASSERT(!s.empty() && s.data != nullptr, "applying an empty snapshot");
  snap_ = s;
  released_.reset();
  ents_.assign(1, entry{.term = s.last.term, .index = s.last.index});
}

result<snapshot> memory_storage::latest_snapshot() const {
  if (snap_.empty() || snap_.data != nullptr) return snap_;
  if (auto held = released_.lock()) return snapshot{snap_.last, std::move(held)};
  auto data = loader_(snap_.last);
  if (!data) return data.error();
  RAFTKV_ASSERT(*data != nullptr, "a snapshot loader returns data or an error");
  released_ = *data;
  return snapshot{snap_.last, std::move(*data)};
}

void memory_storage::release_snapshot_data(entry_id id) {
  if (snap_.empty() || !(snap_.last == id) || snap_.data == nullptr) return;
  RAFTKV_ASSERT(loader_ != nullptr, "released snapshot data can be read back");
  released_ = snap_.data;
  snap_.data.reset();
}

}  // namespace raftkv::core
