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

/// `dancu officer` with a subcommand and arguments; the password (if any) on standard input.
fn officer(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dancu"))
        .arg("officer")
        .args(args)
        .env("DANCU_LOG", "warn")
        .env_remove("DANCU_OFFICER_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The accounts as `officer list` prints them: (username, role, scope, state).
fn listed(url: &str) -> Vec<(String, String, String, String)> {
    let out = officer(&["list", "--database-url", url], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect()
}

#[test]
fn accounts_are_listed_changed_disabled_and_reset_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("dancu.db").display());
    let out = officer_add(&url, "lan", &["--role", "leader"], None, Some("mat-khau-rat-dai-1\n"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row =
        |u: &str, r: &str, s: &str, st: &str| (u.to_string(), r.to_string(), s.to_string(), st.to_string());
    assert_eq!(listed(&url), vec![row("lan", "leader", "nation", "active")]);

    let out = officer(
        &["change", "--database-url", &url, "lan", "--role", "auditor", "--scope", "commune:00004"],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = officer(&["disable", "--database-url", &url, "lan"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(listed(&url), vec![row("lan", "auditor", "commune:00004", "disabled")]);
    let out = officer(&["enable", "--database-url", &url, "lan"], "");
    assert!(out.status.success());
    assert_eq!(listed(&url)[0].3, "active");

    // Bad input names what failed and changes nothing.
    let out = officer(&["change", "--database-url", &url, "lan", "--role", "boss"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role"));
    let out = officer(&["disable", "--database-url", &url, "nobody"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
    let out = officer(&["reset-password", "--database-url", &url, "lan"], "ngan\n");
    assert!(!out.status.success());

    let c = rusqlite::Connection::open(dir.path().join("dancu.db")).unwrap();
    let hash = |c: &rusqlite::Connection| -> String {
        c.query_row("SELECT password_hash FROM officers WHERE username = 'lan'", [], |r| r.get(0)).unwrap()
    };
    let before = hash(&c);
    let out = officer(&["reset-password", "--database-url", &url, "lan"], "mat-khau-moi-rat-dai\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = hash(&c);
    assert_ne!(before, after);
    assert!(dancu_server::auth::verify_password(&after, "mat-khau-moi-rat-dai"));
}
