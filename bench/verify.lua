-- wrk script: POST /api/v1/partner/verify for the records in $RECORDS_FILE (one
-- `id,family middle given,birth_date,sex` line each), round robin, with the partner's
-- client-credentials token in $PTOKEN; with CONSTANT=1, GET /api/v1/bench/constant with
-- the officer token in $TOKEN (the same server's constant-answer baseline). bench/verify.sh.
local bodies = {}
local n = 0
init = function(args)
  for line in io.lines(os.getenv("RECORDS_FILE")) do
    local id, name, dob, sex = line:match("([^,]*),([^,]*),([^,]*),([^,]*)")
    n = n + 1
    bodies[n] = string.format(
      '{"purpose":"bench: kiểm tra hồ sơ","personal_id":"%s","full_name":"%s","date_of_birth":"%s","sex":"%s"}',
      id, name, dob, sex)
  end
end
local i = 0
request = function()
  i = i + 1
  if os.getenv("CONSTANT") == "1" then
    return wrk.format("GET", "/api/v1/bench/constant", { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") })
  end
  return wrk.format("POST", "/api/v1/partner/verify",
    { ["Authorization"] = "Bearer " .. os.getenv("PTOKEN"), ["Content-Type"] = "application/json" },
    bodies[(i % n) + 1])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d non2xx=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
