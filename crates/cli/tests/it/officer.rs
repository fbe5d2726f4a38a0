//! `dancu officer add` as an operator runs it: the password never on the command line
//! (standard input or the environment), and the database, audit and secret files readable by
//! their owner alone.

use std::io::Write;
use std::process::{Command, Stdio};

fn officer_add(
    url: &str,
    username: &str,
    extra: &[&str],
    env_pw: Option<&str>,
    stdin: Option<&str>,
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dancu"));
    cmd.args([
        "officer",
        "add",
        "--database-url",
        url,
        "--username",
        username,
        "--display-name",
        "Cán bộ",
        "--scope",
        "nation",
    ])
    .args(extra)
    .env("DANCU_LOG", "warn")
    .env_remove("DANCU_OFFICER_PASSWORD")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(p) = env_pw {
        cmd.env("DANCU_OFFICER_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_password_comes_from_stdin_or_the_environment_never_a_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/dancu.db");
    let url = format!("sqlite://{}", db.display());

    // A --password flag no longer exists.
    let out = officer_add(&url, "flag", &["--password", "mat-khau-rat-dai-1"], None, None);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--password"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Standard input.
    let out = officer_add(&url, "from_stdin", &[], None, Some("mat-khau-rat-dai-1\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The environment.
    let out = officer_add(&url, "from_env", &[], Some("mat-khau-rat-dai-2"), None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Nothing: refused.
    let out = officer_add(&url, "nothing", &[], None, Some(""));
    assert!(!out.status.success());
    // A short password is refused by the officer rules.
    let out = officer_add(&url, "short", &[], None, Some("ngan\n"));
    assert!(!out.status.success());

    let c = rusqlite::Connection::open(&db).unwrap();
    let users: Vec<String> = c
        .prepare("SELECT username FROM officers ORDER BY username")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(users, ["from_env", "from_stdin"]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["dancu.db", "dancu.db-audit", "dancu.db-wal"] {
            let p = dir.path().join("data").join(f);
            if f.ends_with("-wal") && !p.exists() {
                continue;
            }
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f} is {mode:o}");
        }
    }
}
