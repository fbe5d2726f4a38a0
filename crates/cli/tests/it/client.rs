//! `dancu client` and `dancu oidc rotate-key` as an operator runs them: a partner and a
//! portal registered (the secret printed once, a refused registration naming its rules),
//! listed, suspended, re-keyed; a new signing key in the key directory.

use std::process::Command;

fn dancu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dancu")).args(args).env("DANCU_LOG", "warn").output().unwrap()
}

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn value(stdout: &str, key: &str) -> String {
    stdout.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap().to_string()
}

#[test]
fn clients_are_added_listed_disabled_and_rekeyed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dancu.db").display());
    let db = ["--database-url", url.as_str()];
    let out = ok(&dancu(
        &[
            &["client", "add", "--id", "bv-test", "--name", "Bệnh viện thử", "--grant", "client_credentials"]
                [..],
            &["--scope", "partner:verify,partner:card"],
            &db,
        ]
        .concat(),
    ));
    assert_eq!(value(&out, "client_id"), "bv-test");
    let secret = value(&out, "client_secret");
    assert_eq!(secret.len(), 43);
    // Refused: an http redirect off localhost, no openid scope; nothing stored.
    let bad = dancu(
        &[
            &["client", "add", "--name", "Cổng", "--grant", "authorization_code"][..],
            &["--redirect-uri", "http://portal.example.vn/cb", "--scope", "profile"],
            &db,
        ]
        .concat(),
    );
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("redirect_uri.https") && err.contains("scope.openid"), "{err}");
    // The same id twice is refused.
    let again = dancu(
        &[&["client", "add", "--id", "bv-test", "--name", "x", "--grant", "client_credentials"][..], &db]
            .concat(),
    );
    assert!(!again.status.success());
    let portal = ok(&dancu(
        &[
            &[
                "client",
                "add",
                "--id",
                "cong-dvc",
                "--name",
                "Cổng dịch vụ công",
                "--grant",
                "authorization_code,refresh_token",
            ][..],
            &["--scope", "openid,profile", "--redirect-uri", "https://dvc.example.vn/cb"],
            &db,
        ]
        .concat(),
    ));
    assert_eq!(value(&portal, "client_id"), "cong-dvc");
    let list = ok(&dancu(&[&["client", "list"][..], &db].concat()));
    let rows: Vec<Vec<&str>> = list.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][..4], ["bv-test", "active", "client_secret_basic", "client_credentials"]);
    assert_eq!(rows[1][0], "cong-dvc");
    assert!(!list.contains(&secret), "secrets are never listed");
    ok(&dancu(&[&["client", "disable", "bv-test"][..], &db].concat()));
    let list = ok(&dancu(&[&["client", "list"][..], &db].concat()));
    assert!(list.lines().next().unwrap().contains("\tdisabled\t"));
    let rotated = ok(&dancu(&[&["client", "rotate-secret", "bv-test"][..], &db].concat()));
    assert_ne!(value(&rotated, "client_secret"), secret);
    assert!(!dancu(&[&["client", "disable", "khong-co"][..], &db].concat()).status.success());
    // Signing keys: a new current key each time, files private.
    let keys = dir.path().join("keys");
    let k = keys.to_str().unwrap();
    let first = ok(&dancu(&[&["oidc", "rotate-key", "--key-dir", k][..], &db].concat()));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = ok(&dancu(&[&["oidc", "rotate-key", "--key-dir", k][..], &db].concat()));
    assert_ne!(first, second);
    let mut files: Vec<String> =
        std::fs::read_dir(&keys).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, [format!("{}.pem", first.trim()), format!("{}.pem", second.trim())]);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(keys.join(&files[0])).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}
