-- wrk script for bench/oidc_code.sh: each request exchanges a different authorization code
-- (CODES_FILE: the PKCE verifier on the first line, then one code per line), split between
-- the threads; a request after the codes run out is not sent twice: it is counted as `spent`.
local codes, verifier = {}, nil
for line in io.lines(os.getenv("CODES_FILE")) do
  if verifier == nil then verifier = line else codes[#codes + 1] = line end
end
local auth = os.getenv("CLIENT_AUTH")
local redirect = os.getenv("REDIRECT")
local threads, counter = {}, 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  next_code = id
  step = tonumber(os.getenv("THREADS") or "2")
  bad = 0
end

function request()
  local c = codes[next_code] or "spent"
  next_code = next_code + step
  return wrk.format("POST", "/oauth/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. auth,
  }, "grant_type=authorization_code&code=" .. c .. "&redirect_uri=" .. redirect .. "&code_verifier=" .. verifier)
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f non200=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
