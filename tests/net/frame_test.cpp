// Unit tests of the peer protocol's frame codec (net/frame.hpp): round trips,
// the wire layout written by hand, malformed input as values, every split
// point of a stream, the allocation bound and seeded random bytes.
#include <raftkv/net/frame.hpp>

// The codec is pure: including it must not drag Asio (or any IO library) in.
#if defined(BOOST_ASIO_VERSION) || defined(BOOST_BEAST_VERSION)
#error "net/frame.hpp must not include Asio or Beast"
#endif

#include <raftkv/detail/crc32c.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace net = raftkv::net;
using raftkv::core::entry;
using raftkv::core::entry_type;
using raftkv::core::message;
using raftkv::core::message_type;
using net::errc;
using net::frame;
using net::frame_decoder;
using net::frame_type;

void put_le(std::string& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

/// A frame assembled by hand: `length` and `crc` default to the right values.
std::string raw_frame(std::uint8_t type, std::uint8_t version, const std::string& payload,
                      std::optional<std::uint32_t> length = {},
                      std::optional<std::uint32_t> crc = {}) {
  std::string out;
  put_le(out, length.value_or(static_cast<std::uint32_t>(6 + payload.size())), 4);
  put_le(out, type, 1);
  put_le(out, version, 1);
  put_le(out, crc.value_or(raftkv::detail::crc32c(payload)), 4);
  return out + payload;
}

/// A message with every field set to something distinct.
message full_message(message_type t) {
  message m;
  m.type = t;
  m.from = 1;
  m.to = 0x0203040506070809;
  m.term = 7;
  m.log_term = 6;
  m.index = 1ull << 40;
  m.commit = 41;
  m.reject = true;
  m.reject_hint = 39;
  m.context = 0xFFFFFFFFFFFFFFFF;
  m.snapshot_size = 123456;
  if (t == message_type::append_entries) {
    m.entries = {entry{6, 42, entry_type::noop, ""},
                 entry{7, 43, entry_type::normal, std::string("a\0b", 3)},
                 entry{7, 44, entry_type::normal, std::string(1000, 'x')}};
  }
  if (t == message_type::install_snapshot) m.chunk = std::string("snap\0shot bytes", 15);
  return m;
}

/// Decodes exactly one frame from `bytes`, which must hold it whole.
raftkv::result<frame> one_frame(const std::string& bytes, std::size_t max = 1 << 20) {
  frame_decoder d(max);
  d.feed(bytes);
  auto r = d.next();
  if (!r) return r.error();
  REQUIRE(r->has_value());
  return std::move(**r);
}

/// Every frame the decoder yields from `bytes` fed in the pieces cut at `cuts`.
std::vector<frame> frames_of(const std::string& bytes, const std::vector<std::size_t>& cuts) {
  frame_decoder d;
  std::vector<frame> out;
  std::size_t from = 0;
  auto drain = [&] {
    for (;;) {
      auto r = d.next();
      REQUIRE(r.has_value());
      if (!r->has_value()) return;
      out.push_back(std::move(**r));
    }
  };
  for (std::size_t cut : cuts) {
    d.feed(std::string_view(bytes).substr(from, cut - from));
    drain();
    from = cut;
  }
  d.feed(std::string_view(bytes).substr(from));
  drain();
  CHECK(d.buffered() == 0);
  return out;
}

}  // namespace

TEST_CASE("every message type survives encode, frame decoding and decode_message") {
  for (std::size_t t = 0; t < net::message_type_count; ++t) {
    const message m = full_message(static_cast<message_type>(t));
    CAPTURE(raftkv::core::to_string(m.type));
    auto f = one_frame(net::encode(m));
    REQUIRE(f.has_value());
    CHECK(f->type == frame_type::raft);
    CHECK(f->version == net::protocol_version);
    auto back = net::decode_message(*f);
    REQUIRE(back.has_value());
    CHECK(*back == m);
  }
  SUBCASE("defaults and empty strings") {
    auto back = net::decode_message(*one_frame(net::encode(message{})));
    REQUIRE(back.has_value());
    CHECK(*back == message{});
  }
}

TEST_CASE("handshake frames round trip") {
  const net::hello h{1, "cluster-\xff", 3, 5};
  auto hf = one_frame(net::encode_hello(h));
  REQUIRE(hf.has_value());
  CHECK(hf->type == frame_type::hello);
  CHECK(net::decode_hello(*hf).value() == h);

  auto ok = one_frame(net::encode_hello_ok());
  REQUIRE(ok.has_value());
  CHECK(net::decode_hello_ok(*ok).has_value());

  auto refused = one_frame(net::encode_hello_refused("unknown node 9"));
  REQUIRE(refused.has_value());
  CHECK(net::decode_hello_refused(*refused).value() == "unknown node 9");
}

