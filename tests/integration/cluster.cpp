// tests/integration/cluster.cpp: process and HTTP helpers of cluster.hpp.
#include "integration/cluster.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace raftkv::itest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
namespace fs = std::filesystem;

nlohmann::json reply::json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string reply::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

reply http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body,
           const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  reply out;
  asio::io_context io;
  beast::tcp_stream stream(io);
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  stream.expires_after(timeout);
  stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
    if (ec) return;
    bhttp::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
      if (wec) return;
      bhttp::async_read(stream, buf, parser, [&](beast::error_code rec, std::size_t) {
        if (rec) return;
        const auto& res = parser.get();
        out.status = static_cast<int>(res.result_int());
        out.body = res.body();
        for (const auto& f : res) {
          std::string name(f.name_string());
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          out.headers[name] = std::string(f.value());
        }
      });
    });
  });
  io.run();
  return out;
}

namespace {

/// Waits for child `pid` to exit, blocking on its pidfd until `limit`; then
/// SIGKILLs it. Reaps it either way. Returns its exit code (128 + signal when
/// killed by one), or -1 when it had to be killed.
int wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  // The raw syscall: Debian 12's <sys/pidfd.h> lacks extern "C" for C++.
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool exited = true;
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    exited = ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
    ::close(fd);
  }
  if (!exited) ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  if (!exited) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool port_free(std::uint16_t port) {
  asio::io_context io;
  tcp::acceptor a(io);
  beast::error_code ec;
  a.open(tcp::v4(), ec);
  a.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

}  // namespace

std::vector<std::uint16_t> free_peer_ports(std::size_t n) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 40000);
  std::vector<std::uint16_t> out;
  for (int tries = 0; out.size() < n && tries < 1000; ++tries) {
    const auto p = static_cast<std::uint16_t>(pick(rng));
    bool clash = false;
    for (auto q : out) clash = clash || q == p || q + 1000 == p || p + 1000 == q;
    if (!clash && port_free(p) && port_free(static_cast<std::uint16_t>(p + 1000))) out.push_back(p);
  }
  if (out.size() != n) throw std::runtime_error("no free loopback ports");
  return out;
}

std::uint16_t free_port_block(int n) {
  // Below the kernel's ephemeral range (32768+), where outgoing connections take theirs.
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 30000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = pick(rng);
    bool ok = true;
    for (int i = 0; i < n && ok; ++i) {
      ok = port_free(static_cast<std::uint16_t>(base + i)) && port_free(static_cast<std::uint16_t>(base + i + 1000));
    }
    if (ok) return static_cast<std::uint16_t>(base);
  }
  throw std::runtime_error("no free block of loopback ports");
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit, std::chrono::milliseconds every) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

std::string server_binary() {
  const char* p = std::getenv("RAFTKV_SERVER");
  if (p == nullptr) throw std::runtime_error("RAFTKV_SERVER is not set (run through meson test)");
  return p;
}

