// raftkv/kv.hpp: the pure key-value layer in one include.
#pragma once

#include <raftkv/kv/command.hpp>
#include <raftkv/kv/state_machine.hpp>
