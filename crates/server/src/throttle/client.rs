//! The client address of a request, for the per-IP login limit.
//!
//! It is the socket's peer address (axum `ConnectInfo`), unless that peer is a configured
//! trusted proxy: then `X-Forwarded-For` is read from the right, skipping trusted proxies,
//! and the first other address is the client. With no proxy trusted (the default) the header
//! is ignored, so a client cannot pick its own address.
//!
//! [`layer`] puts the address in a task-local for the request, so the throttle finds it
//! without every login handler passing it along, and adds `Retry-After` to a `429` the
//! throttle answered.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Proxies whose `X-Forwarded-For` is believed: addresses or CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list, e.g. `10.0.0.5, 10.1.0.0/16, ::1`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, len) = item.split_once('/').unwrap_or((item, ""));
            let ip: IpAddr =
                addr.parse().map_err(|_| format!("`{item}` is not an IP address or CIDR range"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let v4_mapped = ip.is_ipv6() && ip.to_canonical().is_ipv4();
            let len = match len {
                "" => max,
                l => l
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or(format!("`{item}`: bad prefix length"))?,
            };
            // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
            let len = if v4_mapped { len.saturating_sub(96) } else { len };
            out.push((ip.to_canonical(), len));
        }
        Ok(TrustedProxies(out))
    }
}

fn prefix_matches(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|(n, l)| prefix_matches(*n, *l, ip))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            // An unreadable hop was written by someone untrusted: stop at the last trusted one.
            let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The per-IP limit's key: an IPv4 address, or an IPv6 /64 (one subscriber's usual block).
pub fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => {
            let net = std::net::Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
            format!("ip:{net}/64")
        }
    }
}

struct RequestClient {
    ip: Option<IpAddr>,
    retry_after: Mutex<Option<u64>>,
}

tokio::task_local! {
    static CLIENT: RequestClient;
}

/// The client address of the current request, if it came through [`layer`] over a socket.
pub fn current() -> Option<IpAddr> {
    CLIENT.try_with(|c| c.ip).ok().flatten()
}

/// Asks [`layer`] to answer `Retry-After` if the response is a `429`.
pub(crate) fn note_retry_after(d: Duration) {
    let _ = CLIENT.try_with(|c| *c.retry_after.lock().unwrap() = Some(d.as_secs() + 1));
}

/// Middleware: the request's client address for the throttle, `Retry-After` on its 429s.
pub async fn layer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let ip = peer.map(|p| s.config.trusted_proxies.client_ip(p, req.headers()));
    let ctx = RequestClient { ip, retry_after: Mutex::new(None) };
    CLIENT
        .scope(ctx, async move {
            let mut resp = next.run(req).await;
            let retry = CLIENT.with(|c| *c.retry_after.lock().unwrap());
            if let Some(secs) = retry.filter(|_| resp.status() == StatusCode::TOO_MANY_REQUESTS) {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let peer: IpAddr = "10.0.0.5".parse().unwrap();
        assert_eq!(none.client_ip(peer, &xff("1.2.3.4")), peer, "no proxy trusted: header ignored");
        let t: TrustedProxies = "10.0.0.0/8, ::1".parse().unwrap();
        assert_eq!(t.client_ip(peer, &xff("1.2.3.4")).to_string(), "1.2.3.4");
        // A client's own forged entries sit left of the real one: the rightmost untrusted wins.
        assert_eq!(t.client_ip(peer, &xff("6.6.6.6, 1.2.3.4, 10.0.0.7")).to_string(), "1.2.3.4");
        assert_eq!(t.client_ip(peer, &xff("junk, 10.0.0.9")).to_string(), "10.0.0.9");
        let outsider: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(t.client_ip(outsider, &xff("1.2.3.4")), outsider);
    }

    #[test]
    fn proxy_lists_parse_or_name_the_bad_entry() {
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().unwrap_err().contains("10.0.0.0/33"));
        assert!("proxy.local".parse::<TrustedProxies>().unwrap_err().contains("proxy.local"));
        let t: TrustedProxies = "::ffff:10.0.0.1".parse().unwrap();
        assert!(t.trusts("10.0.0.1".parse().unwrap()), "IPv4-mapped addresses are canonical");
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        assert_eq!(ip_key("2001:db8:1:2:3:4:5:6".parse().unwrap()), "ip:2001:db8:1:2::/64");
        assert_eq!(ip_key("::ffff:1.2.3.4".parse().unwrap()), "ip:1.2.3.4");
    }
}
