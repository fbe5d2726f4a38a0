-- wrk script for bench/oidc_token.sh: POST client_credentials token requests with HTTP Basic
-- client authentication (CLIENT_AUTH = base64 of id:secret); reports RESULT lines.
local auth = os.getenv("CLIENT_AUTH")
local scope = os.getenv("SCOPE") or "partner:verify"
local path = os.getenv("TOKEN_PATH") or "/oauth/token"
wrk.method = "POST"
wrk.path = path
wrk.body = "grant_type=client_credentials&scope=" .. scope
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. auth

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
