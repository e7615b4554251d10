// Fuzz target: the peer protocol's frame decoder and payload decoders
// (net/frame.hpp), fed the bytes in pieces as a socket would deliver them.
// Invariants: the decoder never reserves more than max_frame_bytes for a
// frame; a message that decodes encodes and decodes again to itself.
#include "fuzz/fuzz_target.hpp"

#include <raftkv/net/frame.hpp>

#include <string_view>

namespace raftkv::fuzz {

int frame(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  constexpr std::size_t max_frame = 1 << 16;
  net::frame_decoder dec(max_frame);
  // The first byte chooses how the rest is cut into "socket reads".
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  for (std::size_t at = 0; at <= bytes.size(); at += piece) {
    dec.feed(bytes.substr(at, piece));
    // Unconsumed bytes are below one frame plus one read; the consumed prefix
    // kept is smaller than the buffer's half; growth at most doubles.
    fuzz_check(dec.capacity() <= 4 * (max_frame + net::frame_header_bytes + piece) + 64,
               "the decoder's buffer stays bounded by the frame limit");
    while (true) {
      auto next = dec.next();
      if (!next || !*next) break;
      const net::frame& f = **next;
      switch (f.type) {
        case net::frame_type::raft: {
          auto m = net::decode_message(f);
          if (m) {
            const std::string again = net::encode(*m);
            net::frame_decoder round;
            round.feed(again);
            auto rf = round.next();
            fuzz_check(rf && *rf, "an encoded message is one whole frame");
            auto m2 = net::decode_message(**rf);
            fuzz_check(m2 && *m2 == *m, "a decoded message survives encode + decode");
          }
          break;
        }
        case net::frame_type::hello: (void)net::decode_hello(f); break;
        case net::frame_type::hello_ok: (void)net::decode_hello_ok(f); break;
        case net::frame_type::hello_refused: (void)net::decode_hello_refused(f); break;
      }
    }
    if (!dec.next()) break;  // sticky error: the connection would close here
  }
  return 0;
}

}  // namespace raftkv::fuzz

RAFTKV_FUZZ_ENTRY(frame)
