//! A small PDF writer for administrative documents.
//!
//! Pure: it takes text and QR modules and returns the bytes of a PDF. Pages are A4 with the
//! margins of Decree 30/2020/NĐ-CP (top and bottom 20 mm, left 30 mm, right 15 mm). Text is
//! set in Liberation Serif (metric-compatible with Times New Roman, which the decree asks for;
//! SIL Open Font License, `data/fonts/`), regular and bold, embedded as subsets of the glyphs
//! used with a `ToUnicode` map, so Vietnamese is shown, searched and copied as written.
//!
//! A [`Document`] is laid out top to bottom: paragraphs that wrap (left, centred, right or
//! justified), rows of cells without borders (the two-column header and signature block of an
//! administrative document), tables with borders, and QR codes drawn as vector squares from
//! their modules. A paragraph breaks across pages line by line; a row or table row moves to
//! the next page whole. Pages after the first carry their number at the top centre, as the
//! decree asks.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// Points per millimetre.
pub const MM: f32 = 72.0 / 25.4;
/// A4 width in points.
pub const PAGE_WIDTH: f32 = 210.0 * MM;
/// A4 height in points.
pub const PAGE_HEIGHT: f32 = 297.0 * MM;
/// Decree 30/2020 margins in points: top, bottom, left, right.
pub const MARGIN_TOP: f32 = 20.0 * MM;
pub const MARGIN_BOTTOM: f32 = 20.0 * MM;
pub const MARGIN_LEFT: f32 = 30.0 * MM;
pub const MARGIN_RIGHT: f32 = 15.0 * MM;
/// The width text may use.
pub const CONTENT_WIDTH: f32 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;

/// Line height as a multiple of the font size.
const LEADING: f32 = 1.25;
/// Padding inside a bordered table cell, in points.
const CELL_PAD: f32 = 3.0;

static REGULAR: &[u8] = include_bytes!("../../../data/fonts/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../../data/fonts/LiberationSerif-Bold.ttf");

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

/// Horizontal alignment of the lines of a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
    /// Both edges straight; the last line of a paragraph is left-aligned.
    Justify,
}

/// How a paragraph is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub size: f32,
    pub weight: Weight,
    pub align: Align,
    /// A rule under the paragraph's last line, as long as that line (the national motto's).
    pub rule_below: bool,
    /// Indent of the first line, in points.
    pub indent: f32,
}

impl Style {
    /// Regular text of `size` points, left-aligned.
    pub fn new(size: f32) -> Self {
        Style { size, weight: Weight::Regular, align: Align::Left, rule_below: false, indent: 0.0 }
    }
    pub fn bold(mut self) -> Self {
        self.weight = Weight::Bold;
        self
    }
    pub fn align(mut self, align: Align) -> Self {
        self.align = align;
        self
    }
    pub fn centered(self) -> Self {
        self.align(Align::Center)
    }
    pub fn right(self) -> Self {
        self.align(Align::Right)
    }
    pub fn justified(self) -> Self {
        self.align(Align::Justify)
    }
    pub fn rule_below(mut self) -> Self {
        self.rule_below = true;
        self
    }
    pub fn indent(mut self, points: f32) -> Self {
        self.indent = points;
        self
    }
}

/// A QR code's modules, row by row (`true` is dark), `width` modules a side.
#[derive(Debug, Clone)]
pub struct QrModules {
    pub width: usize,
    pub dark: Vec<bool>,
}

/// What a cell of a row or table holds.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Paragraphs, one under the other.
    Text(Vec<(String, Style)>),
    /// A QR code `size` points wide (quiet zone of two modules included), centred in the cell.
    Qr {
        code: QrModules,
        size: f32,
    },
    Empty,
}

impl Cell {
    /// One paragraph.
    pub fn text(text: impl Into<String>, style: Style) -> Cell {
        Cell::Text(vec![(text.into(), style)])
    }
}

/// The PDF could not be produced (a font could not be subset).
#[derive(Debug)]
pub struct RenderError(pub String);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PDF rendering failed: {}", self.0)
    }
}

impl std::error::Error for RenderError {}

