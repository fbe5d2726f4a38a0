//! The report as DOCX, written here (no external program): an OOXML package zipped with the
//! `zip` crate. Page A4 with the margins of Decree 30/2020 (top 20, bottom 20, left 30,
//! right 15 mm), 13 pt text in Liberation Serif: metric-compatible with the Times New Roman
//! the decree names, covering Vietnamese, and embedded (obfuscated as the format requires),
//! so the document shows the same on any machine.

use std::io::Write;

use zip::write::SimpleFileOptions;

use crate::content::{Block, Table};

static REGULAR: &[u8] = include_bytes!("../../../data/fonts/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../../data/fonts/LiberationSerif-Bold.ttf");
/// The keys the embedded fonts are obfuscated with (ECMA-376 Part 1, 17.8.1).
const KEY_REGULAR: &str = "{6C1A9E2B-3D4F-4A5B-8C7D-1E2F3A4B5C6D}";
const KEY_BOLD: &str = "{7D2B8F3C-4E5A-4B6C-9D8E-2F3A4B5C6D7E}";

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// XORs the first 32 bytes of the font with the key's bytes in reverse order.
fn obfuscate(font: &[u8], key: &str) -> Vec<u8> {
    let hex: String = key.chars().filter(char::is_ascii_hexdigit).collect();
    let bytes: Vec<u8> =
        (0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0)).collect();
    let mut out = font.to_vec();
    for (i, b) in out.iter_mut().take(32).enumerate() {
        *b ^= bytes[15 - (i % 16)];
    }
    out
}

/// A run of text; `\n` becomes a line break.
fn run(text: &str, bold: bool, size: u32) -> String {
    let mut props = String::from("<w:rPr>");
    if bold {
        props.push_str("<w:b/>");
    }
    props.push_str(&format!("<w:sz w:val=\"{}\"/></w:rPr>", size * 2));
    let parts: Vec<String> =
        text.split('\n').map(|l| format!("<w:t xml:space=\"preserve\">{}</w:t>", esc(l))).collect();
    format!("<w:r>{props}{}</w:r>", parts.join("<w:br/>"))
}

fn para(text: &str, bold: bool, size: u32, jc: &str, indent: bool) -> String {
    let ind = if indent { "<w:ind w:firstLine=\"567\"/>" } else { "" };
    format!(
        "<w:p><w:pPr><w:spacing w:before=\"60\" w:after=\"60\"/>{ind}<w:jc w:val=\"{jc}\"/></w:pPr>{}</w:p>",
        run(text, bold, size)
    )
}

/// Total width of the text area in twentieths of a point: A4 210 mm less 45 mm.
const TEXT_TWIPS: f32 = 165.0 / 25.4 * 1440.0;

fn cell(text: &str, width: u32, bold: bool, size: u32, jc: &str, border: bool) -> String {
    let borders = if border {
        ""
    } else {
        "<w:tcBorders><w:top w:val=\"nil\"/><w:left w:val=\"nil\"/><w:bottom w:val=\"nil\"/><w:right w:val=\"nil\"/></w:tcBorders>"
    };
    format!(
        "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>{borders}</w:tcPr><w:p><w:pPr><w:jc w:val=\"{jc}\"/></w:pPr>{}</w:p></w:tc>",
        run(text, bold, size)
    )
}

fn lines_cell(lines: &[(String, bool)], width: u32, size: u32) -> String {
    let ps: String = lines
        .iter()
        .map(|(t, b)| format!("<w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr>{}</w:p>", run(t, *b, size)))
        .collect();
    format!(
        "<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/><w:tcBorders><w:top w:val=\"nil\"/><w:left w:val=\"nil\"/><w:bottom w:val=\"nil\"/><w:right w:val=\"nil\"/></w:tcBorders></w:tcPr>{ps}</w:tc>"
    )
}

fn tbl(widths: &[u32], rows: &str, border: bool) -> String {
    let grid: String = widths.iter().map(|w| format!("<w:gridCol w:w=\"{w}\"/>")).collect();
    let b = if border { "single" } else { "nil" };
    format!(
        "<w:tbl><w:tblPr><w:tblW w:w=\"{}\" w:type=\"dxa\"/><w:tblBorders><w:top w:val=\"{b}\" w:sz=\"4\"/><w:left w:val=\"{b}\" w:sz=\"4\"/><w:bottom w:val=\"{b}\" w:sz=\"4\"/><w:right w:val=\"{b}\" w:sz=\"4\"/><w:insideH w:val=\"{b}\" w:sz=\"4\"/><w:insideV w:val=\"{b}\" w:sz=\"4\"/></w:tblBorders><w:tblLayout w:type=\"fixed\"/></w:tblPr><w:tblGrid>{grid}</w:tblGrid>{rows}</w:tbl>",
        widths.iter().sum::<u32>()
    )
}

fn twips(fractions: &[f32]) -> Vec<u32> {
    let sum: f32 = fractions.iter().sum();
    fractions.iter().map(|f| (f / sum * TEXT_TWIPS) as u32).collect()
}

