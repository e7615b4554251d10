// raftkv/core.hpp: the pure Raft core in one include.
#pragma once

#include <raftkv/core/config.hpp>
#include <raftkv/core/event.hpp>
#include <raftkv/core/log.hpp>
#include <raftkv/core/node.hpp>
#include <raftkv/core/progress.hpp>
#include <raftkv/core/ready.hpp>
#include <raftkv/core/storage.hpp>
#include <raftkv/core/types.hpp>
