// Bodies for raftkv/client/routing.hpp; compiled once by lib/client_policy.cpp.
#pragma once

#include <raftkv/assert.hpp>
#include <raftkv/client/routing.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace raftkv::client {

std::string endpoint::str() const {
  const std::string p = std::to_string(port);
  return host.find(':') != std::string::npos ? "[" + host + "]:" + p : host + ":" + p;
}

std::string endpoint::url() const { return "http://" + str(); }

std::optional<endpoint> parse_endpoint(std::string_view t) {
  if (t.starts_with("http://")) {
    t.remove_prefix(7);
    t = t.substr(0, std::min(t.find('/'), t.find('?')));
  } else if (t.find("://") != std::string_view::npos) {
    return std::nullopt;  // https and friends: not what a raftkv node serves
  }
  endpoint e;
  std::string_view port_text;
  if (t.starts_with('[')) {
    const auto close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') return std::nullopt;
    e.host = std::string(t.substr(1, close - 1));
    port_text = t.substr(close + 2);
  } else {
    const auto colon = t.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    e.host = std::string(t.substr(0, colon));
    if (e.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
    port_text = t.substr(colon + 1);
  }
  if (e.host.empty()) return std::nullopt;
  for (char c : e.host) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0 || c == '/' || c == '@') return std::nullopt;
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

std::vector<endpoint> parse_peer_list(std::string_view text) {
  std::vector<endpoint> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    if (!part.empty()) {
      auto e = parse_endpoint(part);
      if (!e) throw std::invalid_argument("expected HOST:PORT in the peer list, got '" + std::string(part) + "'");
      if (std::find(out.begin(), out.end(), *e) != out.end()) {
        throw std::invalid_argument(e->str() + " is listed twice");
      }
      out.push_back(std::move(*e));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (out.empty()) throw std::invalid_argument("the peer list names no node");
  return out;
}

const char* to_string(wire w) noexcept {
  switch (w) {
    case wire::answered: return "answered";
    case wire::refused: return "refused";
    case wire::timed_out: return "timed out";
    case wire::dropped: return "dropped";
  }
  return "?";
}

const char* to_string(action a) noexcept {
  switch (a) {
    case action::done: return "done";
    case action::follow: return "follow";
    case action::retry: return "retry";
    case action::give_up: return "give up";
  }
  return "?";
}

const char* to_string(outcome o) noexcept {
  switch (o) {
    case outcome::ok: return "ok";
    case outcome::not_found: return "not_found";
    case outcome::cas_failed: return "cas_failed";
    case outcome::unavailable: return "unavailable";
    case outcome::outcome_unknown: return "outcome_unknown";
    case outcome::rejected: return "rejected";
    case outcome::failed: return "failed";
  }
  return "?";
}

std::chrono::milliseconds backoff(const routing_policy& p, std::size_t n, core::detail::prng& rng) {
  std::int64_t cap = std::max<std::int64_t>(p.backoff_base.count(), 0);
  const std::int64_t max = std::max<std::int64_t>(p.backoff_max.count(), 0);
  for (std::size_t i = 1; i < n && cap < max; ++i) cap *= 2;
  cap = std::min(cap, max);
  if (cap == 0) return std::chrono::milliseconds(0);
  const std::int64_t half = cap / 2;
  return std::chrono::milliseconds(half + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(cap - half + 1))));
}

