//! What `dancu demo` tells its user: what the planted rows in its import are, and how to
//! open the demo from another device (with the cookie setting that makes login work there).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;

use anyhow::Result;

use crate::import::ImportReport;

/// The import's numbers explained: the generator planted duplicate registrations (truth in
/// `demo-duplicates-truth.csv`) and, among them, rows that break rules on purpose.
pub fn planted(report: &ImportReport, csv: &Path) -> Result<String> {
    let truth = csv.with_file_name("demo-duplicates-truth.csv");
    let mut duplicates = 0u64;
    if let Ok(mut rdr) = csv::Reader::from_path(&truth) {
        for r in rdr.records() {
            let r = r?;
            duplicates += u64::from(r.get(0) != r.get(1));
        }
    }
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(&report.rejects_file)?;
    for r in rdr.records() {
        *by_rule.entry(r?.get(2).unwrap_or_default().to_string()).or_default() += 1;
    }
    let mut rules: Vec<(String, u64)> = by_rule.into_iter().collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.1));
    let rules: Vec<String> = rules.iter().take(5).map(|(r, n)| format!("{r} {n}")).collect();
    Ok(format!(
        "About these numbers: the demo file has {duplicates} planted duplicate registrations (2 %, \
         truth in {truth}), made with the errors real registrations have.\n\
         - {rejected} rows were planted as errors to show the rejects file ({rejects}); by rule: {rules}.\n\
         - {conflicts} rows reuse a personal ID already stored with other details: same-ID \
         conflicts, written to {conflicts_file} for an officer to decide.\n\
         - {present} rows repeat a stored record exactly and were counted as already present.\n\
         - The other duplicates were stored as separate records: the duplicate worklist (/dedup) \
         is there to find them.",
        truth = truth.display(),
        rejected = report.rejected,
        rejects = report.rejects_file.display(),
        rules = if rules.is_empty() { "none".into() } else { rules.join(", ") },
        conflicts = report.conflicts,
        conflicts_file = report.conflicts_file.display(),
        present = report.skipped_existing,
    ))
}

/// The addresses to open from another device: the listen address itself, or for an
/// unspecified one (0.0.0.0, ::) the address this machine uses on its LAN.
pub fn lan_addresses(listen: SocketAddr, port: u16) -> Vec<String> {
    let ip = listen.ip();
    if ip.is_loopback() {
        return Vec::new();
    }
    let ips: Vec<IpAddr> = if ip.is_unspecified() { local_lan_ip().into_iter().collect() } else { vec![ip] };
    ips.into_iter().map(|ip| format!("http://{}/", SocketAddr::new(ip, port))).collect()
}

/// The address of the interface that routes to private networks. A UDP "connect" sends
/// nothing; it only makes the system pick the interface.
fn local_lan_ip() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("10.255.255.255:9").ok()?;
    Some(s.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// Warnings for serving over plain HTTP beyond this machine.
pub fn network_notes(listen: SocketAddr, cookie_secure: bool) -> Vec<String> {
    if listen.ip().is_loopback() {
        return Vec::new();
    }
    let mut notes = vec![format!(
        "warning: dancu serves plain HTTP on {listen}, reachable from other devices: passwords and \
         session cookies cross the network unencrypted. Use it on a trusted network only, or put \
         dancu behind HTTPS (a reverse proxy)."
    )];
    if cookie_secure {
        notes.push(
            "warning: cookies are marked Secure (--cookie-secure true, the default). Browsers keep \
             Secure cookies over http:// only for localhost, so a login from another device \
             comes back to the login page (\"session expired\"). For a demo on a trusted LAN, \
             start with --cookie-secure false; in production use HTTPS."
                .into(),
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_listening_needs_no_warning_and_no_lan_address() {
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(network_notes(local, true).is_empty());
        assert!(lan_addresses(local, 8080).is_empty());
        let lan: SocketAddr = "192.168.1.20:8080".parse().unwrap();
        assert_eq!(lan_addresses(lan, 8080), ["http://192.168.1.20:8080/"]);
        assert_eq!(network_notes(lan, true).len(), 2);
        assert_eq!(network_notes(lan, false).len(), 1);
    }
}
