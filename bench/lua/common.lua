-- Shared by every phase: print wrk's summary as one JSON line the harness parses.
-- Per-thread counters (e.g. completed pairs) are summed through setup()/thread:get().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local pairs_done = 0
  for _, t in ipairs(threads) do
    pairs_done = pairs_done + (t:get("completed_pairs") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d,' ..
    '"p50_us":%d,"p99_us":%d,"pairs":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), pairs_done))
end
