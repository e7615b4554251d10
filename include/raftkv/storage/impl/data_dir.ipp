// Bodies for raftkv/storage/data_dir.hpp; compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/storage/data_dir.hpp>

#include <charconv>
#include <raftkv/storage/detail/file.hpp>
#include <raftkv/storage/error.hpp>

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <system_error>

namespace raftkv::storage {

namespace {

std::string describe(const identity& id) {
  return "node " + std::to_string(id.node) + " of cluster \"" + id.cluster + "\"";
}

identity parse_identity(const std::filesystem::path& file, const std::string& text) {
  identity id;
  bool has_cluster = false;
  bool has_node = false;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos)
      throw storage_error("identity file " + file.string() + " is malformed at byte offset " +
                          std::to_string(pos) + " (unterminated line)");
    const std::string line = text.substr(pos, eol - pos);
    if (line.starts_with("cluster=")) {
      id.cluster = line.substr(8);
      has_cluster = true;
    } else if (line.starts_with("node=") && line.size() > 5 &&
               line.find_first_not_of("0123456789", 5) == std::string::npos && line.size() <= 25) {
      const auto [end, ec] = std::from_chars(line.data() + 5, line.data() + line.size(), id.node);
      if (ec != std::errc{} || end != line.data() + line.size()) {
        throw storage_error("identity file " + file.string() + " is malformed at byte offset " +
                            std::to_string(pos) + " (node id out of range)");
      }
      has_node = true;
    } else {
      throw storage_error("identity file " + file.string() + " is malformed at byte offset " +
                          std::to_string(pos));
    }
    pos = eol + 1;
  }
  if (!has_cluster || !has_node)
    throw storage_error("identity file " + file.string() + " is malformed at byte offset " +
                        std::to_string(text.size()) + " (needs cluster= and node=)");
  return id;
}

detail::file take_lock(const std::filesystem::path& dir) {
  detail::file lock = detail::file::open(dir / lock_file_name, O_RDWR | O_CREAT);
  while (::flock(lock.fd(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK)
      throw storage_error("data directory " + dir.string() + " is in use by another process (" +
                          (dir / lock_file_name).string() + " is locked)");
    detail::throw_errno("cannot lock", dir / lock_file_name, errno);
  }
  return lock;
}

}  // namespace

data_dir data_dir::open(const std::filesystem::path& dir, const identity& id) {
  if (id.node == 0 || id.cluster.find('\n') != std::string::npos)
    throw storage_error("invalid identity for data directory " + dir.string() +
                        ": the node id must be non-zero and the cluster id one line");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw storage_error("cannot create data directory " + dir.string() + ": " + ec.message());
  detail::file lock = take_lock(dir);
  const std::filesystem::path file = dir / identity_file_name;
  if (!std::filesystem::exists(file)) {
    detail::write_file_atomic(file, "cluster=" + id.cluster + "\nnode=" + std::to_string(id.node) + "\n");
  } else {
    const identity found = parse_identity(file, detail::read_file(file));
    if (!(found == id))
      throw storage_error("data directory " + dir.string() + " belongs to " + describe(found) +
                          "; this process is " + describe(id) + " (use the right --data-dir or --id)");
  }
  return data_dir(dir, id, std::move(lock));
}

}  // namespace raftkv::storage
