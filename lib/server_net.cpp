// Compiles the server runtime's bodies that need Asio and Beast (host.ipp,
// http_api.ipp) once; Beast stays in this one translation unit.
#include <raftkv/server/impl/host.ipp>
#include <raftkv/server/impl/http_api.ipp>
