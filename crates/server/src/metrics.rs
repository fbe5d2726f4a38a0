//! Prometheus text metrics: requests per route and status class, and a latency histogram.
//! Atomics behind a read-mostly map keep the hot path lock-free after a route's first hit.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

const BUCKETS_MS: [f64; 10] = [0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0];

#[derive(Default)]
struct RouteStats {
    by_class: [AtomicU64; 5],
    buckets: [AtomicU64; BUCKETS_MS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

#[derive(Default)]
pub struct Metrics {
    routes: RwLock<BTreeMap<(String, String), Arc<RouteStats>>>,
    started: std::sync::OnceLock<Instant>,
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics::default();
        m.started.get_or_init(Instant::now);
        m
    }

    fn stats(&self, method: &str, route: &str) -> Arc<RouteStats> {
        let key = (method.to_string(), route.to_string());
        if let Some(s) = self.routes.read().unwrap().get(&key) {
            return s.clone();
        }
        self.routes.write().unwrap().entry(key).or_default().clone()
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let s = self.stats(method, route);
        let class = ((status / 100) as usize).clamp(1, 5) - 1;
        s.by_class[class].fetch_add(1, Ordering::Relaxed);
        let ms = elapsed.as_secs_f64() * 1000.0;
        for (i, b) in BUCKETS_MS.iter().enumerate() {
            if ms <= *b {
                s.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum_micros.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Renders the Prometheus text exposition format.
    pub fn render(&self, extra: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        out.push_str("# HELP dancu_http_requests_total HTTP requests by route and status class.\n");
        out.push_str("# TYPE dancu_http_requests_total counter\n");
        let routes = self.routes.read().unwrap();
        for ((m, r), s) in routes.iter() {
            for (i, c) in s.by_class.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "dancu_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{}xx\"}} {n}",
                        i + 1
                    );
                }
            }
        }
        out.push_str("# HELP dancu_http_request_duration_seconds Request latency.\n");
        out.push_str("# TYPE dancu_http_request_duration_seconds histogram\n");
        for ((m, r), s) in routes.iter() {
            for (i, b) in BUCKETS_MS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "dancu_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{}\"}} {}",
                    b / 1000.0,
                    s.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(out, "dancu_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(
                out,
                "dancu_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "dancu_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {count}"
            );
        }
        let uptime = self.started.get().map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0);
        let _ = writeln!(out, "# TYPE dancu_uptime_seconds gauge\ndancu_uptime_seconds {uptime}");
        for (name, help, v) in extra {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out
    }
}

/// Middleware recording every request under its route template (never the raw path, which
/// could hold a personal ID).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(&method, &route, resp.status().as_u16(), start.elapsed());
    resp
}