TEST_CASE("the wire layout is the one frame.hpp documents") {
  std::string payload;
  put_le(payload, 1, 4);
  put_le(payload, 2, 4);
  payload += "c1";
  put_le(payload, 3, 8);
  put_le(payload, 5, 8);
  CHECK(net::encode_hello(net::hello{1, "c1", 3, 5}) == raw_frame(1, 1, payload));
  // hello_ok: length 6, type 2, version 1, crc32c("") == 0.
  CHECK(net::encode_hello_ok() == std::string("\x06\0\0\0\x02\x01\0\0\0\0", 10));
  // A default message: 82 payload bytes, type byte first, chunk length last.
  const std::string m = net::encode(message{});
  REQUIRE(m.size() == net::frame_header_bytes + 82);
  CHECK(static_cast<unsigned char>(m[0]) == 6 + 82);
  CHECK(m[net::frame_header_bytes] == static_cast<char>(message_type::heartbeat));
}

TEST_CASE("malformed frames and payloads are error values") {
  const std::string good = net::encode(full_message(message_type::append_entries));
  const std::string good_payload = good.substr(net::frame_header_bytes);
  // Offsets into a raft payload: type 0, reject 49, entry count 74, first entry 78.
  auto with_byte = [&](std::size_t at, char v) {
    std::string p = good_payload;
    p[at] = v;
    return p;
  };
  auto with_u32 = [&](std::size_t at, std::uint32_t v) {
    std::string p = good_payload;
    std::string le;
    put_le(le, v, 4);
    p.replace(at, 4, le);
    return p;
  };
  struct row {
    const char* name;
    std::string bytes;
    errc want;
  };
  const std::vector<row> rows = {
      {"length below the header", raw_frame(4, 1, "", 5), errc::frame_too_short},
      {"length zero", raw_frame(4, 1, "", 0), errc::frame_too_short},
      {"length above the maximum", raw_frame(4, 1, "", (1 << 20) + 1), errc::frame_too_large},
      {"type 0", raw_frame(0, 1, good_payload), errc::unknown_frame_type},
      {"type 5", raw_frame(5, 1, good_payload), errc::unknown_frame_type},
      {"type 255", raw_frame(255, 1, ""), errc::unknown_frame_type},
      {"checksum", raw_frame(4, 1, good_payload, {}, 1), errc::bad_checksum},
      {"raft version 2", raw_frame(4, 2, good_payload), errc::unsupported_version},
      {"raft version 0", raw_frame(4, 0, good_payload), errc::unsupported_version},
      {"raft empty payload", raw_frame(4, 1, ""), errc::truncated},
      {"raft trailing byte", raw_frame(4, 1, good_payload + "x"), errc::trailing_bytes},
      {"message type 13", raw_frame(4, 1, with_byte(0, 13)), errc::bad_enum},
      {"message type 255", raw_frame(4, 1, with_byte(0, '\xff')), errc::bad_enum},
      {"reject 2", raw_frame(4, 1, with_byte(49, 2)), errc::bad_enum},
      {"entry type 2", raw_frame(4, 1, with_byte(78 + 16, 2)), errc::bad_enum},
      {"entry count 2^32-1", raw_frame(4, 1, with_u32(74, 0xFFFFFFFF)), errc::bad_count},
      {"entry count one too many", raw_frame(4, 1, with_u32(74, 4)), errc::truncated},
      {"entry data length 2^32-1", raw_frame(4, 1, with_u32(78 + 17, 0xFFFFFFFF)), errc::truncated},
      {"chunk length past the end", raw_frame(4, 1, with_u32(good_payload.size() - 4, 1)),
       errc::truncated},
      {"hello_ok with a payload", raw_frame(2, 1, "x"), errc::trailing_bytes},
      {"hello_ok version 2", raw_frame(2, 2, ""), errc::unsupported_version},
      {"hello truncated", raw_frame(1, 1, std::string(5, '\0')), errc::truncated},
      {"hello trailing", raw_frame(1, 1, net::encode_hello({}).substr(10) + "!"),
       errc::trailing_bytes},
      {"hello_refused reason past the end", raw_frame(3, 1, std::string("\x09\0\0\0abc", 7)),
       errc::truncated},
      {"hello_refused trailing", raw_frame(3, 1, std::string("\x01\0\0\0ab", 6)),
       errc::trailing_bytes},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    auto f = one_frame(r.bytes);
    boost::system::error_code got;
    if (!f) {
      got = f.error();
    } else if (f->type == frame_type::raft) {
      got = net::decode_message(*f).error();
    } else if (f->type == frame_type::hello) {
      got = net::decode_hello(*f).error();
    } else if (f->type == frame_type::hello_ok) {
      got = net::decode_hello_ok(*f).error();
    } else {
      got = net::decode_hello_refused(*f).error();
    }
    CHECK(got == r.want);
  }
  SUBCASE("every proper prefix of a raft payload is refused") {
    for (std::size_t n = 0; n < good_payload.size(); ++n) {
      CAPTURE(n);
      auto f = one_frame(raw_frame(4, 1, good_payload.substr(0, n)));
      REQUIRE(f.has_value());
      auto m = net::decode_message(*f);
      REQUIRE_FALSE(m.has_value());
      CHECK((m.error() == errc::truncated || m.error() == errc::bad_count));
    }
  }
  SUBCASE("a frame of another type is not a message") {
    auto f = one_frame(net::encode_hello({}));
    CHECK(net::decode_message(*f).error() == errc::unexpected_frame);
    CHECK(net::decode_hello_ok(*f).error() == errc::unexpected_frame);
  }
  SUBCASE("hello of another version still decodes, so it can be refused by name") {
    auto f = one_frame(raw_frame(1, 9, net::encode_hello({2, "c", 1, 2}).substr(10)));
    REQUIRE(f.has_value());
    CHECK(net::decode_hello(*f).value().version == 2);
  }
}

