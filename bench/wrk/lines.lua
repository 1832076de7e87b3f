-- wrk script for bench/run.js. Every request is built from one line of the
-- file WRK_LINES names, all formatted before the run starts (so the client
-- only hands out strings):
--   WRK_AS=bearer  GET WRK_PATH with "Authorization: Bearer <line>"
--   WRK_AS=json    POST WRK_PATH with <line> as its JSON body
--   WRK_AS=plain   GET WRK_PATH with no Authorization header (the line is ignored)
-- WRK_ONCE=1 presents each line at most once (fresh tokens): a run that needs
-- more lines than the file has starts over and counts the reuses.
-- WRK_DELAY_MS pauses each connection that long before its next request (a
-- paced load: connections x 1000 / delay requests per second at most).
-- done() prints one JSON line: counts, latency percentiles (microseconds),
-- and wrk's own CPU time (clock ticks), so the report can tell a busy client.
local requests = {}
local next_index = 1
-- globals, so done() can read them from the thread's state
sent = 0
lines = 0
local once = os.getenv("WRK_ONCE") == "1"
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")

function init (args)
  local as = os.getenv("WRK_AS") or "plain"
  local path = os.getenv("WRK_PATH") or "/"
  for line in io.lines(os.getenv("WRK_LINES")) do
    if line ~= "" then
      if as == "bearer" then
        requests[#requests + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
      elseif as == "json" then
        requests[#requests + 1] = wrk.format("POST", path, { ["Content-Type"] = "application/json" }, line)
      else
        requests[#requests + 1] = wrk.format("GET", path)
      end
    end
  end
  lines = #requests
  -- Pooled lines start at a random place, as clients of a real server would not come in order.
  if not once then next_index = math.random(#requests) end
end

function request ()
  local r = requests[next_index]
  sent = sent + 1
  next_index = next_index + 1
  if next_index > #requests then next_index = 1 end
  return r
end

if delay_ms > 0 then
  function delay ()
    return delay_ms
  end
end

local threads = {}
function setup (thread)
  threads[#threads + 1] = thread
end

local function cpu_ticks ()
  local f = io.open("/proc/self/stat", "r")
  if not f then return -1 end
  local stat = f:read("*l")
  f:close()
  local fields = {}
  for field in stat:sub(stat:find(")", 1, true) + 2):gmatch("%S+") do fields[#fields + 1] = field end
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done (summary, latency)
  local reuses = 0
  if once then
    for _, thread in ipairs(threads) do
      reuses = reuses + math.max(0, thread:get("sent") - thread:get("lines"))
    end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"client_cpu_ticks":%d,"reused":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, cpu_ticks(), reuses))
end
