// Compiles the client's bodies that need no socket: the routing policy and
// the commands' parsing and printing (Program_options, JSON). Kept apart from
// lib/client.cpp so that editing the policy does not recompile Beast.
#include <raftkv/client/impl/routing.ipp>
#include <raftkv/client/impl/commands.ipp>
