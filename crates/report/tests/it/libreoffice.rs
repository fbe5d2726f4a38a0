//! The files open in LibreOffice: each is converted headless (DOCX → text, PDF → text through
//! Writer's PDF import, XLSX → CSV) and the text read back must hold the report's heading
//! and figures. Skipped when LibreOffice is not installed, except under `CI=true`.

use std::path::Path;
use std::process::Command;

use dancu_report::Format;

fn soffice() -> Option<&'static str> {
    for bin in ["soffice", "libreoffice"] {
        if Command::new(bin).arg("--version").output().is_ok_and(|o| o.status.success()) {
            return Some(bin);
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("LibreOffice (soffice) is required under CI");
    }
    eprintln!("skipping: LibreOffice is not installed");
    None
}

/// Converts `file` to `to` (a LibreOffice filter spec) in `dir`; returns the output's text.
fn convert(bin: &str, dir: &Path, file: &Path, to: &str, ext: &str, infilter: Option<&str>) -> String {
    let profile = dir.join("profile");
    let mut cmd = Command::new(bin);
    cmd.arg(format!("-env:UserInstallation=file://{}", profile.display())).arg("--headless");
    if let Some(f) = infilter {
        cmd.arg(format!("--infilter={f}"));
    }
    let out = cmd.args(["--convert-to", to, "--outdir"]).arg(dir).arg(file).output().expect("run soffice");
    let target = dir.join(file.file_stem().unwrap()).with_extension(ext);
    assert!(
        target.exists(),
        "{} → {to} failed: {}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&std::fs::read(&target).unwrap()).into_owned()
}

/// The text of an ODF document's content.xml, tags removed.
fn odt_text(path: &Path) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("content.xml").unwrap(), &mut xml).unwrap();
    let mut out = String::new();
    let mut in_tag = false;
    for c in xml.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
}

async fn files_open_in_libreoffice(db: &crate::seed::Db) {
    let Some(bin) = soffice() else { return };
    crate::seed::seed(db, 200).await;
    let r = crate::report(db, "01", "2025-08").await;
    let dir = tempfile::tempdir().unwrap();
    let received = r.service_total().received;
    let total_text = dancu_report::indicators::fmt_count(received);
    for f in [Format::Docx, Format::Pdf, Format::Xlsx] {
        let path = dir.path().join(format!("report_{}.{}", f.extension(), f.extension()));
        std::fs::write(&path, dancu_report::render(&r, f).unwrap()).unwrap();
        if let Ok(keep) = std::env::var("DANCU_REPORT_KEEP") {
            std::fs::copy(&path, Path::new(&keep).join(path.file_name().unwrap())).unwrap();
        }
        let text = match f {
            Format::Docx => convert(bin, dir.path(), &path, "txt:Text (encoded):UTF8", "txt", None),
            // Writer imports a PDF as positioned text frames, which a text export leaves out:
            // the text is read from the converted document's content.xml instead.
            Format::Pdf => {
                convert(bin, dir.path(), &path, "odt", "odt", Some("writer_pdf_import"));
                odt_text(&dir.path().join("report_pdf.odt"))
            }
            _ => convert(bin, dir.path(), &path, "csv:Text - txt - csv (StarCalc):44,34,76,1", "csv", None),
        };
        match f {
            Format::Xlsx => {
                // The first sheet: the per-service table; its total row carries the SUMs' results.
                assert!(text.contains("Tổng số"), "{text}");
                assert!(text.contains("Tên thủ tục hành chính"), "{text}");
                let total = text.lines().find(|l| l.contains("\"Tổng số\",")).unwrap();
                assert!(total.contains(&received.to_string()), "{total} vs {received}");
                assert!(!text.contains("DIV/0"), "{text}");
            }
            Format::Pdf => {
                let words: std::collections::HashSet<&str> = text.split_whitespace().collect();
                for w in [
                    "CỘNG",
                    "HÒA",
                    "XÃ",
                    "HỘI",
                    "CHỦ",
                    "NGHĨA",
                    "VIỆT",
                    "NAM",
                    "Hạnh",
                    "phúc",
                    "ĐÁNH",
                    "GIÁ",
                    "Phụ",
                    "lục",
                    "Tổng",
                    "số",
                    total_text.as_str(),
                ] {
                    assert!(words.contains(w), "PDF: {w} missing from {text}");
                }
            }
            _ => {
                let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(flat.contains("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), "{f:?}: {flat}");
                assert!(flat.contains("Độc lập - Tự do - Hạnh phúc"), "{f:?}");
                assert!(flat.contains("NHẬN XÉT, ĐÁNH GIÁ"), "{f:?}");
                assert!(
                    flat.contains(&format!("tổng số hồ sơ tiếp nhận là {total_text} hồ sơ")),
                    "{f:?}: {flat}"
                );
                assert!(flat.contains("Phụ lục I"), "{f:?}");
            }
        }
    }
}

#[tokio::test]
async fn sqlite_files_open_in_libreoffice() {
    let db = crate::seed::sqlite().await;
    files_open_in_libreoffice(&db).await;
    db.finish().await;
}
