// Compiles the runtime's bodies that need no Asio: replica.ipp, and options.ipp (Program_options).
#include <raftkv/server/impl/replica.ipp>
#include <raftkv/server/impl/options.ipp>
