// Compiles the key-value layer's non-template bodies once (Beast's src.hpp pattern).
#include <raftkv/kv/impl/command.ipp>
#include <raftkv/kv/impl/state_machine.ipp>
