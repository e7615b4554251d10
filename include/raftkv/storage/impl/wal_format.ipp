// Bodies for raftkv/storage/detail/wal_format.hpp; compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/storage/crc32c.hpp>
#include <raftkv/storage/detail/codec.hpp>
#include <raftkv/storage/detail/wal_format.hpp>
#include <raftkv/storage/error.hpp>

#include <algorithm>
#include <cstdio>

namespace raftkv::storage::detail {

namespace {

std::uint32_t record_crc(std::uint8_t type, std::string_view payload) {
  crc32c_engine crc;
  crc.process_byte(type);
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

/// Why the record at `off` is broken, or nullopt when it is intact; `end`
/// receives where the record claims to end (EOF when its length is unusable).
std::optional<std::string> check_record(std::string_view bytes, std::uint64_t off,
                                        std::uint32_t max, std::uint64_t& end) {
  end = bytes.size();
  if (bytes.size() - off < record_header_bytes) return "short record header";
  const std::uint64_t len = get_le(bytes.data() + off, 4);
  if (len > max) return "record length " + std::to_string(len) + " over the limit";
  if (bytes.size() - off - record_header_bytes < len) return "record runs past the end of the file";
  end = off + record_header_bytes + len;
  const auto crc = static_cast<std::uint32_t>(get_le(bytes.data() + off + 4, 4));
  const auto type = static_cast<std::uint8_t>(bytes[off + 8]);
  if (record_crc(type, bytes.substr(off + record_header_bytes, len)) != crc) return "CRC mismatch";
  return std::nullopt;
}

/// True when an intact record of a known type starts at `off`.
bool intact_record_at(std::string_view bytes, std::uint64_t off, std::uint32_t max) {
  if (bytes.size() - off < record_header_bytes) return false;
  const auto type = static_cast<std::uint8_t>(bytes[off + 8]);
  if (type < rec_header || type > rec_snapshot_marker) return false;
  std::uint64_t end = 0;
  return !check_record(bytes, off, max, end).has_value();
}

bool is_torn_tail(std::string_view bytes, std::uint64_t off, std::uint64_t end, std::uint32_t max) {
  for (std::uint64_t i = end; i < bytes.size(); ++i)
    if (bytes[i] != '\0') return false;
  for (std::uint64_t i = off + 1; i < bytes.size(); ++i)
    if (intact_record_at(bytes, i, max)) return false;
  return true;
}

}  // namespace

void throw_corrupt(const std::filesystem::path& path, std::uint64_t offset, std::string_view what) {
  throw storage_error("wal segment " + path.string() + ": " + std::string(what) +
                      " at byte offset " + std::to_string(offset));
}

std::string segment_name(std::uint64_t seq, core::index_t first) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "wal-%016llx-%016llx.log", static_cast<unsigned long long>(seq),
                static_cast<unsigned long long>(first));
  return buf;
}

std::optional<segment_header> parse_segment_name(std::string_view name) {
  if (name.size() != 4 + 16 + 1 + 16 + 4 || !name.starts_with("wal-") || name[20] != '-' ||
      !name.ends_with(".log"))
    return std::nullopt;
  auto hex = [](std::string_view s, std::uint64_t& v) {
    v = 0;
    for (char c : s) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<std::uint64_t>(d);
    }
    return true;
  };
  segment_header h;
  if (!hex(name.substr(4, 16), h.seq) || !hex(name.substr(21, 16), h.first)) return std::nullopt;
  return h;
}

void encode_record(std::string& out, std::uint8_t type, std::string_view payload) {
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, record_crc(type, payload));
  put_u8(out, type);
  out.append(payload);
}

std::string encode_header(const segment_header& h) {
  std::string p;
  put_u64(p, wal_magic);
  put_u32(p, wal_version);
  put_u64(p, h.seq);
  put_u64(p, h.first);
  put_u64(p, h.base_seq);
  return p;
}

std::string encode_hard_state(const core::hard_state& hs) {
  std::string p;
  put_u64(p, hs.term);
  put_u64(p, hs.vote);
  put_u64(p, hs.commit);
  return p;
}

std::string encode_entry(const core::entry& e) {
  std::string p;
  p.reserve(17 + e.data.size());
  put_u64(p, e.term);
  put_u64(p, e.index);
  put_u8(p, static_cast<std::uint8_t>(e.type));
  p.append(e.data);
  return p;
}

std::string encode_marker(core::entry_id id) {
  std::string p;
  put_u64(p, id.term);
  put_u64(p, id.index);
  return p;
}

scan_result scan_records(const std::filesystem::path& path, std::string_view bytes,
                         std::uint32_t record_bytes_max, bool is_last) {
  scan_result r;
  std::uint64_t off = 0;
  while (off < bytes.size()) {
    std::uint64_t end = 0;
    if (auto why = check_record(bytes, off, record_bytes_max, end)) {
      if (std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(off), bytes.end(), [](char c) { return c == '\0'; })) {
        r.zero_tail = bytes.size() - off;
        break;
      }
      if (!is_last) throw_corrupt(path, off, *why + " in a segment that is not the newest");
      if (!is_torn_tail(bytes, off, end, record_bytes_max))
        throw_corrupt(path, off, *why + " with intact data after it");
      r.torn = *why;
      break;
    }
    const auto len = static_cast<std::size_t>(get_le(bytes.data() + off, 4));
    r.records.push_back({off, static_cast<std::uint8_t>(bytes[off + 8]),
                         bytes.substr(off + record_header_bytes, len)});
    off = end;
    r.valid_bytes = off;
  }
  return r;
}

}  // namespace raftkv::storage::detail