struct Font {
    data: &'static [u8],
    face: ttf_parser::Face<'static>,
    /// Glyphs used, in the order of first use; the subset's glyph IDs are the positions.
    remap: subsetter::GlyphRemapper,
    /// New glyph ID → the text it stands for.
    unicode: BTreeMap<u16, char>,
    base_name: &'static str,
}

impl Font {
    fn new(data: &'static [u8], base_name: &'static str) -> Font {
        let face = ttf_parser::Face::parse(data, 0).expect("embedded font parses");
        Font { data, face, remap: subsetter::GlyphRemapper::new(), unicode: BTreeMap::new(), base_name }
    }

    fn upem(&self) -> f32 {
        f32::from(self.face.units_per_em())
    }

    fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map(|g| g.0).unwrap_or(0)
    }

    /// The width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| u32::from(self.face.glyph_hor_advance(ttf_parser::GlyphId(self.glyph(c))).unwrap_or(0)))
            .sum();
        units as f32 * size / self.upem()
    }

    /// `text` as the subset's two-byte glyph IDs (Identity-H), recording the glyphs used.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let new = self.remap.remap(self.glyph(c));
            self.unicode.entry(new).or_insert(c);
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

/// A document being laid out.
pub struct Document {
    title: String,
    fonts: [Font; 2],
    pages: Vec<Content>,
    /// The baseline of the next line from the top, in PDF coordinates (origin bottom left).
    y: f32,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").field("title", &self.title).field("pages", &self.pages.len()).finish()
    }
}

/// A line of a wrapped paragraph: its words and whether it ends the paragraph.
struct Line {
    words: Vec<String>,
    last: bool,
}

impl Document {
    /// An empty A4 document titled `title` (the PDF's metadata).
    pub fn new(title: &str) -> Document {
        Document {
            title: title.to_string(),
            fonts: [Font::new(REGULAR, "LiberationSerif"), Font::new(BOLD, "LiberationSerif-Bold")],
            pages: vec![Content::new()],
            y: PAGE_HEIGHT - MARGIN_TOP,
        }
    }

