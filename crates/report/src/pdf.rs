//! The report as PDF through `dancu-render` (A4, Decree 30 margins, Liberation Serif
//! embedded as subsets): the same blocks as the DOCX.

use dancu_render::{Cell, Document, Style};

use crate::content::{Block, Table};

fn lines_cell(lines: &[(String, bool)], size: f32) -> Cell {
    Cell::Text(
        lines
            .iter()
            .map(|(t, bold)| {
                let s = Style::new(size).centered();
                (t.clone(), if *bold { s.bold() } else { s })
            })
            .collect(),
    )
}

fn table(doc: &mut Document, t: &Table) {
    for (i, line) in t.title.iter().enumerate() {
        let s = if i < 2 { Style::new(12.0).bold().centered() } else { Style::new(11.0).centered() };
        doc.paragraph(line, s);
    }
    doc.space(6.0);
    let head = Style::new(8.0).bold().centered();
    let body = Style::new(8.0);
    let num = Style::new(8.0).right();
    let mut rows = vec![t.header.iter().map(|h| Cell::text(h.clone(), head)).collect::<Vec<_>>()];
    let as_cells = |r: &Vec<String>, bold: bool| {
        r.iter()
            .enumerate()
            .map(|(i, v)| {
                let s = if i == 1 { body } else { num };
                Cell::text(v.clone(), if bold { s.bold() } else { s })
            })
            .collect::<Vec<_>>()
    };
    rows.extend(t.rows.iter().map(|r| as_cells(r, false)));
    if let Some(total) = &t.total {
        rows.push(as_cells(total, true));
    }
    doc.table(&t.widths, &rows);
}

/// Renders the blocks as a PDF.
pub fn render(title: &str, blocks: &[Block]) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::new(title);
    for b in blocks {
        match b {
            Block::Header { left, right } => {
                doc.row(&[0.42, 0.58], &[lines_cell(left, 12.0), lines_cell(right, 12.0)]);
                doc.space(10.0);
            }
            Block::Title(t) => doc.paragraph(t, Style::new(14.0).bold().centered()),
            Block::Subtitle(t) => {
                doc.paragraph(t, Style::new(13.0).bold().centered().rule_below());
                doc.space(8.0);
            }
            Block::Heading(t) => doc.paragraph(t, Style::new(13.0).bold().justified()),
            Block::Para(t) => doc.paragraph(t, Style::new(13.0).justified().indent(28.0)),
            Block::Table(t) => table(&mut doc, t),
            Block::Signature { left, right } => {
                doc.space(12.0);
                let l = left.join("\n");
                doc.row(&[0.5, 0.5], &[Cell::text(l, Style::new(11.0)), lines_cell(right, 13.0)]);
            }
            Block::PageBreak => doc.page_break(),
        }
    }
    doc.finish().map_err(|e| anyhow::anyhow!("PDF: {}", e.0))
}
