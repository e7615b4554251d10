// Compiles the peer protocol's pure bodies once: the frame codec and the
// error category. No Asio here, so editing the codec does not recompile the
// transport (lib/net_transport.cpp).
#include <raftkv/net/impl/error.ipp>
#include <raftkv/net/impl/frame.ipp>
