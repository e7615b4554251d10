// Compiles the runtime's non-template bodies that need no Asio (replica.ipp).
#include <raftkv/server/impl/replica.ipp>
