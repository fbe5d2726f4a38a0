//! The PDF read back: its structure (header, every object where the cross-reference table
//! says, trailer), its fonts (the embedded subsets parse and hold the glyphs drawn), and its
//! text (every string shown, decoded through its font's `ToUnicode` map, gives back the
//! Vietnamese that was written).

use std::collections::HashMap;

use dancu_render::{Cell, Document, QrModules, Style};

/// An object's body, by number.
fn objects(pdf: &[u8]) -> HashMap<u32, Vec<u8>> {
    let text = pdf;
    assert!(text.starts_with(b"%PDF-1."), "header");
    let tail = String::from_utf8_lossy(&text[text.len() - 64..]).to_string();
    assert!(tail.trim_end().ends_with("%%EOF"), "end marker");
    let start: usize = tail
        .split("startxref")
        .nth(1)
        .expect("startxref")
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(text[start..].starts_with(b"xref"), "startxref points at the table");
    let table = String::from_utf8_lossy(&text[start..]).to_string();
    let mut lines = table.lines().skip(1);
    let header: Vec<usize> = lines.next().unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect();
    let (first, count) = (header[0], header[1]);
    assert_eq!(first, 0);
    let mut out = HashMap::new();
    for number in 0..count {
        let entry = lines.next().unwrap();
        let parts: Vec<&str> = entry.split_whitespace().collect();
        if parts[2] == "f" {
            continue;
        }
        let offset: usize = parts[0].parse().unwrap();
        let head = format!("{number} 0 obj");
        assert!(text[offset..].starts_with(head.as_bytes()), "object {number} at {offset}");
        let body_start = offset + head.len();
        let end = find(&text[body_start..], b"endobj").expect("endobj") + body_start;
        out.insert(number as u32, text[body_start..end].to_vec());
    }
    let trailer = String::from_utf8_lossy(&text[start..]).to_string();
    assert!(trailer.contains(&format!("/Size {count}")), "trailer size");
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dict_ref(body: &[u8], key: &str) -> Option<u32> {
    let s = String::from_utf8_lossy(body);
    let at = s.find(&format!("/{key} "))?;
    s[at + key.len() + 2..].split_whitespace().next()?.parse().ok()
}

fn stream(body: &[u8]) -> &[u8] {
    let start = find(body, b"stream\n").expect("stream") + 7;
    let end = find(body, b"\nendstream").expect("endstream");
    &body[start..end]
}

/// Glyph ID → text, from a `ToUnicode` CMap.
fn cmap(data: &[u8]) -> HashMap<u16, String> {
    let s = String::from_utf8_lossy(data);
    let mut map = HashMap::new();
    for block in s.split("beginbfchar").skip(1) {
        let block = block.split("endbfchar").next().unwrap();
        for line in block.lines().filter(|l| !l.trim().is_empty()) {
            let hexes: Vec<&str> = line.split(['<', '>']).filter(|p| !p.trim().is_empty()).collect();
            let gid = u16::from_str_radix(hexes[0], 16).unwrap();
            let units: Vec<u16> = (0..hexes[1].len() / 4)
                .map(|i| u16::from_str_radix(&hexes[1][i * 4..i * 4 + 4], 16).unwrap())
                .collect();
            map.insert(gid, String::from_utf16(&units).unwrap());
        }
    }
    map
}

/// The strings shown in a content stream, each with the font resource it was shown in.
fn shown(content: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut font = String::new();
    let mut i = 0;
    let mut last_name = String::new();
    while i < content.len() {
        match content[i] {
            b'/' => {
                let end = content[i + 1..]
                    .iter()
                    .position(|b| b.is_ascii_whitespace())
                    .map(|p| p + i + 1)
                    .unwrap_or(content.len());
                last_name = String::from_utf8_lossy(&content[i + 1..end]).to_string();
                i = end;
            }
            b'(' => {
                let mut bytes = Vec::new();
                let mut depth = 1;
                i += 1;
                while depth > 0 {
                    let b = content[i];
                    match b {
                        b'\\' => {
                            i += 1;
                            let e = content[i];
                            match e {
                                b'n' => bytes.push(b'\n'),
                                b'r' => bytes.push(b'\r'),
                                b't' => bytes.push(b'\t'),
                                b'b' => bytes.push(8),
                                b'f' => bytes.push(12),
                                b'0'..=b'7' => {
                                    let mut v = 0u32;
                                    let mut n = 0;
                                    while n < 3 && (b'0'..=b'7').contains(&content[i]) {
                                        v = v * 8 + u32::from(content[i] - b'0');
                                        i += 1;
                                        n += 1;
                                    }
                                    i -= 1;
                                    bytes.push(v as u8);
                                }
                                other => bytes.push(other),
                            }
                        }
                        b'(' => {
                            depth += 1;
                            bytes.push(b);
                        }
                        b')' => {
                            depth -= 1;
                            if depth > 0 {
                                bytes.push(b);
                            }
                        }
                        _ => bytes.push(b),
                    }
                    i += 1;
                }
                out.push((font.clone(), bytes));
            }
            b'<' => {
                let end = content[i..].iter().position(|b| *b == b'>').unwrap() + i;
                let hex = String::from_utf8_lossy(&content[i + 1..end]).to_string();
                let bytes = (0..hex.len() / 2)
                    .map(|k| u8::from_str_radix(&hex[k * 2..k * 2 + 2], 16).unwrap())
                    .collect();
                out.push((font.clone(), bytes));
                i = end + 1;
            }
            b'T' if content.get(i + 1) == Some(&b'f') => {
                font = last_name.clone();
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

/// Every string each page shows, decoded, page by page.
fn page_texts(pdf: &[u8]) -> Vec<Vec<String>> {
    let objs = objects(pdf);
    let catalog = objs.values().find(|b| find(b, b"/Type /Catalog").is_some()).unwrap();
    let tree = &objs[&dict_ref(catalog, "Pages").unwrap()];
    let kids = String::from_utf8_lossy(tree).to_string();
    let kids = kids.split("/Kids [").nth(1).unwrap().split(']').next().unwrap().to_string();
    let pages: Vec<u32> =
        kids.split(" R").filter_map(|p| p.split_whitespace().next().and_then(|n| n.parse().ok())).collect();
    let mut texts = Vec::new();
    for page in pages {
        let body = &objs[&page];
        let content = stream(&objs[&dict_ref(body, "Contents").unwrap()]).to_vec();
        let mut fonts: HashMap<String, HashMap<u16, String>> = HashMap::new();
        for name in ["F1", "F2"] {
            let type0 = &objs[&dict_ref(body, name).unwrap()];
            assert!(find(type0, b"/Encoding /Identity-H").is_some());
            let map = cmap(stream(&objs[&dict_ref(type0, "ToUnicode").unwrap()]));
            // The embedded subset parses and has an outline for each glyph it maps.
            let cid_text = String::from_utf8_lossy(type0).to_string();
            let cid: u32 = cid_text
                .split("/DescendantFonts [")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let descriptor = &objs[&dict_ref(&objs[&cid], "FontDescriptor").unwrap()];
            let file = stream(&objs[&dict_ref(descriptor, "FontFile2").unwrap()]);
            let face = ttf_parser::Face::parse(file, 0).expect("embedded subset parses");
            for (gid, text) in &map {
                if text.trim().is_empty() {
                    continue;
                }
                assert!(
                    face.glyph_bounding_box(ttf_parser::GlyphId(*gid)).is_some(),
                    "glyph {gid} for {text:?} has an outline in {name}"
                );
            }
            fonts.insert(name.to_string(), map);
        }
        let mut page_text = Vec::new();
        for (font, bytes) in shown(&content) {
            let map = &fonts[&font];
            let text: String =
                bytes.chunks(2).map(|p| map[&u16::from_be_bytes([p[0], p[1]])].clone()).collect();
            page_text.push(text);
        }
        texts.push(page_text);
    }
    texts
}

fn qr_modules(n: usize) -> QrModules {
    QrModules { width: n, dark: (0..n * n).map(|i| (i * 7 + i / n).is_multiple_of(3)).collect() }
}

#[test]
fn vietnamese_text_reads_back_through_the_embedded_fonts() {
    let mut doc = Document::new("GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ");
    doc.row(
        &[0.4, 0.6],
        &[
            Cell::Text(vec![
                ("CÔNG AN XÃ BA ĐÌNH".into(), Style::new(13.0).bold().centered().rule_below()),
                ("Số: 12345".into(), Style::new(13.0).centered()),
            ]),
            Cell::Text(vec![
                ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM".into(), Style::new(12.0).bold().centered()),
                ("Độc lập - Tự do - Hạnh phúc".into(), Style::new(13.0).bold().centered().rule_below()),
            ]),
        ],
    );
    doc.paragraph("Hà Nội, ngày 04 tháng 12 năm 2026", Style::new(13.0).right());
    doc.paragraph("GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ", Style::new(14.0).bold().centered());
    doc.paragraph(
        "Họ, chữ đệm và tên: Nguyễn Thị Ánh Tuyết; nơi thường trú: số 7 ngõ Hàng Bột, phường Ô Chợ Dừa, thành phố Hà Nội. Giấy này có giá trị sử dụng trong thời hạn một năm kể từ ngày cấp.",
        Style::new(13.0).justified().indent(28.0),
    );
    doc.table(
        &[0.3, 0.7],
        &[
            vec![
                Cell::text("Quan hệ với chủ hộ", Style::new(12.0).bold()),
                Cell::text("Vợ", Style::new(12.0)),
            ],
            vec![Cell::text("Số hộ", Style::new(12.0).bold()), Cell::text("01234567", Style::new(12.0))],
        ],
    );
    doc.row(
        &[0.4, 0.6],
        &[
            Cell::Qr { code: qr_modules(25), size: 90.0 },
            Cell::text("TRƯỞNG CÔNG AN XÃ", Style::new(13.0).bold().centered()),
        ],
    );
    let pdf = doc.finish().unwrap();
    let pages = page_texts(&pdf);
    assert_eq!(pages.len(), 1);
    let all = pages[0].join("\n");
    for expected in [
        "CÔNG AN XÃ BA ĐÌNH",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 04 tháng 12 năm 2026",
        "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ",
        "Quan hệ với chủ hộ",
        "TRƯỞNG CÔNG AN XÃ",
    ] {
        assert!(all.contains(expected), "{expected:?} not in {all}");
    }
    // The justified paragraph is placed word by word; every word is there, in order.
    let words: Vec<&str> = pages[0].iter().map(String::as_str).collect();
    let joined = words.join(" ");
    assert!(joined.contains("Nguyễn Thị Ánh Tuyết;"), "{joined}");
    assert!(joined.contains("kể từ ngày cấp."), "{joined}");
    // The subset is small: only the glyphs used, not the whole font (≈ 390 KB each).
    assert!(pdf.len() < 150_000, "{} bytes", pdf.len());
    // The title in the metadata is UTF-16 (a byte order mark and hex).
    assert!(find(&pdf, b"/Title <FEFF").is_some());
}

#[test]
fn long_text_breaks_across_pages_with_numbers_from_the_second() {
    let mut doc = Document::new("Báo cáo");
    for i in 0..120 {
        doc.paragraph(
            &format!("Dòng thứ {i}: thống kê hồ sơ cư trú theo đơn vị hành chính"),
            Style::new(13.0),
        );
    }
    assert!(doc.page_count() >= 3);
    let count = doc.page_count();
    let pages = page_texts(&doc.finish().unwrap());
    assert_eq!(pages.len(), count);
    assert!(pages[0].iter().all(|t| t.starts_with("Dòng")), "no number on the first page");
    for (index, page) in pages.iter().enumerate().skip(1) {
        assert!(page.contains(&(index + 1).to_string()), "page {} numbered", index + 1);
    }
    let lines: Vec<&String> = pages.iter().flatten().filter(|t| t.starts_with("Dòng")).collect();
    assert_eq!(lines.len(), 120);
    assert_eq!(lines[119], "Dòng thứ 119: thống kê hồ sơ cư trú theo đơn vị hành chính");
}

#[test]
fn a_qr_code_is_drawn_one_rectangle_per_run_of_dark_modules() {
    let code = QrModules { width: 3, dark: vec![true, true, false, false, false, false, true, false, true] };
    let mut doc = Document::new("qr");
    doc.qr(&code, 70.0);
    let pdf = doc.finish().unwrap();
    let objs = objects(&pdf);
    let page = objs
        .values()
        .find(|b| find(b, b"/Type /Page\n").is_some() || find(b, b"/Type /Page ").is_some())
        .unwrap();
    let content = stream(&objs[&dict_ref(page, "Contents").unwrap()]);
    let ops = String::from_utf8_lossy(content);
    // Runs: row 0 one (two modules), row 2 two.
    assert_eq!(ops.matches(" re").count(), 3, "{ops}");
    assert_eq!(ops.lines().filter(|l| l.trim() == "f").count(), 1, "{ops}");
}