    /// The number of pages so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    fn font(&self, weight: Weight) -> &Font {
        &self.fonts[weight as usize]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_HEIGHT - MARGIN_TOP;
    }

    /// Moves to a new page unless `height` more points fit on this one.
    fn ensure(&mut self, height: f32) {
        if self.y - height < MARGIN_BOTTOM && self.y < PAGE_HEIGHT - MARGIN_TOP {
            self.new_page();
        }
    }

    /// Starts a new page (an appendix), unless the current page is still empty.
    pub fn page_break(&mut self) {
        if self.y < PAGE_HEIGHT - MARGIN_TOP {
            self.new_page();
        }
    }

    /// Vertical space of `points`.
    pub fn space(&mut self, points: f32) {
        self.y -= points;
        if self.y < MARGIN_BOTTOM {
            self.new_page();
        }
    }

    /// A paragraph across the content width; `\n` starts a new line.
    pub fn paragraph(&mut self, text: &str, style: Style) {
        let lines = self.wrap(text, style, CONTENT_WIDTH);
        let height = style.size * LEADING;
        for (i, line) in lines.iter().enumerate() {
            self.ensure(height);
            let baseline = self.y - style.size;
            let indent = if i == 0 { style.indent } else { 0.0 };
            let ends = i + 1 == lines.len();
            self.draw_line(line, style, MARGIN_LEFT + indent, CONTENT_WIDTH - indent, baseline, ends);
            self.y -= height;
        }
    }

    /// Cells side by side without borders; `widths` are fractions of the content width.
    pub fn row(&mut self, widths: &[f32], cells: &[Cell]) {
        self.cells(widths, cells, false);
    }

    /// A table with borders: each row's cells side by side, `widths` as fractions.
    pub fn table(&mut self, widths: &[f32], rows: &[Vec<Cell>]) {
        for row in rows {
            self.cells(widths, row, true);
        }
    }

    fn cells(&mut self, widths: &[f32], cells: &[Cell], border: bool) {
        let pad = if border { CELL_PAD } else { 0.0 };
        let columns: Vec<(f32, f32)> = {
            let mut x = MARGIN_LEFT;
            widths
                .iter()
                .map(|w| {
                    let width = w * CONTENT_WIDTH;
                    let col = (x, width);
                    x += width;
                    col
                })
                .collect()
        };
        let laid: Vec<Vec<(Vec<Line>, Style)>> = cells
            .iter()
            .zip(&columns)
            .map(|(cell, (_, width))| match cell {
                Cell::Text(paras) => paras
                    .iter()
                    .map(|(text, style)| (self.wrap(text, *style, width - 2.0 * pad), *style))
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        let heights: Vec<f32> = cells
            .iter()
            .zip(&laid)
            .map(|(cell, paras)| match cell {
                Cell::Text(_) => paras.iter().map(|(lines, s)| lines.len() as f32 * s.size * LEADING).sum(),
                Cell::Qr { size, .. } => *size,
                Cell::Empty => 0.0,
            })
            .collect();
        let height = heights.iter().copied().fold(0.0, f32::max) + 2.0 * pad;
        self.ensure(height);
        let top = self.y;
        for ((cell, paras), (x, width)) in cells.iter().zip(&laid).zip(&columns) {
            match cell {
                Cell::Text(_) => {
                    let mut y = top - pad;
                    for (lines, style) in paras {
                        for (i, line) in lines.iter().enumerate() {
                            let ends = i + 1 == lines.len();
                            let indent = if i == 0 { style.indent } else { 0.0 };
                            let inner = width - 2.0 * pad - indent;
                            self.draw_line(line, *style, x + pad + indent, inner, y - style.size, ends);
                            y -= style.size * LEADING;
                        }
                    }
                }
                Cell::Qr { code, size } => {
                    let left = x + (width - size) / 2.0;
                    self.draw_qr(code, left, top - pad - size, *size);
                }
                Cell::Empty => {}
            }
            if border {
                let page = self.pages.last_mut().expect("a page");
                page.set_line_width(0.5);
                page.rect(*x, top - height, *width, height);
                page.stroke();
            }
        }
        self.y = top - height;
    }

    /// A QR code `size` points wide, centred on the content width.
    pub fn qr(&mut self, code: &QrModules, size: f32) {
        self.ensure(size);
        let left = MARGIN_LEFT + (CONTENT_WIDTH - size) / 2.0;
        let bottom = self.y - size;
        self.draw_qr(code, left, bottom, size);
        self.y = bottom;
    }

    fn draw_qr(&mut self, code: &QrModules, left: f32, bottom: f32, size: f32) {
        let n = code.width;
        if n == 0 || code.dark.len() != n * n {
            return;
        }
        let module = size / (n as f32 + 4.0);
        let page = self.pages.last_mut().expect("a page");
        for row in 0..n {
            let y = bottom + size - (row as f32 + 3.0) * module;
            let mut col = 0;
            while col < n {
                if code.dark[row * n + col] {
                    let start = col;
                    while col < n && code.dark[row * n + col] {
                        col += 1;
                    }
                    let x = left + (start as f32 + 2.0) * module;
                    page.rect(x, y, (col - start) as f32 * module, module);
                } else {
                    col += 1;
                }
            }
        }
        page.fill_nonzero();
    }

    /// Wraps `text` into lines of at most `width` points (a word longer than a line is cut).
    fn wrap(&self, text: &str, style: Style, width: f32) -> Vec<Line> {
        let font = self.font(style.weight);
        let space = font.width(" ", style.size);
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut words: Vec<String> = Vec::new();
            let mut used = 0.0;
            let mut limit = width - if lines.is_empty() { style.indent } else { 0.0 };
            for word in para.split_whitespace() {
                let mut word = word.to_string();
                loop {
                    let w = font.width(&word, style.size);
                    let need = if words.is_empty() { w } else { used + space + w };
                    if need <= limit {
                        used = need;
                        words.push(word);
                        break;
                    }
                    if !words.is_empty() {
                        lines.push(Line { words: std::mem::take(&mut words), last: false });
                        used = 0.0;
                        limit = width;
                        continue;
                    }
                    // A word wider than a whole line: cut it where it stops fitting.
                    let mut cut = word.len();
                    while cut > 0 && font.width(&word[..cut], style.size) > limit {
                        cut = word[..cut].char_indices().next_back().map(|(i, _)| i).unwrap_or(0);
                    }
                    if cut == 0 {
                        cut = word.chars().next().map(char::len_utf8).unwrap_or(word.len());
                    }
                    let rest = word.split_off(cut);
                    lines.push(Line { words: vec![word], last: false });
                    limit = width;
                    if rest.is_empty() {
                        break;
                    }
                    word = rest;
                }
            }
            lines.push(Line { words, last: true });
        }
        lines
    }

    fn draw_line(&mut self, line: &Line, style: Style, x: f32, width: f32, baseline: f32, ends: bool) {
        if line.words.is_empty() {
            return;
        }
        let name = font_name(style.weight);
        let size = style.size;
        let font = &mut self.fonts[style.weight as usize];
        let joined = line.words.join(" ");
        let text_width = font.width(&joined, size);
        let page = self.pages.last_mut().expect("a page");
        let start = match style.align {
            Align::Left | Align::Justify => x,
            Align::Center => x + (width - text_width) / 2.0,
            Align::Right => x + width - text_width,
        };
        page.begin_text();
        page.set_font(Name(name), size);
        if style.align == Align::Justify && !line.last && line.words.len() > 1 {
            // Word spacing (Tw) does not apply to two-byte codes: place each word.
            let words_width: f32 = line.words.iter().map(|w| font.width(w, size)).sum();
            let gap = (width - words_width) / (line.words.len() - 1) as f32;
            let mut pos = start;
            let mut last = 0.0;
            for word in &line.words {
                page.next_line(pos - last, if last == 0.0 { baseline } else { 0.0 });
                page.show(Str(&font.encode(word)));
                last = pos;
                pos += font.width(word, size) + gap;
            }
        } else {
            page.next_line(start, baseline);
            page.show(Str(&font.encode(&joined)));
        }
        page.end_text();
        if style.rule_below && ends {
            page.set_line_width(0.6);
            page.move_to(start, baseline - size * 0.3);
            page.line_to(start + text_width, baseline - size * 0.3);
            page.stroke();
        }
    }

    /// The finished PDF.
    pub fn finish(mut self) -> Result<Vec<u8>, RenderError> {
        // Page numbers from the second page on, at the top centre (Decree 30/2020).
        let count = self.pages.len();
        if count > 1 {
            let style = Style::new(13.0).centered();
            for index in 1..count {
                let text = (index + 1).to_string();
                let font = &mut self.fonts[0];
                let width = font.width(&text, style.size);
                let encoded = font.encode(&text);
                let page = &mut self.pages[index];
                page.begin_text();
                page.set_font(Name(font_name(Weight::Regular)), style.size);
                page.next_line(MARGIN_LEFT + (CONTENT_WIDTH - width) / 2.0, PAGE_HEIGHT - 12.0 * MM);
                page.show(Str(&encoded));
                page.end_text();
            }
        }

        let mut pdf = Pdf::new();
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog = alloc();
        let tree = alloc();
        let info = alloc();
        let font_refs: Vec<Ref> = (0..2).map(|_| alloc()).collect();
        let page_refs: Vec<(Ref, Ref)> = (0..count).map(|_| (alloc(), alloc())).collect();

        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_refs.iter().map(|(p, _)| *p)).count(count as i32);
        pdf.document_info(info).title(TextStr(&self.title)).producer(TextStr("dancu"));

        for (index, content) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let (page_ref, content_ref) = page_refs[index];
            let mut page = pdf.page(page_ref);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT));
            page.parent(tree);
            page.contents(content_ref);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(Name(font_name(Weight::Regular)), font_refs[0]);
            fonts.pair(Name(font_name(Weight::Bold)), font_refs[1]);
            fonts.finish();
            resources.finish();
            page.finish();
            pdf.stream(content_ref, &content.finish());
        }

        for (font, type0) in self.fonts.iter().zip(&font_refs) {
            let cid = alloc();
            let descriptor = alloc();
            let file = alloc();
            let cmap_ref = alloc();
            write_font(&mut pdf, font, *type0, cid, descriptor, file, cmap_ref)?;
        }
        Ok(pdf.finish())
    }
}

