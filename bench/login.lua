-- wrk script: officer password logins (argon2id) against POST /api/v1/auth/token.
wrk.method = "POST"
wrk.path = "/api/v1/auth/token"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-password-123"}'
done = function(summary, latency, requests)
  io.write(string.format("RESULT logins_per_s=%.1f p50_ms=%.1f p99_ms=%.1f non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status))
end
