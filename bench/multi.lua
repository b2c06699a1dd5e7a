-- wrk script for Flowgate's delivery benchmark (bench/delivery.sh): like post.lua, but the
-- requests rotate over several paths (one per ordered lane, say). POSTs the identity-service
-- sample event, counts every response by status code, optionally checks the body, and prints
-- the same machine-readable summary lines as post.lua.
--
-- Environment:
--   BENCH_PATHS     comma-separated request paths, e.g. "/t/bench/lane-001,/t/bench/lane-002"
--                   (default: the path of the URL given to wrk). Each wrk thread walks the list
--                   round-robin from its own starting point, so every path gets an equal share.
--   BENCH_API_KEY   value of the X-API-Key header (optional: no header when unset)
--   BENCH_EXPECT    "sync"  : 200 with the mapped JSON (ok, entity, event, email_domain)
--                   "async" : 202 with an execution_id
--                   "none"  : no body check (default)
--
-- Output (stdout, after wrk's own report):
--   BENCH_RESULT requests=N duration_s=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
--                non2xx=N bad_body=N socket_errors=N connect=N read=N write=N timeout=N paths=N
--   BENCH_STATUS 200=N 503=N ...

local api_key = os.getenv("BENCH_API_KEY")
local expect = os.getenv("BENCH_EXPECT") or "none"

local paths = {}
for p in string.gmatch(os.getenv("BENCH_PATHS") or "", "[^,%s]+") do
  if string.sub(p, 1, 1) ~= "/" then
    p = "/" .. p
  end
  table.insert(paths, p)
end

wrk.method = "POST"
wrk.body = '{"id":"IDNUMBER1234","entityType":"USER","eventType":"UPDATE","timestamp":"2019-01-01T00:00:00Z","email":"jane.doe@example.com"}'
wrk.headers["Content-Type"] = "application/json"
if api_key ~= nil and api_key ~= "" then
  wrk.headers["X-API-Key"] = api_key
end

-- Main state: remember the threads to collect their counters in done().
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

-- Thread state: per-thread counters (globals, so that thread:get can read them) and the
-- pre-formatted requests, one per path.
function init(args)
  statuses = {}
  bad_body = 0
  requests = {}
  for i, p in ipairs(paths) do
    requests[i] = wrk.format(nil, p)
  end
  if #requests == 0 then
    requests[1] = wrk.format()
  end
  -- Threads start at different places of the list (spread evenly over it).
  local n = #requests
  next_index = ((thread_no or 0) * math.max(1, math.floor(n / 2))) % n
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

-- Looks for `"key":value` allowing whitespace around the colon; the fast plain search first.
local function has(body, key, value)
  if string.find(body, '"' .. key .. '":' .. value, 1, true) then
    return true
  end
  local pattern = '"' .. key .. '"%s*:%s*' .. string.gsub(value, "%p", "%%%0")
  return string.find(body, pattern) ~= nil
end

local function body_ok(status, body)
  if expect == "sync" then
    return status == 200 and body ~= nil
      and has(body, "ok", "true")
      and has(body, "entity", '"USER:IDNUMBER1234"')
      and has(body, "event", '"update"')
      and has(body, "email_domain", '"example.com"')
  elseif expect == "async" then
    return status == 202 and body ~= nil and string.find(body, '"execution_id"', 1, true) ~= nil
  end
  return true
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 and not body_ok(status, body) then
    bad_body = bad_body + 1
  end
end

function done(summary, latency, requests)
  local all = {}
  local bad = 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses") or {}
    for code, n in pairs(s) do
      all[code] = (all[code] or 0) + n
    end
    bad = bad + (thread:get("bad_body") or 0)
  end

  local codes = {}
  local non2xx = 0
  for code, n in pairs(all) do
    table.insert(codes, code)
    if code < 200 or code >= 300 then
      non2xx = non2xx + n
    end
  end
  table.sort(codes)
  local parts = {}
  for _, code in ipairs(codes) do
    table.insert(parts, string.format("%d=%d", code, all[code]))
  end

  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local rps = 0
  if secs > 0 then
    rps = summary.requests / secs
  end
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f "
      .. "non2xx=%d bad_body=%d socket_errors=%d connect=%d read=%d write=%d timeout=%d paths=%d\n",
    summary.requests, secs, rps,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000,
    non2xx, bad, socket_errors, e.connect, e.read, e.write, e.timeout, math.max(1, #paths)))
  io.write("BENCH_STATUS " .. table.concat(parts, " ") .. "\n")
end
