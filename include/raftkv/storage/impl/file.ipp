// Bodies for raftkv/storage/detail/file.hpp; compiled once by lib/storage.cpp.
#pragma once

#include <raftkv/storage/detail/file.hpp>
#include <raftkv/storage/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace raftkv::storage::detail {

namespace fs = std::filesystem;

void throw_errno(std::string_view what, const fs::path& path, int err) {
  throw storage_error(std::string(what) + " " + path.string() + ": " + std::strerror(err));
}

file file::open(const fs::path& path, int flags, unsigned mode) {
  file f;
  f.fd_ = ::open(path.c_str(), flags | O_CLOEXEC, static_cast<mode_t>(mode));
  if (f.fd_ < 0) throw_errno("cannot open", path, errno);
  f.path_ = path;
  return f;
}

file::file(file&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

file& file::operator=(file&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

file::~file() {
  if (fd_ >= 0) ::close(fd_);
}

void file::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", path_, errno);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void file::sync_data() {
  if (::fdatasync(fd_) != 0) throw_errno("fdatasync failed on", path_, errno);
}

void file::sync_all() {
  if (::fsync(fd_) != 0) throw_errno("fsync failed on", path_, errno);
}

void file::truncate(std::uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) throw_errno("cannot truncate", path_, errno);
}

bool file::preallocate(std::uint64_t bytes) noexcept {
  int r = 0;
  do {
    r = ::fallocate(fd_, 0, 0, static_cast<off_t>(bytes));
  } while (r != 0 && errno == EINTR);
  return r == 0;
}

void file::close() {
  if (fd_ < 0) return;
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0 && errno != EINTR) throw_errno("cannot close", path_, errno);
}

std::string read_file(const fs::path& path) {
  file f = file::open(path, O_RDONLY);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(f.fd(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void sync_dir(const fs::path& dir) {
  file d = file::open(dir, O_RDONLY | O_DIRECTORY);
  d.sync_all();
}

void remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("cannot remove", path, errno);
}

void write_file_atomic(const fs::path& path, std::string_view bytes) { write_file_atomic(path, bytes, {}); }

void write_file_atomic(const fs::path& path, std::string_view head, std::string_view body) {
  fs::path tmp = path;
  tmp += ".tmp";
  file f = file::open(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  f.write_all(head);
  if (!body.empty()) f.write_all(body);
  f.sync_all();
  f.close();
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw_errno("cannot rename to", path, errno);
  sync_dir(path.parent_path().empty() ? fs::path(".") : path.parent_path());
}

std::vector<fs::path> list_files(const fs::path& dir, std::string_view prefix,
                                 std::string_view suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= prefix.size() + suffix.size() && name.starts_with(prefix) &&
        name.ends_with(suffix) && e.is_regular_file())
      out.push_back(e.path());
  }
  if (ec) throw storage_error("cannot list directory " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace raftkv::storage::detail
