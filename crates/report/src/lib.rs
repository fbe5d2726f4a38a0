//! Project 06 reports (issue 16): indicators as data (`data/indicators.csv`), the units and
//! periods a report covers, the figures computed from the registry's aggregate counts and
//! approved submitted figures, and the report rendered by dancu itself as DOCX, PDF
//! (Decree 30/2020 layout, Liberation Serif embedded), XLSX appendices with formulas and
//! HTML; SVG charts for the dashboard. docs/REPORTS.md.

pub mod charts;
pub mod compute;
pub mod content;
pub mod docx;
pub mod figures;
pub mod html;
pub mod indicators;
pub mod narrative;
pub mod pdf;
pub mod period;
pub mod unit;
pub mod xlsx;

pub use compute::{build, compute, Report};
pub use figures::{ApprovedFigure, FigureSource, FixedFigures};
pub use narrative::Narrative;
pub use period::Period;
pub use unit::ReportUnit;

use dancu_domain::Violation;

/// The formats a report is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docx,
    Pdf,
    Xlsx,
    Html,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Docx, Format::Pdf, Format::Xlsx, Format::Html];

    pub fn parse(s: &str) -> Result<Format, Violation> {
        Format::ALL.into_iter().find(|f| f.extension() == s.trim().to_ascii_lowercase()).ok_or_else(|| {
            Violation::new(
                "format",
                "report.format",
                "Định dạng phải là docx, pdf, xlsx hoặc html",
                "the format must be docx, pdf, xlsx or html",
            )
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Pdf => "pdf",
            Format::Xlsx => "xlsx",
            Format::Html => "html",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Pdf => "application/pdf",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Html => "text/html; charset=utf-8",
        }
    }
}

/// The report's title (document metadata, file names).
pub fn title(r: &Report) -> String {
    format!("Báo cáo Đề án 06 - {} - {}", r.unit.name, r.period.label_vi())
}

/// The report in `format`. XLSX holds the appendices; the other three the whole report.
pub fn render(r: &Report, format: Format) -> anyhow::Result<Vec<u8>> {
    let blocks = content::blocks(r);
    let t = title(r);
    match format {
        Format::Docx => docx::render(&t, &blocks),
        Format::Pdf => pdf::render(&t, &blocks),
        Format::Xlsx => xlsx::render(r),
        Format::Html => Ok(html::render(&t, &blocks).into_bytes()),
    }
}