fn table(t: &Table) -> String {
    let mut out: String = t
        .title
        .iter()
        .enumerate()
        .map(|(i, l)| para(l, i < 2, if i < 2 { 12 } else { 11 }, "center", false))
        .collect();
    let w = twips(&t.widths);
    let row = |cells: &[String], bold: bool, head: bool| {
        let cs: String = cells
            .iter()
            .enumerate()
            .map(|(i, v)| {
                cell(
                    v,
                    w[i],
                    bold,
                    9,
                    if head {
                        "center"
                    } else if i == 1 {
                        "left"
                    } else {
                        "right"
                    },
                    true,
                )
            })
            .collect();
        let hdr = if head { "<w:trPr><w:tblHeader/></w:trPr>" } else { "" };
        format!("<w:tr>{hdr}{cs}</w:tr>")
    };
    let mut rows = row(&t.header, true, true);
    for r in &t.rows {
        rows.push_str(&row(r, false, false));
    }
    if let Some(total) = &t.total {
        rows.push_str(&row(total, true, false));
    }
    out.push_str(&tbl(&w, &rows, true));
    out
}

fn body(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Header { left, right } => {
                let w = twips(&[0.42, 0.58]);
                let row =
                    format!("<w:tr>{}{}</w:tr>", lines_cell(left, w[0], 13), lines_cell(right, w[1], 13));
                out.push_str(&tbl(&w, &row, false));
            }
            Block::Title(t) => out.push_str(&para(t, true, 14, "center", false)),
            Block::Subtitle(t) => out.push_str(&para(t, true, 13, "center", false)),
            Block::Heading(t) => out.push_str(&para(t, true, 13, "both", true)),
            Block::Para(t) => out.push_str(&para(t, false, 13, "both", true)),
            Block::Table(t) => out.push_str(&table(t)),
            Block::Signature { left, right } => {
                let w = twips(&[0.5, 0.5]);
                let l: Vec<(String, bool)> =
                    left.iter().enumerate().map(|(i, s)| (s.clone(), i == 0)).collect();
                let row = format!("<w:tr>{}{}</w:tr>", lines_cell(&l, w[0], 11), lines_cell(right, w[1], 13));
                out.push_str(&tbl(&w, &row, false));
                let _ = cell;
            }
            Block::PageBreak => out.push_str("<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>"),
        }
    }
    out
}

const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"";

/// Renders the blocks as a DOCX package.
pub fn render(title: &str, blocks: &[Block]) -> anyhow::Result<Vec<u8>> {
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document {NS}><w:body>{}<w:sectPr><w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1134\" w:right=\"850\" w:bottom=\"1134\" w:left=\"1701\" w:header=\"567\" w:footer=\"567\" w:gutter=\"0\"/></w:sectPr></w:body></w:document>",
        body(blocks)
    );
    let styles = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:styles {NS}><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii=\"Liberation Serif\" w:hAnsi=\"Liberation Serif\" w:cs=\"Liberation Serif\" w:eastAsia=\"Liberation Serif\"/><w:sz w:val=\"26\"/><w:lang w:val=\"vi-VN\"/></w:rPr></w:rPrDefault></w:docDefaults><w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Normal\"><w:name w:val=\"Normal\"/></w:style></w:styles>"
    );
    let fonts = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:fonts {NS}><w:font w:name=\"Liberation Serif\"><w:altName w:val=\"Times New Roman\"/><w:charset w:val=\"00\"/><w:family w:val=\"roman\"/><w:pitch w:val=\"variable\"/><w:embedRegular r:id=\"rIdFont1\" w:fontKey=\"{KEY_REGULAR}\"/><w:embedBold r:id=\"rIdFont2\" w:fontKey=\"{KEY_BOLD}\"/></w:font></w:fonts>"
    );
    let settings = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:settings {NS}><w:embedTrueTypeFonts/><w:defaultTabStop w:val=\"720\"/><w:compat/></w:settings>"
    );
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let core = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title><dc:creator>dancu</dc:creator><dcterms:created xsi:type=\"dcterms:W3CDTF\">{now}</dcterms:created></cp:coreProperties>",
        esc(title)
    );
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "[Content_Types].xml",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"odttf\" ContentType=\"application/vnd.openxmlformats-officedocument.obfuscatedFont\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/><Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/><Override PartName=\"/word/fontTable.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml\"/><Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/><Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/></Types>".to_vec(),
        ),
        (
            "_rels/.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/><Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/></Relationships>".to_vec(),
        ),
        (
            "word/_rels/document.xml.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/><Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable\" Target=\"fontTable.xml\"/><Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings\" Target=\"settings.xml\"/></Relationships>".to_vec(),
        ),
        (
            "word/_rels/fontTable.xml.rels",
            b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rIdFont1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/font\" Target=\"fonts/font1.odttf\"/><Relationship Id=\"rIdFont2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/font\" Target=\"fonts/font2.odttf\"/></Relationships>".to_vec(),
        ),
        ("word/document.xml", document.into_bytes()),
        ("word/styles.xml", styles.into_bytes()),
        ("word/fontTable.xml", fonts.into_bytes()),
        ("word/settings.xml", settings.into_bytes()),
        ("docProps/core.xml", core.into_bytes()),
        ("word/fonts/font1.odttf", obfuscate(REGULAR, KEY_REGULAR)),
        ("word/fonts/font2.odttf", obfuscate(BOLD, KEY_BOLD)),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name, opts)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    #[test]
    fn obfuscation_is_its_own_inverse_and_reverses_the_key() {
        let font = vec![0u8; 40];
        let o = super::obfuscate(&font, "{00112233-4455-6677-8899-AABBCCDDEEFF}");
        assert_eq!(o[0], 0xFF);
        assert_eq!(o[15], 0x00);
        assert_eq!(o[16], 0xFF);
        assert_eq!(&o[32..], &[0; 8]);
        assert_eq!(super::obfuscate(&o, "{00112233-4455-6677-8899-AABBCCDDEEFF}"), font);
    }
}
