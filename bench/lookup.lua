-- wrk script: GET /api/v1/citizens/{id} for ids read from $IDS_FILE, round robin,
-- with the bearer token in $TOKEN. Used by bench/lookup.sh.
local ids = {}
local n = 0
init = function(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    n = n + 1
    ids[n] = line
  end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end
local i = 0
request = function()
  i = i + 1
  if os.getenv("CONSTANT") == "1" then
    return wrk.format("GET", "/api/v1/bench/constant")
  end
  return wrk.format("GET", "/api/v1/citizens/" .. ids[(i % n) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
