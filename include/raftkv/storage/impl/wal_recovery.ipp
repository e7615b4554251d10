// Recovery of raftkv/storage/wal.hpp (wal::open); compiled once by lib/storage.cpp.
//
// Steps: scan every segment in seq order (only the newest may have a torn
// tail), follow the chain of base seqs back from the newest segment, replay
// the chain (a later entry with index i supersedes earlier entries >= i),
// start a new durable segment, then finish cuts and delete segments outside
// the chain. docs/storage.md states the rules.
#pragma once

#include <raftkv/storage/detail/codec.hpp>
#include <raftkv/storage/detail/wal_format.hpp>
#include <raftkv/storage/error.hpp>
#include <raftkv/storage/wal.hpp>

#include <algorithm>
#include <map>

namespace raftkv::storage {

namespace detail {

/// One decoded record of a recovered segment.
struct recovered_item {
  std::uint64_t offset = 0;
  std::uint8_t type = 0;
  core::hard_state hard{};
  core::entry_id marker{};
  core::entry ent{};
};

/// A scanned and decoded segment.
struct recovered_segment {
  segment_header h{};
  std::filesystem::path path{};
  std::vector<recovered_item> items{};  ///< every record after the header
};

inline recovered_segment decode_segment(const std::filesystem::path& path,
                                        const segment_header& named, const scan_result& scan) {
  recovered_segment s{named, path, {}};
  const scanned_record& first = scan.records.front();
  byte_reader h{first.payload};
  const std::uint64_t magic = h.u64();
  const std::uint32_t version = h.u32();
  const segment_header got{h.u64(), h.u64(), h.u64()};
  if (first.type != rec_header || !h.at_end() || magic != wal_magic)
    throw_corrupt(path, 0, "bad segment header (no header record or wrong magic)");
  if (version != wal_version) throw_corrupt(path, 0, "unsupported segment version " + std::to_string(version));
  if (got.seq != named.seq || got.first != named.first)
    throw_corrupt(path, 0, "segment header does not match the file name");
  s.h.base_seq = got.base_seq;
  for (std::size_t k = 1; k < scan.records.size(); ++k) {
    const scanned_record& r = scan.records[k];
    byte_reader in{r.payload};
    recovered_item it{r.offset, r.type, {}, {}, {}};
    if (r.type == rec_hard_state) {
      it.hard = {in.u64(), in.u64(), in.u64()};
    } else if (r.type == rec_snapshot_marker) {
      it.marker.term = in.u64();
      it.marker.index = in.u64();
    } else if (r.type == rec_entry) {
      it.ent.term = in.u64();
      it.ent.index = in.u64();
      const std::uint8_t t = in.u8();
      if (t > static_cast<std::uint8_t>(core::entry_type::noop)) throw_corrupt(path, r.offset, "unknown entry type");
      it.ent.type = static_cast<core::entry_type>(t);
      it.ent.data = std::string(in.rest());
    } else {
      throw_corrupt(path, r.offset, "unexpected record type " + std::to_string(r.type));
    }
    if (!in.at_end()) throw_corrupt(path, r.offset, "malformed record payload");
    s.items.push_back(std::move(it));
  }
  return s;
}

/// Reads, scans and decodes every segment in `dir`, oldest first; cuts a torn
/// tail of the newest. `max_seq` receives the largest seq seen.
inline std::vector<recovered_segment> read_segments(const std::filesystem::path& dir,
                                                    const wal_options& opts, wal_contents& out,
                                                    std::uint64_t& max_seq) {
  std::vector<std::pair<segment_header, std::filesystem::path>> named;
  for (const auto& p : list_files(dir, "wal-", ".log")) {
    auto h = parse_segment_name(p.filename().string());
    if (!h) throw storage_error("wal: unexpected file name " + p.string());
    named.emplace_back(*h, p);
  }
  std::sort(named.begin(), named.end(),
            [](const auto& a, const auto& b) { return a.first.seq < b.first.seq; });
  out.segments_found = named.size();
  std::vector<recovered_segment> segs;
  for (std::size_t k = 0; k < named.size(); ++k) {
    const auto& [h, path] = named[k];
    max_seq = std::max(max_seq, h.seq);
    if (k > 0 && named[k - 1].first.seq == h.seq)
      throw storage_error("wal segments " + named[k - 1].second.string() + " and " + path.string() +
                          " have the same seq");
    const std::string bytes = read_file(path);
    const scan_result scan = scan_records(path, bytes, opts.record_bytes_max, k + 1 == named.size());
    if (scan.records.empty()) {  // created, then the crash came before its header was written
      if (k + 1 != named.size()) throw_corrupt(path, 0, "empty segment that is not the newest");
      out.warnings.push_back("wal segment " + path.string() + ": torn at byte offset 0 (" +
                             scan.torn.value_or("empty file") + "); removed the segment");
      remove_file(path);
      sync_dir(dir);
      continue;
    }
    if (scan.zero_tail != 0) truncate_durably(path, scan.valid_bytes);  // unused preallocated space
    if (scan.torn) {
      out.warnings.push_back("wal segment " + path.string() + ": torn tail at byte offset " +
                             std::to_string(scan.valid_bytes) + " (" + *scan.torn + "); cut " +
                             std::to_string(bytes.size() - scan.valid_bytes) + " bytes");
      truncate_durably(path, scan.valid_bytes);
    }
    segs.push_back(decode_segment(path, h, scan));
  }
  return segs;
}

/// Indexes into `segs` of the live chain, oldest first: from the newest
/// segment back through base seqs until a base of 0 or a base not present
/// (compacted; a hole this leaves is found by the caller's checks).
inline std::vector<std::size_t> live_chain(const std::vector<recovered_segment>& segs) {
  std::vector<std::size_t> chain;
  if (segs.empty()) return chain;
  std::size_t k = segs.size() - 1;
  for (;;) {
    chain.push_back(k);
    const std::uint64_t b = segs[k].h.base_seq;
    if (b == 0) break;
    if (b >= segs[k].h.seq) throw_corrupt(segs[k].path, 0, "base seq is not older than the segment");
    auto it = std::find_if(segs.begin(), segs.end(), [&](const auto& s) { return s.h.seq == b; });
    if (it == segs.end()) break;
    k = static_cast<std::size_t>(it - segs.begin());
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

/// The result of replaying the chain.
struct replay_result {
  std::vector<core::entry> entries{};
  std::vector<std::size_t> entry_segment{};  ///< entries[k] lives in segs[entry_segment[k]]
  core::hard_state hard{};
  core::entry_id marker{};
  core::index_t next = 1;                    ///< index the next entry gets
  std::map<std::size_t, std::uint64_t> cuts{};  ///< segment -> offset of its first superseded entry
};

inline void replay_entry(replay_result& r, const std::vector<recovered_segment>& segs,
                         std::size_t s, std::vector<std::uint64_t>& offsets,
                         const recovered_item& it) {
  const core::index_t i = it.ent.index;
  if (i > r.next)
    throw_corrupt(segs[s].path, it.offset,
                  "gap in the log: entry " + std::to_string(i) + " follows " + std::to_string(r.next - 1));
  if (i < r.next && (r.entries.empty() || i < r.entries.front().index))
    throw_corrupt(segs[s].path, it.offset, "entry " + std::to_string(i) + " precedes the start of the log");
  while (!r.entries.empty() && r.entries.back().index >= i) {
    const std::size_t from_seg = r.entry_segment.back();
    if (from_seg == s) throw_corrupt(segs[s].path, it.offset, "entry index goes backwards within a segment");
    auto [pos, fresh] = r.cuts.emplace(from_seg, offsets.back());
    if (!fresh) pos->second = std::min(pos->second, offsets.back());
    r.entries.pop_back();
    r.entry_segment.pop_back();
    offsets.pop_back();
  }
  r.entries.push_back(it.ent);
  r.entry_segment.push_back(s);
  offsets.push_back(it.offset);
  r.next = i + 1;
}

inline replay_result replay_chain(const std::vector<recovered_segment>& segs,
                                  const std::vector<std::size_t>& chain) {
  replay_result r;
  std::vector<std::uint64_t> offsets;  // parallel to r.entries
  for (std::size_t c = 0; c < chain.size(); ++c) {
    const std::size_t s = chain[c];
    const recovered_segment& seg = segs[s];
    if (c == 0) r.next = seg.h.first;
    if (seg.h.first > r.next)
      throw_corrupt(seg.path, 0, "gap in the log: segment starts at index " + std::to_string(seg.h.first) +
                                     " after index " + std::to_string(r.next - 1));
    bool seen_entry = false;
    for (const recovered_item& it : seg.items) {
      if (it.type == rec_hard_state) {
        r.hard = it.hard;
      } else if (it.type == rec_snapshot_marker) {
        if (c != 0 || seg.h.base_seq != 0 || seen_entry || it.marker.index + 1 != seg.h.first)
          throw_corrupt(seg.path, it.offset, "snapshot marker out of place");
        r.marker = it.marker;
      } else {
        if (!seen_entry && it.ent.index != seg.h.first)
          throw_corrupt(seg.path, it.offset, "first entry " + std::to_string(it.ent.index) +
                                                 " does not match the segment's first index");
        seen_entry = true;
        replay_entry(r, segs, s, offsets, it);
      }
    }
  }
  return r;
}

}  // namespace detail

wal wal::open(const std::filesystem::path& dir, const wal_options& opts, wal_contents& out) {
  std::uint64_t max_seq = 0;
  std::vector<detail::recovered_segment> segs = detail::read_segments(dir, opts, out, max_seq);
  const std::vector<std::size_t> chain = detail::live_chain(segs);
  detail::replay_result r = detail::replay_chain(segs, chain);

  wal w(dir, opts);
  w.next_seq_ = max_seq + 1;
  w.hard_ = r.hard;
  w.last_index_ = r.next - 1;
  for (std::size_t s : chain) {
    const detail::recovered_segment& seg = segs[s];
    w.segments_.push_back({seg.h.seq, seg.h.first, seg.h.base_seq, 0, 0, seg.path});
  }
  for (std::size_t k = 0; k < r.entries.size(); ++k) {
    const std::size_t pos = static_cast<std::size_t>(
        std::find(chain.begin(), chain.end(), r.entry_segment[k]) - chain.begin());
    wal_segment& ws = w.segments_[pos];
    if (ws.first_live == 0) ws.first_live = r.entries[k].index;
    ws.last_live = r.entries[k].index;
  }
  // The new segment (with the current hard state) is durable before any
  // superseded record is cut, so the newest hard state always survives.
  w.open_segment(r.next, chain.empty() ? 0 : segs[chain.back()].h.seq, {});
  w.sync();
  for (const auto& [s, offset] : r.cuts) {
    detail::truncate_durably(segs[s].path, offset);
    ++w.stats_.cuts;
    out.warnings.push_back("wal segment " + segs[s].path.string() +
                           ": finished an interrupted cut of superseded entries at byte offset " +
                           std::to_string(offset));
  }
  bool removed = false;
  for (std::size_t s = 0; s < segs.size(); ++s) {
    if (std::find(chain.begin(), chain.end(), s) != chain.end()) continue;
    detail::remove_file(segs[s].path);
    ++w.stats_.segments_deleted;
    removed = true;
    out.warnings.push_back("wal segment " + segs[s].path.string() + ": superseded; removed");
  }
  if (removed) detail::sync_dir(dir);

  out.hard = r.hard;
  out.marker = r.marker;
  out.first_index = r.entries.empty() ? r.next : r.entries.front().index;
  out.entries = std::move(r.entries);
  return w;
}

}  // namespace raftkv::storage
