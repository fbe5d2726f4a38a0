//! The report and its appendices as one HTML file (the same blocks as the DOCX and PDF),
//! with its own small style sheet: a file handed around, not a page of the server.

use crate::content::{Block, Table};

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A table as HTML (`class` on the `<table>`; the dashboard reuses it).
pub fn table(t: &Table, class: &str) -> String {
    let mut out = String::new();
    for (i, l) in t.title.iter().enumerate() {
        if i == 0 {
            out.push_str(&format!("<h2>{}</h2>", esc(l)));
        } else {
            out.push_str(&format!("<p class=\"c\">{}</p>", esc(l)));
        }
    }
    out.push_str(&format!("<table class=\"{class}\"><thead><tr>"));
    for h in &t.header {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead><tbody>");
    let row = |r: &Vec<String>, total: bool| {
        let mut s = String::from(if total { "<tr class=\"total\">" } else { "<tr>" });
        for (i, v) in r.iter().enumerate() {
            let label = t.header.get(i).map(|h| esc(h)).unwrap_or_default();
            let cls = if i == 1 { "" } else { " class=\"n\"" };
            s.push_str(&format!("<td data-label=\"{label}\"{cls}>{}</td>", esc(v)));
        }
        s.push_str("</tr>");
        s
    };
    for r in &t.rows {
        out.push_str(&row(r, false));
    }
    if let Some(total) = &t.total {
        out.push_str(&row(total, true));
    }
    out.push_str("</tbody></table>");
    out
}

const STYLE: &str = "body{font-family:'Times New Roman','Liberation Serif',serif;max-width:60rem;margin:1rem auto;padding:0 1rem;line-height:1.4}\
.hdr{display:flex;justify-content:space-between;text-align:center;gap:1rem}.hdr p{margin:.1rem}\
h1,h2,.c{text-align:center}h1{font-size:1.3rem}h2{font-size:1.1rem}p.t{text-align:justify;text-indent:2rem}\
table{border-collapse:collapse;width:100%;font-size:.85rem}th,td{border:1px solid #444;padding:.2rem .3rem}td.n{text-align:right}\
tr.total td{font-weight:bold}.sig{display:flex;justify-content:space-between}\
@media (max-width:40rem){.hdr,.sig{flex-direction:column}table{font-size:.75rem}}";

/// The whole report as an HTML document.
pub fn render(title: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(title)
    );
    for b in blocks {
        match b {
            Block::Header { left, right } => {
                let col = |lines: &[(String, bool)]| {
                    lines
                        .iter()
                        .map(|(t, bold)| {
                            if *bold {
                                format!("<p><b>{}</b></p>", esc(t))
                            } else {
                                format!("<p>{}</p>", esc(t))
                            }
                        })
                        .collect::<String>()
                };
                out.push_str(&format!(
                    "<div class=\"hdr\"><div>{}</div><div>{}</div></div>",
                    col(left),
                    col(right)
                ));
            }
            Block::Title(t) => out.push_str(&format!("<h1>{}</h1>", esc(t))),
            Block::Subtitle(t) => out.push_str(&format!("<p class=\"c\"><b>{}</b></p>", esc(t))),
            Block::Heading(t) => out.push_str(&format!("<h3>{}</h3>", esc(t))),
            Block::Para(t) => out.push_str(&format!("<p class=\"t\">{}</p>", esc(t))),
            Block::Table(t) => out.push_str(&table(t, "report")),
            Block::Signature { left, right } => {
                let l: String = left.iter().map(|x| format!("<p>{}</p>", esc(x))).collect();
                let r: String = right.iter().map(|(x, _)| format!("<p><b>{}</b></p>", esc(x))).collect();
                out.push_str(&format!("<div class=\"sig\"><div>{l}</div><div class=\"c\">{r}</div></div>"));
            }
            Block::PageBreak => out.push_str("<hr>"),
        }
    }
    out.push_str("</body></html>");
    out
}
