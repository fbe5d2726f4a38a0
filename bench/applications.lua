-- wrk script for bench/applications.sh: applications submitted, accepted, taken into
-- process and completed over the API, every step its own request with the officer's bearer
-- token ($TOKEN). Each answer queues the application's next step; a connection sends a
-- queued step when there is one, else submits a new application (for a personal ID read
-- from $IDS_FILE, round robin, one of a few services, a fresh idempotency key). Completed
-- applications are counted per thread; done() prints the totals.
local ids, n = {}, 0
local services = { "cmnd_confirm", "judicial_record", "passport", "vehicle_motorbike", "land_change" }
local queue, head, tail = {}, 1, 0
local seq = 0
completed = 0
bad = 0
local next_step = { submitted = "accepted", accepted = "in_process", in_process = "completed" }

local threads = {}
local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

init = function(args)
  for line in io.lines(os.getenv("IDS_FILE")) do
    n = n + 1
    ids[n] = line
  end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Content-Type"] = "application/json"
  seq = tid * 7919
end

request = function()
  if head <= tail then
    local step = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", "/api/v1/applications/" .. step.id .. "/transitions", nil,
      '{"to":"' .. step.to .. '","expected_version":' .. step.version .. '}')
  end
  seq = seq + 1
  local body = string.format('{"personal_id":"%s","service_code":"%s","idempotency_key":"%s-%d-%d"}',
    ids[(seq % n) + 1], services[(seq % #services) + 1], os.getenv("RUN_TAG") or "run", tid, seq)
  return wrk.format("POST", "/api/v1/applications", nil, body)
end

response = function(status, headers, body)
  if status ~= 200 and status ~= 201 then
    bad = bad + 1
    return
  end
  local id = string.match(body, '^{"id":(%d+)')
  local version = string.match(body, '"version":(%d+)')
  local state = string.match(body, '"state":"([%w_]+)"')
  if state == "completed" then
    completed = completed + 1
    return
  end
  local to = next_step[state]
  if id and version and to then
    tail = tail + 1
    queue[tail] = { id = id, version = version, to = to }
  else
    bad = bad + 1
  end
end

done = function(summary, latency, requests)
  local c, b = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("completed")
    b = b + t:get("bad")
  end
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT applications_completed=%d apps_per_s=%.0f requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f unexpected=%d errors=%d non2xx=%d\n",
    c, c / secs, summary.requests, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, b,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