fn font_name(weight: Weight) -> &'static [u8] {
    match weight {
        Weight::Regular => b"F1",
        Weight::Bold => b"F2",
    }
}

/// The six capital letters naming a subset (PDF 32000-1 §9.6.4), from the glyphs it holds.
fn subset_tag(font: &Font) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for gid in font.remap.remapped_gids() {
        for byte in gid.to_be_bytes() {
            hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
        }
    }
    (0..6)
        .map(|i| {
            let letter = (hash >> (i * 5)) % 26;
            char::from(b'A' + letter as u8)
        })
        .collect()
}

fn write_font(
    pdf: &mut Pdf,
    font: &Font,
    type0: Ref,
    cid: Ref,
    descriptor: Ref,
    file: Ref,
    cmap_ref: Ref,
) -> Result<(), RenderError> {
    let subset = subsetter::subset(font.data, 0, &font.remap).map_err(|e| RenderError(format!("{e:?}")))?;
    let base = format!("{}+{}", subset_tag(font), font.base_name);
    let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    let scale = 1000.0 / font.upem();

    pdf.type0_font(type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_ref);

    let widths: Vec<f32> = font
        .remap
        .remapped_gids()
        .map(|old| f32::from(font.face.glyph_hor_advance(ttf_parser::GlyphId(old)).unwrap_or(0)) * scale)
        .collect();
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(system)
        .font_descriptor(descriptor)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid_font.widths().consecutive(0, widths);
    cid_font.finish();

    let bbox = font.face.global_bounding_box();
    let mut flags = FontFlags::SERIF | FontFlags::NON_SYMBOLIC;
    if font.base_name.ends_with("Bold") {
        flags |= FontFlags::FORCE_BOLD;
    }
    pdf.font_descriptor(descriptor)
        .name(Name(base.as_bytes()))
        .flags(flags)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * scale,
            f32::from(bbox.y_min) * scale,
            f32::from(bbox.x_max) * scale,
            f32::from(bbox.y_max) * scale,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(font.face.ascender()) * scale)
        .descent(f32::from(font.face.descender()) * scale)
        .cap_height(f32::from(font.face.capital_height().unwrap_or(font.face.ascender())) * scale)
        .stem_v(if font.base_name.ends_with("Bold") { 140.0 } else { 80.0 })
        .font_file2(file);

    pdf.stream(file, &subset).pair(Name(b"Length1"), subset.len() as i32);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system);
    for (gid, c) in &font.unicode {
        cmap.pair(*gid, *c);
    }
    pdf.cmap(cmap_ref, &cmap.finish()).name(Name(b"Custom")).system_info(system);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_letters_all_have_glyphs_in_both_weights() {
        let letters = "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ";
        let lower = letters.to_lowercase();
        for data in [REGULAR, BOLD] {
            let face = ttf_parser::Face::parse(data, 0).unwrap();
            for c in letters.chars().chain(lower.chars()) {
                assert!(face.glyph_index(c).is_some(), "no glyph for {c}");
            }
        }
    }

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let doc = Document::new("t");
        let text = "Công an xã xác nhận thông tin về cư trú của công dân theo quy định của Luật Cư trú năm 2020 và các văn bản hướng dẫn thi hành";
        let lines = doc.wrap(text, Style::new(13.0), 200.0);
        assert!(lines.len() > 2);
        let font = doc.font(Weight::Regular);
        for line in &lines {
            assert!(font.width(&line.words.join(" "), 13.0) <= 200.0);
        }
        let back: Vec<String> = lines.iter().flat_map(|l| l.words.clone()).collect();
        assert_eq!(back.join(" "), text);
        assert!(lines.last().unwrap().last);
    }

    #[test]
    fn a_word_longer_than_a_line_is_cut_at_a_character() {
        let doc = Document::new("t");
        let word = "Nguyễn".repeat(20);
        let lines = doc.wrap(&word, Style::new(13.0), 100.0);
        assert!(lines.len() > 1);
        let back: String = lines.iter().flat_map(|l| l.words.clone()).collect();
        assert_eq!(back, word);
    }
}
