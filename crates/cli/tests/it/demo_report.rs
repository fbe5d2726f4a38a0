//! Issue 16, "Done when": with the demo's data, `dancu report` writes a DOCX, a PDF and an
//! XLSX that LibreOffice opens (converted headless and read back), and the per-service total
//! equals a direct count over the database. Skipped without LibreOffice, except under
//! `CI=true`.

use std::path::Path;
use std::process::Command;

fn soffice() -> Option<&'static str> {
    if Command::new("soffice").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return Some("soffice");
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "LibreOffice (soffice) is required under CI");
    eprintln!("skipping: LibreOffice is not installed");
    None
}

/// Converts `file` with LibreOffice to `to` in `dir` and returns the bytes it wrote.
fn convert(bin: &str, dir: &Path, file: &Path, to: &str, ext: &str, infilter: Option<&str>) -> Vec<u8> {
    let mut cmd = Command::new(bin);
    cmd.arg(format!("-env:UserInstallation=file://{}", dir.join("profile").display())).arg("--headless");
    if let Some(f) = infilter {
        cmd.arg(format!("--infilter={f}"));
    }
    let out = cmd.args(["--convert-to", to, "--outdir"]).arg(dir).arg(file).output().unwrap();
    let target = dir.join(file.file_stem().unwrap()).with_extension(ext);
    assert!(target.exists(), "{} → {to}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    std::fs::read(target).unwrap()
}

#[test]
fn the_demo_report_opens_in_libreoffice_and_counts_what_is_stored() {
    let Some(bin) = soffice() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let dancu = |args: &[&str]| {
        let o =
            Command::new(env!("CARGO_BIN_EXE_dancu")).args(args).env("DANCU_LOG", "warn").output().unwrap();
        assert!(o.status.success(), "dancu {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    dancu(&["demo", "--data-dir", data.to_str().unwrap(), "--people", "600", "--no-serve"]);
    let url = format!("sqlite://{}", data.join("dancu.db").display());
    let month = (chrono::Utc::now() + chrono::Duration::hours(7)).format("%Y-%m").to_string();
    let db = rusqlite::Connection::open(data.join("dancu.db")).unwrap();
    let received: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM applications WHERE strftime('%Y-%m', submitted_at, '+7 hours') = ?1",
            [&month],
            |r| r.get(0),
        )
        .unwrap();
    assert!(received > 0, "the demo seeds applications this month");
    for ext in ["docx", "pdf", "xlsx"] {
        let out = dir.path().join(format!("bao-cao-{ext}.{ext}"));
        #[rustfmt::skip]
        dancu(&["report", "--database-url", &url, "--unit", "nation", "--period", &month, "--format", ext,
            "--out", out.to_str().unwrap()]);
        let text = match ext {
            "docx" => {
                String::from_utf8(convert(bin, dir.path(), &out, "txt:Text (encoded):UTF8", "txt", None))
                    .unwrap()
            }
            "pdf" => {
                // Writer imports a PDF as text frames; their text is in the document's XML.
                let odt = convert(bin, dir.path(), &out, "odt", "odt", Some("writer_pdf_import"));
                let mut zip = zip::ZipArchive::new(std::io::Cursor::new(odt)).unwrap();
                let mut xml = String::new();
                std::io::Read::read_to_string(&mut zip.by_name("content.xml").unwrap(), &mut xml).unwrap();
                xml
            }
            _ => String::from_utf8(convert(
                bin,
                dir.path(),
                &out,
                "csv:Text - txt - csv (StarCalc):44,34,76,1",
                "csv",
                None,
            ))
            .unwrap(),
        };
        match ext {
            "xlsx" => {
                let total =
                    text.lines().find(|l| l.contains("\"Tổng số\",")).unwrap_or_else(|| panic!("{text}"));
                let cells: Vec<&str> = total.split(',').map(|c| c.trim_matches('"')).collect();
                assert!(cells.contains(&received.to_string().as_str()), "{total} vs {received} received");
                assert!(!text.contains("DIV/0"), "{text}");
            }
            "docx" => assert!(text.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), "{text}"),
            _ => assert!(text.contains("Hạnh") && text.contains("phúc"), "{text}"),
        }
    }
}
