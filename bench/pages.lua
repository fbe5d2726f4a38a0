-- wrk script: GET the paths listed in $PATHS_FILE, round robin, with the officer's session
-- cookie in $COOKIE (or, for API paths, the bearer token in $TOKEN). Used by bench/pages.sh
-- and bench/app_queue.sh; prints the latency percentiles of one page kind.
local paths = {}
local n = 0
init = function(args)
  for line in io.lines(os.getenv("PATHS_FILE")) do
    n = n + 1
    paths[n] = line
  end
  local cookie = os.getenv("COOKIE")
  if cookie and cookie ~= "" then
    wrk.headers["Cookie"] = cookie
  end
  local token = os.getenv("TOKEN")
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % n) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