bool is_retryable_status(int status) noexcept { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

bool is_redirect_status(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_ambiguous(const attempt& a) noexcept {
  switch (a.result) {
    case wire::answered: return a.status >= 500 && a.status != 503;  // 503 promises "not proposed"
    case wire::refused: return false;
    case wire::timed_out:
    case wire::dropped: return a.sent;
  }
  return true;
}

outcome classify(int status, std::string_view error) noexcept {
  if (status >= 200 && status <= 299) return outcome::ok;
  if (status == 404 && error == "key_not_found") return outcome::not_found;
  if (status == 412) return outcome::cas_failed;
  if (status >= 400 && status <= 499) return outcome::rejected;
  return outcome::failed;
}

router::router(routing_policy policy, std::vector<endpoint> peers, std::optional<endpoint> hint, std::uint64_t seed,
               bool is_write)
    : policy_(policy), peers_(std::move(peers)), hint_(std::move(hint)), rng_(seed), is_write_(is_write) {
  RAFTKV_ASSERT(!peers_.empty(), "a router needs at least one peer");
  RAFTKV_ASSERT(policy_.max_hops >= 1, "max_hops is at least 1");
  target_ = hint_ ? *hint_ : peers_.front();
  const auto it = std::find(peers_.begin(), peers_.end(), target_);
  // A hint outside the list: the first failure moves on to peers_[0].
  cursor_ = it != peers_.end() ? static_cast<std::size_t>(it - peers_.begin()) : peers_.size() - 1;
  chain_ = {target_};
}

decision router::next(const attempt& a) {
  ++hops_;
  if (is_write_ && is_ambiguous(a)) maybe_applied_ = true;
  if (a.result != wire::answered) return fail(target_.str() + ": " + to_string(a.result));
  if (is_redirect_status(a.status)) {
    std::optional<endpoint> to = parse_endpoint(a.location);
    if (!to) to = parse_endpoint(a.leader_url);
    if (!to) return fail(target_.str() + ": a redirect without a usable Location or leader_url");
    if (std::find(chain_.begin(), chain_.end(), *to) != chain_.end()) {
      loop_.clear();
      for (const endpoint& e : chain_) loop_ += e.str() + " → ";
      loop_ += to->str();
      return fail("redirect loop: " + loop_);
    }
    hint_ = *to;
    if (hops_ >= policy_.max_hops) return give_up("redirected again, to " + to->str());
    target_ = *to;
    chain_.push_back(target_);
    return {.what = action::follow, .next = target_};
  }
  if (is_retryable_status(a.status)) {
    return fail(target_.str() + ": " + std::to_string(a.status) + (a.error.empty() ? "" : " " + a.error));
  }
  if (is_write_ && a.status >= 200 && a.status <= 299) hint_ = target_;  // only the leader applies writes
  return {.what = action::done};
}

decision router::fail(std::string reason) {
  if (hint_ && *hint_ == target_) hint_.reset();
  ++failures_;
  if (hops_ >= policy_.max_hops) return give_up(std::move(reason));
  const auto it = std::find(peers_.begin(), peers_.end(), target_);
  if (it != peers_.end()) cursor_ = static_cast<std::size_t>(it - peers_.begin());
  cursor_ = (cursor_ + 1) % peers_.size();
  target_ = peers_[cursor_];
  chain_ = {target_};
  return {.what = action::retry, .next = target_, .wait = backoff(policy_, failures_, rng_), .reason = std::move(reason)};
}

decision router::give_up(std::string reason) const {
  std::string why = "gave up after " + std::to_string(hops_) + (hops_ == 1 ? " attempt" : " attempts") +
                    "; last: " + reason;
  if (!loop_.empty() && reason.find("redirect loop") == std::string::npos) why += "; saw a redirect loop: " + loop_;
  return {.what = action::give_up, .reason = std::move(why)};
}

namespace routing_detail {

/// "not_leader" -> "not leader".
inline std::string words(std::string code) {
  std::replace(code.begin(), code.end(), '_', ' ');
  return code;
}

inline const char* phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "bad request";
    case 404: return "not found";
    case 408: return "request timeout";
    case 429: return "too many requests";
    case 500: return "internal server error";
    case 502: return "bad gateway";
    case 503: return "service unavailable";
    case 504: return "gateway timeout";
    default: return "";
  }
}

}  // namespace routing_detail

std::string describe(const hop& h) {
  using namespace routing_detail;
  std::string s = h.node != 0 ? "node " + std::to_string(h.node) : h.target.str();
  s += ": ";
  if (h.result == wire::answered) {
    s += std::to_string(h.status);
    const std::string w = h.status >= 200 && h.status <= 299 ? "OK" : !h.error.empty() ? words(h.error) : phrase(h.status);
    if (!w.empty()) s += " " + w;
    if (h.status >= 200 && h.status <= 299 && h.revision != 0) s += " rev " + std::to_string(h.revision);
    if (is_redirect_status(h.status)) {
      if (h.hint_node != 0) {
        s += " (hint " + std::to_string(h.hint_node) + ")";
      } else if (!h.hint_url.empty()) {
        s += " (to " + h.hint_url + ")";
      }
    }
  } else {
    std::string e = h.error.empty() ? to_string(h.result) : h.error;
    if (!e.empty()) e[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(e[0])));
    s += e;
  }
  if (h.wait.count() > 0) s += ", retry in " + std::to_string(h.wait.count()) + " ms";
  return s;
}

std::string format_trace(const std::vector<hop>& hops, double total_ms) {
  std::string s;
  for (const hop& h : hops) s += "→ " + describe(h) + " ";
  if (hops.empty()) s = "no attempt ";
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.1f", total_ms);
  return s + "· " + ms + " ms";
}

}  // namespace raftkv::client