cluster::cluster(std::size_t n, std::vector<std::string> extra)
    : ports_(free_peer_ports(n)), pids_(n, 0), extra_(std::move(extra)) {
  dir_ = fs::temp_directory_path() / ("raftkv-itest-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(std::random_device{}()));
  fs::create_directories(dir_);
  for (std::uint64_t id = 1; id <= n; ++id) start(id);
}

cluster::~cluster() {
  for (std::uint64_t id = 1; id <= pids_.size(); ++id) {
    if (running(id)) kill(id);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string cluster::peers_flag() const {
  std::string s;
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    s += (i == 0 ? "" : ",") + std::to_string(i + 1) + "=127.0.0.1:" + std::to_string(ports_[i]);
  }
  return s;
}

void cluster::start(std::uint64_t id, std::uint64_t file_size_limit) {
  if (running(id)) return;
  std::vector<std::string> args = {server_binary(), "--id", std::to_string(id), "--peers", peers_flag(),
                                   "--data-dir", (dir_ / ("node-" + std::to_string(id))).string(),
                                   "--headless", "--tick-ms", "20", "--heartbeat-ticks", "2",
                                   "--election-ticks", "10"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  const fs::path log_path = dir_ / ("node-" + std::to_string(id) + ".log");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (file_size_limit != 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec: write() fails with EFBIG instead
      const rlimit lim{file_size_limit, file_size_limit};
      ::setrlimit(RLIMIT_FSIZE, &lim);
    }
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::dup2(fd, STDOUT_FILENO);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pids_.at(id - 1) = pid;
}

std::optional<int> cluster::exited(std::uint64_t id) {
  pid_t& pid = pids_.at(id - 1);
  if (pid <= 0) return std::nullopt;
  int st = 0;
  if (::waitpid(pid, &st, WNOHANG) != pid) return std::nullopt;
  pid = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void cluster::kill(std::uint64_t id) {
  pid_t& pid = pids_.at(id - 1);
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  pid = 0;
}

int cluster::terminate(std::uint64_t id) {
  pid_t& pid = pids_.at(id - 1);
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  const int code = wait_exit(pid, std::chrono::seconds(10));
  pid = 0;
  return code;
}

nlohmann::json cluster::status(std::uint64_t id) const {
  if (!running(id)) return nlohmann::json::value_t::discarded;
  return http(api_port(id), "GET", "/v1/status", "", {}, std::chrono::seconds(2)).json();
}

std::uint64_t cluster::wait_for_leader(std::chrono::milliseconds limit) const {
  std::uint64_t leader = 0;
  eventually(
      [&] {
        std::uint64_t seen = 0;
        for (std::uint64_t id = 1; id <= pids_.size(); ++id) {
          if (!running(id)) continue;
          const auto s = status(id);
          if (s.is_discarded() || !s.contains("leader")) return false;
          const auto l = s["leader"].get<std::uint64_t>();
          if (l == 0 || (seen != 0 && l != seen)) return false;
          seen = l;
        }
        if (seen == 0 || !running(seen)) return false;
        const auto ls = status(seen);
        if (ls.is_discarded() || ls["role"] != "leader") return false;
        leader = seen;
        return true;
      },
      limit);
  return leader;
}

std::string cluster::log(std::uint64_t id) const {
  std::ifstream in(dir_ / ("node-" + std::to_string(id) + ".log"));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::pair<int, std::string> run_server_to_exit(const std::vector<std::string>& args, std::chrono::milliseconds limit) {
  const fs::path err = fs::temp_directory_path() / ("raftkv-itest-err-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(std::random_device{}()));
  std::vector<std::string> full = {server_binary()};
  full.insert(full.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const int code = wait_exit(pid, limit);
  std::ifstream in(err);
  std::stringstream s;
  s << in.rdbuf();
  std::error_code ec;
  fs::remove(err, ec);
  return {code, s.str()};
}

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

run_result run_to_exit(const std::string& binary, const std::vector<std::string>& args, const std::string& input,
                       std::chrono::milliseconds limit) {
  const fs::path dir = fs::temp_directory_path() / ("raftkv-itest-run-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(std::random_device{}()));
  fs::create_directories(dir);
  {
    std::ofstream in(dir / "stdin");
    in << input;
  }
  std::vector<std::string> full = {binary};
  full.insert(full.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in = ::open((dir / "stdin").c_str(), O_RDONLY);
    const int out = ::open((dir / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open((dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    if (out >= 0) ::dup2(out, STDOUT_FILENO);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  run_result r;
  r.code = wait_exit(pid, limit);
  r.out = slurp(dir / "stdout");
  r.err = slurp(dir / "stderr");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

std::string client_binary() {
  const char* p = std::getenv("RAFTKV_CLIENT");
  if (p == nullptr) throw std::runtime_error("RAFTKV_CLIENT is not set (run through meson test)");
  return p;
}

}  // namespace raftkv::itest
