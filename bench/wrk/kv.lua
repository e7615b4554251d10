-- bench/wrk/kv.lua: the one wrk load of bench/run.sh, for raftkv, etcd and
-- the plain-HTTP floor. Set by environment:
--   BENCH_TARGET  raftkv | etcd | floor
--   BENCH_OP      put | get (linearizable) | sget (stale / serializable)
--   BENCH_KEYS    how many distinct keys (default 10000)
--   BENCH_ORDER   random (default) | seq (the thread walks the key set in
--                 order: the preload) | counter (raftkv PUTs of the keys
--                 k00000000, k00000001, ... made on the fly, from the
--                 number BENCH_START on: the memory test)
-- Keys are 9 random bytes from [a-z0-9], values 100 bytes; the same seed makes
-- the same key set for every target. Requests are prepared once per thread,
-- so a request costs one table lookup. done() prints one line
--   RESULT requests=N seconds=S rps=R p50_us=A p90_us=B p99_us=C non2xx=E errors=F
-- that run.sh parses.

local target = os.getenv("BENCH_TARGET") or "raftkv"
local op = os.getenv("BENCH_OP") or "put"
local nkeys = tonumber(os.getenv("BENCH_KEYS") or "10000")
local order = os.getenv("BENCH_ORDER") or "random"

local alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

local function make_keys()
  math.randomseed(20261127)
  local keys = {}
  for i = 1, nkeys do
    local t = {}
    for j = 1, 9 do
      local k = math.random(#alphabet)
      t[j] = alphabet:sub(k, k)
    end
    keys[i] = table.concat(t)
  end
  return keys
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(s)
  return ((s:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local value = string.rep("v", 90) .. "0123456789"  -- 100 bytes

local requests = {}
local counter = 0

function init(args)
  if order == "counter" then
    counter = tonumber(os.getenv("BENCH_START") or "0")
    return
  end
  local keys = make_keys()
  local json = { ["Content-Type"] = "application/json" }
  local plain = { ["Content-Type"] = "application/octet-stream" }
  for i, key in ipairs(keys) do
    if target == "floor" then
      requests[i] = wrk.format("GET", "/kv/" .. key)
    elseif target == "etcd" then
      local k = base64(key)
      if op == "put" then
        requests[i] = wrk.format("POST", "/v3/kv/put", json,
          '{"key":"' .. k .. '","value":"' .. base64(value) .. '"}')
      elseif op == "get" then
        requests[i] = wrk.format("POST", "/v3/kv/range", json, '{"key":"' .. k .. '"}')
      else
        requests[i] = wrk.format("POST", "/v3/kv/range", json, '{"key":"' .. k .. '","serializable":true}')
      end
    else
      if op == "put" then
        requests[i] = wrk.format("PUT", "/v1/kv/" .. key, plain, value)
      elseif op == "get" then
        requests[i] = wrk.format("GET", "/v1/kv/" .. key)
      else
        requests[i] = wrk.format("GET", "/v1/kv/" .. key .. "?consistency=stale")
      end
    end
  end
  -- The key set is fixed; the order is not: every run and thread starts elsewhere.
  math.randomseed(os.time() + math.floor(os.clock() * 1e6) + tostring({}):len() * 7919 + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
  counter = math.random(nkeys)
end

local thread_no = 0
function setup(thread)
  thread:set("thread_no", thread_no)
  thread_no = thread_no + 1
end

local plain_headers = { ["Content-Type"] = "application/octet-stream" }
function request()
  if order == "counter" then
    local key = string.format("k%08d", counter % nkeys)
    counter = counter + 1
    return wrk.format("PUT", "/v1/kv/" .. key, plain_headers, value)
  end
  if order == "seq" then
    counter = counter + 1
    return requests[(counter + (thread_no or 0) * 997) % nkeys + 1]
  end
  return requests[math.random(nkeys)]
end

function done(summary, latency, requests_)
  local s = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d non2xx=%d errors=%d\n",
    summary.requests, s, summary.requests / s,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
