// Compiles the peer transport once: the only translation unit that includes
// Asio's coroutine machinery for it. Kept apart from lib/net.cpp so that
// editing the pure codec does not recompile this one.
#include <raftkv/net/impl/transport.ipp>
#include <raftkv/net/impl/transport_io.ipp>
