// raftkv/client/routing.hpp: the smart client's routing and retry policy, pure
// (bodies in client/impl/routing.ipp, compiled by lib/client_policy.cpp).
//
// One request is a series of attempts ("hops"). After each, router::next()
// decides what comes next:
//   - done:    a definite answer (2xx, 404, 409, 412, other 4xx);
//   - follow:  a 307 names the leader: go there now, to exactly the host and
//              port of its Location (or its body's leader_url), nothing added;
//   - retry:   503, 5xx, a refused or dropped connection, a timeout, or a
//              redirect back into the current chain (a loop): back off with
//              jitter, then try the next node (or the leader hint, if another);
//   - give_up: the request made policy.max_hops attempts.
// The overall deadline is the shell's (client.ipp): it ends any request.
//
// A write's attempt that ended ambiguously (504, another 5xx but 503, a
// timeout or a dropped connection after the request was sent) may have been
// applied: router::maybe_applied() says so, and a request that then ends
// without a definite answer reports outcome_unknown rather than unavailable.
// The shell retries every attempt of one write with the same client id and
// sequence number, so the server applies it at most once (docs/api.md).
//
// No clock, socket or global random: answers come in as values, time as
// durations, jitter from a PRNG seeded by the caller.
#pragma once

#include <raftkv/core/detail/prng.hpp>

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftkv::client {

/// A node's client API address. Hosts are names or IP literals (IPv6 without brackets).
struct endpoint {
  std::string host{};
  std::uint16_t port = 0;
  /// "host:port" ("[::1]:7001" for IPv6).
  std::string str() const;
  /// "http://host:port".
  std::string url() const;
  friend auto operator<=>(const endpoint&, const endpoint&) = default;
};

/// Parses "host:port", "[v6]:port" or "http://host:port[/path...]"; nullopt
/// when malformed (no port, port 0 or above 65535, empty host, another scheme).
std::optional<endpoint> parse_endpoint(std::string_view text);

/// Parses "host:port,host:port,..."; throws std::invalid_argument naming the
/// bad part. Empty parts are skipped; an empty list and duplicates are errors.
std::vector<endpoint> parse_peer_list(std::string_view text);

/// How an attempt ended on the wire.
enum class wire {
  answered,   ///< an HTTP response arrived
  refused,    ///< no connection (refused, unreachable, name not resolved): nothing was sent
  timed_out,  ///< no whole response within the attempt's time
  dropped,    ///< the connection broke (reset, end of stream) before a whole response
};

/// "answered", "refused", "timed out", "dropped".
const char* to_string(wire w) noexcept;

/// What the policy needs to know about one attempt.
struct attempt {
  wire result = wire::answered;
  bool sent = false;        ///< the whole request was written (a write may have reached the leader)
  int status = 0;           ///< HTTP status (answered only)
  std::string error{};        ///< the body's "error" code ("not_leader", "no_leader", ...); empty if none
  std::string location{};     ///< the Location header (redirects)
  std::string leader_url{};   ///< the body's "leader_url", if any
};

/// The knobs of the policy (client::options carries them).
struct routing_policy {
  std::chrono::milliseconds backoff_base{50};   ///< the first backoff's upper bound
  /// No backoff is longer: while a cluster elects (an election timeout, 1-2 s
  /// by default) a client asks again within a quarter second of the new
  /// leader, four to eight times a second (etcd's client waits 25 ms).
  std::chrono::milliseconds backoff_max{250};
  std::size_t max_hops = 256;                   ///< attempts per request, redirects included; >= 1
};

/// The n-th backoff (n >= 1) for a policy: uniform in [c/2, c] with
/// c = min(backoff_max, backoff_base * 2^(n-1)) ("equal jitter").
std::chrono::milliseconds backoff(const routing_policy& p, std::size_t n, core::detail::prng& rng);

/// What to do after an attempt.
enum class action {
  done,     ///< the attempt's answer is the request's answer
  follow,   ///< send the next attempt to `next` now (a redirect)
  retry,    ///< wait `wait`, then send the next attempt to `next`
  give_up,  ///< stop: `reason` says why
};

/// "done", "follow", "retry", "give up".
const char* to_string(action a) noexcept;

/// router::next()'s answer.
struct decision {
  action what = action::done;
  endpoint next{};                     ///< follow, retry: where the next attempt goes
  std::chrono::milliseconds wait{0};   ///< retry: the backoff
  std::string reason{};                  ///< retry, give_up: one line (e.g. the loop it saw)
};

/// True for the statuses the policy retries: 408, 429 and every 5xx.
bool is_retryable_status(int status) noexcept;
/// True for a 301, 302, 303, 307 or 308.
bool is_redirect_status(int status) noexcept;
/// True when a write's attempt ended so that it may have been applied.
bool is_ambiguous(const attempt& a) noexcept;

/// The routing state of one request: where its next attempt goes, given the
/// answers so far. One router per request; the client keeps the leader hint
/// between requests.
class router {
 public:
  /// `peers` is not empty. The first attempt goes to `hint` when set, else to
  /// peers[0]. `is_write` turns on the maybe_applied() bookkeeping.
  router(routing_policy policy, std::vector<endpoint> peers, std::optional<endpoint> hint, std::uint64_t seed,
         bool is_write);

  /// Where the next attempt goes.
  const endpoint& target() const { return target_; }
  /// Takes the answer of the attempt sent to target() and decides.
  decision next(const attempt& a);
  /// A write attempt so far may have been applied (see is_ambiguous()).
  bool maybe_applied() const { return maybe_applied_; }
  /// The leader as far as this request learned: set by a redirect and by a
  /// write's 2xx, cleared when that endpoint failed.
  const std::optional<endpoint>& leader_hint() const { return hint_; }
  /// Attempts decided so far.
  std::size_t hops() const { return hops_; }
  /// The last redirect loop seen, "a → b → a" (empty if none).
  const std::string& loop() const { return loop_; }

 private:
  decision fail(std::string reason);
  decision give_up(std::string reason) const;

  routing_policy policy_;
  std::vector<endpoint> peers_{};     ///< the configured nodes, tried in turn; not empty
  std::optional<endpoint> hint_{};    ///< the believed leader; see leader_hint()
  core::detail::prng rng_;          ///< backoff jitter
  bool is_write_;                   ///< maybe_applied_ is tracked for writes only
  endpoint target_{};                 ///< where the next attempt goes
  /// Index in peers_ of the last peer tried in turn (or whose address an
  /// attempt used); the next failure moves on to the one after it.
  std::size_t cursor_ = 0;
  /// Endpoints of the current redirect chain, target_ last; reset to
  /// {target_} by every failure. A redirect into it is a loop. <= max_hops long.
  std::vector<endpoint> chain_{};
  std::size_t hops_ = 0;            ///< attempts decided; give_up at policy_.max_hops
  std::size_t failures_ = 0;        ///< failed attempts; the exponent of the next backoff
  bool maybe_applied_ = false;      ///< see maybe_applied(); never reset
  std::string loop_{};                ///< see loop()
};

// -- outcomes and traces (shared by the shell, the tool and the TUI) ----------

/// How a request ended, for callers and exit codes.
enum class outcome {
  ok,               ///< 2xx: applied (a duplicate answer included) or read
  not_found,        ///< 404 key_not_found
  cas_failed,       ///< 412 cas_failed: nothing changed
  unavailable,      ///< no definite answer before the deadline or the hop limit; a write was not applied
  outcome_unknown,  ///< a write without a definite answer whose attempts may have applied it
  rejected,         ///< another 4xx: the request itself is refused (bad key, too large, stale session, ...)
  failed,           ///< the client could not even try (a local limit), or an unexpected answer
};

/// "ok", "not_found", "cas_failed", "unavailable", "outcome_unknown", "rejected", "failed".
const char* to_string(outcome o) noexcept;

/// The outcome of a definite answer with this status and body "error" code.
outcome classify(int status, std::string_view error) noexcept;

/// One attempt as the trace shows it.
struct hop {
  endpoint target{};
  std::uint64_t node = 0;          ///< the node's id when known (its answer, or earlier ones); 0 if not
  wire result = wire::answered;
  int status = 0;                  ///< HTTP status (answered)
  std::string error{};               ///< the body's "error" code (answered), else the socket error text
  std::uint64_t hint_node = 0;     ///< the leader id a redirect named (0: none or unknown)
  std::string hint_url{};            ///< a redirect's target URL
  std::uint64_t revision = 0;      ///< a 2xx body's "revision" (0: none)
  double elapsed_ms = 0;           ///< this attempt's duration
  std::chrono::milliseconds wait{0};  ///< the backoff that followed it (retry)
};

/// "node 1: 307 not leader (hint 3)", "127.0.0.1:7003: connection refused",
/// "node 3: 200 OK rev 42", with ", retry in 48 ms" when a backoff followed.
std::string describe(const hop& h);

/// "→ node 1: 307 not leader (hint 3) → node 3: 200 OK rev 42 · 3.1 ms".
std::string format_trace(const std::vector<hop>& hops, double total_ms);

}  // namespace raftkv::client
