//! Prometheus text metrics: requests per route and status class, and a latency histogram.
//! Atomics behind a read-mostly map keep the hot path lock-free after a route's first hit.
//!
//! Every label set is bounded: the method is one of the standard HTTP methods or `OTHER`,
//! the route is the router's template (or `unmatched`), the status is a class (`2xx`). Gauges
//! that need the database (`dancu_citizens`) are refreshed by a timer task, never by a scrape.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
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
    routes: RwLock<BTreeMap<(&'static str, String), Arc<RouteStats>>>,
    started: std::sync::OnceLock<Instant>,
    /// Citizens stored, as of the last refresh (-1 before the first or after a failure).
    citizens: AtomicI64,
}

/// The method label: a standard HTTP method, or `OTHER` for anything a client made up.
pub fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics { citizens: AtomicI64::new(-1), ..Default::default() };
        m.started.get_or_init(Instant::now);
        m
    }

    /// Sets the `dancu_citizens` gauge (the refresh task calls it).
    pub fn set_citizens(&self, n: Option<u64>) {
        self.citizens.store(n.map_or(-1, |n| n as i64), Ordering::Relaxed);
    }

    /// Label sets held (for tests: bounded by routes × methods).
    pub fn series(&self) -> usize {
        self.routes.read().unwrap().len()
    }

    fn stats(&self, method: &'static str, route: &str) -> Arc<RouteStats> {
        if let Some(s) = self.routes.read().unwrap().get(&(method, route.to_string())) {
            return s.clone();
        }
        self.routes.write().unwrap().entry((method, route.to_string())).or_default().clone()
    }

    pub fn observe(&self, method: &'static str, route: &str, status: u16, elapsed: Duration) {
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
        let citizens = self.citizens.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP dancu_citizens Citizens stored (refreshed periodically; -1: not yet known).\n# TYPE dancu_citizens gauge\ndancu_citizens {citizens}"
        );
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
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(method, &route, resp.status().as_u16(), start.elapsed());
    resp
}

/// Keeps the database gauges fresh: counts once at start, then every `every`.
pub async fn refresh_gauges(state: AppState, every: Duration) {
    loop {
        let n = state.db.citizen_count().await;
        if let Err(e) = &n {
            tracing::warn!(error = %e, "metrics: counting citizens failed");
        }
        state.metrics.set_citizens(n.ok());
        tokio::time::sleep(every).await;
    }
}

/// `GET /metrics`: the Prometheus text. On the main listener it asks for the configured
/// bearer token (compared in constant time); on a separate metrics listener it is open.
pub async fn serve_text(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    use axum::response::IntoResponse;
    let Some(expected) = s.config.metrics_token.as_deref() else {
        return crate::error::ApiError::not_found().into_response();
    };
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::auth::constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
        return crate::error::ApiError::unauthorized().into_response();
    }
    text(&s)
}

/// The exposition body.
pub fn text(s: &AppState) -> Response {
    use axum::response::IntoResponse;
    let mut body = s.metrics.render(&[]);
    body.push_str(&s.oidc.refusals.render());
    body.push_str(&s.verify.render());
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        let m = Metrics::new();
        for i in 0..1000 {
            let method = axum::http::Method::from_bytes(format!("X{i}").as_bytes()).unwrap();
            m.observe(method_label(&method), "unmatched", 405, Duration::from_millis(1));
        }
        assert_eq!(m.series(), 1);
        let text = m.render(&[]);
        assert!(text.contains("method=\"OTHER\""));
        assert!(!text.contains("X1"));
        assert!(text.contains("dancu_citizens -1"));
    }
}
