//! `dancu partner entitle|list|suspend|resume` as an operator runs it, on both backends:
//! entitlements stored and listed, a bad list item refused naming its flag, suspension and
//! resumption, an unknown partner refused.

use std::path::Path;
use std::process::Command;

crate::common::on_both_backends!(partner_entitlements_from_the_command_line);

fn dancu(url: &str, dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dancu"))
        .arg("partner")
        .args(args)
        .args(["--database-url", url])
        .env("DANCU_LOG", "warn")
        .env("DANCU_AUDIT_KEY_FILE", dir.join("audit.key"))
        .env("DANCU_AUDIT_CHECKPOINT_FILE", dir.join("audit.checkpoints"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn partner_entitlements_from_the_command_line(url: &str, dir: &Path) {
    let (ok, _, err) =
        dancu(url, dir, &["entitle", "bv-a", "--name", "Bệnh viện A", "--operations", "verify,lookup"]);
    assert!(!ok && err.contains("--operations") && err.contains("partner.operation_unknown"), "{err}");
    let (ok, _, err) =
        dancu(url, dir, &["entitle", "bv-a", "--name", "Bệnh viện A", "--units", "province:99"]);
    assert!(!ok && err.contains("--units"), "{err}");
    let args = [
        "entitle",
        "bv-a",
        "--name",
        "Bệnh viện A",
        "--operations",
        "verify,card_lookup",
        "--fields",
        "full_name,health_insurance_number",
        "--units",
        "province:01,commune:00004",
        "--rate",
        "20",
        "--burst",
        "40",
    ];
    let (ok, _, err) = dancu(url, dir, &args);
    assert!(ok, "{err}");
    let (ok, out, err) = dancu(url, dir, &["list"]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "bv-a\tactive\tverify,card_lookup\tprovince:01,commune:00004\t20/40\tBệnh viện A");
    assert!(dancu(url, dir, &["suspend", "bv-a"]).0);
    assert!(dancu(url, dir, &["list"]).1.contains("bv-a\tsuspended\t"));
    assert!(dancu(url, dir, &["resume", "bv-a"]).0);
    assert!(dancu(url, dir, &["list"]).1.contains("bv-a\tactive\t"));
    let (ok, _, err) = dancu(url, dir, &["suspend", "nobody"]);
    assert!(!ok && err.contains("no such partner"), "{err}");
}
