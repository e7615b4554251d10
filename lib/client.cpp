// Compiles the client's bodies that need Asio and Beast (client.ipp,
// run_command.ipp) once; Beast stays in this one translation unit.
#include <raftkv/client/impl/client.ipp>
#include <raftkv/client/impl/run_command.ipp>