TEST_CASE("a valid stream decodes the same at every split point") {
  message snap = full_message(message_type::install_snapshot);
  const std::vector<std::string> parts = {
      net::encode_hello({1, "c", 1, 2}), net::encode_hello_ok(),
      net::encode(full_message(message_type::append_entries)), net::encode(snap),
      net::encode_hello_refused("no"), net::encode(message{})};
  std::string stream;
  for (const auto& p : parts) stream += p;
  const std::vector<frame> whole = frames_of(stream, {});
  REQUIRE(whole.size() == parts.size());
  CHECK(net::decode_message(whole[3]).value() == snap);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    CAPTURE(cut);
    const auto got = frames_of(stream, {cut});
    REQUIRE(got.size() == whole.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].type == whole[i].type);
      CHECK(got[i].payload == whole[i].payload);
    }
  }
  SUBCASE("one byte at a time") {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    CHECK(frames_of(stream, cuts).size() == parts.size());
  }
}

TEST_CASE("an oversized length is refused before anything is allocated for it") {
  frame_decoder d;  // default maximum: 16 MiB
  const std::size_t before = d.capacity();
  std::string header;
  put_le(header, 0xFFFFFFF0, 4);
  header += "\x04\x01";
  d.feed(header);
  auto r = d.next();
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error() == errc::frame_too_large);
  CHECK(d.capacity() == before);
  CHECK(d.capacity() < 64);

  SUBCASE("errors are sticky") {
    d.feed(net::encode_hello_ok());
    CHECK(d.next().error() == errc::frame_too_large);
  }
  SUBCASE("the bound is inclusive") {
    const std::string at_max = raw_frame(4, 1, std::string(100, 'p'));
    CHECK(one_frame(at_max, 106).has_value());
    CHECK(one_frame(at_max, 105).error() == errc::frame_too_large);
  }
  SUBCASE("the length alone decides, before the type byte or payload arrive") {
    frame_decoder small(1000);
    std::string h;
    put_le(h, 1001, 4);
    small.feed(h);
    CHECK(small.next().error() == errc::frame_too_large);
  }
}

TEST_CASE("random and mutated bytes never crash the decoder") {
  std::mt19937_64 rng(20240611);
  const std::string valid = net::encode(full_message(message_type::append_entries));
  const message original = full_message(message_type::append_entries);
  std::size_t frames = 0;
  std::size_t stream_errors = 0;
  for (int i = 0; i < 4000; ++i) {
    CAPTURE(i);
    std::string bytes;
    if (i % 2 == 0) {
      // Pure noise, sometimes behind a plausible header so the payload decoders run.
      const std::size_t n = rng() % 300;
      for (std::size_t k = 0; k < n; ++k) bytes.push_back(static_cast<char>(rng()));
      if (i % 4 == 0) bytes = raw_frame(static_cast<std::uint8_t>(1 + rng() % 4), 1, bytes);
    } else {
      // A valid frame with one to three bytes changed.
      bytes = valid;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int k = 0; k < flips; ++k) bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    frame_decoder d(4096);
    d.feed(bytes);
    std::size_t consumed = 0;
    for (;;) {
      auto r = d.next();
      if (!r) ++stream_errors;
      if (!r || !r->has_value()) break;
      const frame& f = **r;
      ++frames;
      consumed += net::frame_header_bytes + f.payload.size();
      (void)net::decode_hello(f);
      (void)net::decode_hello_ok(f);
      (void)net::decode_hello_refused(f);
      auto m = net::decode_message(f);
      if (i % 2 == 1) {
        // CRC-32C catches every change of up to 32 bits in the payload; a
        // changed header byte makes another frame, never the original message.
        CHECK_FALSE((m.has_value() && *m == original));
      }
    }
    CHECK(consumed <= bytes.size());
    CHECK(d.capacity() <= 4096 + 4 + bytes.size() + 64);
  }
  CHECK(frames > 0);
  CHECK(stream_errors > 0);
}

TEST_CASE("the decoder gives back the room of a large frame once it is consumed") {
  message big;
  big.type = message_type::install_snapshot;
  big.chunk = std::string(std::size_t{2} << 20, 'c');
  frame_decoder d;
  d.feed(net::encode(big));
  auto f = d.next();
  REQUIRE(f.has_value());
  REQUIRE(f->has_value());
  CHECK(d.capacity() >= (std::size_t{2} << 20));
  d.feed(net::encode_hello_ok());
  CHECK(d.capacity() < (std::size_t{1} << 20));
  auto ok = d.next();
  REQUIRE(ok.has_value());
  CHECK((*ok)->type == frame_type::hello_ok);
}
