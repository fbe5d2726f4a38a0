//! Charts drawn as SVG on the server (no script, no CDN, presentation attributes only, so
//! the pages' CSP needs nothing inline): the trend over months, units ranked against a
//! target, and the online share per service.

use crate::html::esc;
use crate::indicators::fmt_rate;

const W: f64 = 640.0;

/// Monthly received and online applications as paired bars, with the online share.
pub fn trend(points: &[(String, i64, i64)], title: &str) -> String {
    let h = 240.0;
    let (left, bottom, top) = (48.0, 36.0, 28.0);
    let max = points.iter().map(|p| p.1.max(p.2)).max().unwrap_or(0).max(1) as f64;
    let slot = (W - left - 8.0) / points.len().max(1) as f64;
    let bar = (slot * 0.35).max(2.0);
    let y = |v: f64| h - bottom - (h - bottom - top) * v / max;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{t}\" class=\"chart\"><title>{t}</title>\
         <text x=\"{left}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{t}</text>\
         <line x1=\"{left}\" y1=\"{b}\" x2=\"{W}\" y2=\"{b}\" stroke=\"#888\"/>\
         <text x=\"{lx}\" y=\"{ty}\" font-size=\"10\" text-anchor=\"end\">{max}</text>",
        t = esc(title),
        b = h - bottom,
        lx = left - 4.0,
        ty = top + 4.0,
        max = max as i64
    );
    let mut line = Vec::new();
    for (i, (label, received, online)) in points.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.1;
        let (yr, yo) = (y(*received as f64), y(*online as f64));
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{yr:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"#9aa7b8\"><title>{} — {received}</title></rect>\
             <rect x=\"{:.1}\" y=\"{yo:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"#1f6fb2\"><title>{} — {online}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            h - bottom - yr,
            esc(label),
            x + bar,
            h - bottom - yo,
            esc(label),
            x + bar,
            h - bottom + 12.0,
            esc(label),
        ));
        if *received > 0 {
            let share = *online as f64 / *received as f64;
            line.push(format!("{:.1},{:.1}", x + bar, h - bottom - (h - bottom - top) * share));
        }
    }
    if line.len() > 1 {
        s.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#d9822b\" stroke-width=\"2\"/>",
            line.join(" ")
        ));
    }
    s.push_str(&format!(
        "<g font-size=\"10\"><rect x=\"{left}\" y=\"{ly}\" width=\"10\" height=\"8\" fill=\"#9aa7b8\"/><text x=\"{a}\" y=\"{ty}\">Tiếp nhận</text>\
         <rect x=\"{b}\" y=\"{ly}\" width=\"10\" height=\"8\" fill=\"#1f6fb2\"/><text x=\"{c}\" y=\"{ty}\">Trực tuyến</text>\
         <rect x=\"{d}\" y=\"{ly}\" width=\"10\" height=\"3\" fill=\"#d9822b\"/><text x=\"{e}\" y=\"{ty}\">Tỷ lệ trực tuyến</text></g></svg>",
        ly = h - 12.0,
        ty = h - 4.0,
        a = left + 14.0,
        b = left + 80.0,
        c = left + 94.0,
        d = left + 160.0,
        e = left + 174.0,
    ));
    s
}

/// Horizontal bars of percentages (`None`: no denominator, drawn empty and labelled "—"),
/// with the target as a vertical line. Rows keep the order given.
pub fn bars(rows: &[(String, Option<f64>)], target: Option<f64>, title: &str) -> String {
    let row_h = 18.0;
    let (label_w, top) = (230.0, 26.0);
    let h = top + row_h * rows.len() as f64 + 20.0;
    let span = W - label_w - 60.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{t}\" class=\"chart\"><title>{t}</title>\
         <text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{t}</text>",
        t = esc(title)
    );
    for (i, (name, share)) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let wv = share.unwrap_or(0.0).clamp(0.0, 100.0) / 100.0 * span;
        let met = match (share, target) {
            (Some(v), Some(t)) if *v >= t => "#2e8540",
            (Some(_), Some(_)) => "#c0392b",
            _ => "#1f6fb2",
        };
        let short: String = name.chars().take(40).collect();
        s.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"end\">{n}</text>\
             <rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{wv:.1}\" height=\"{bh}\" fill=\"{met}\"><title>{full}: {v}</title></rect>\
             <text x=\"{vx:.1}\" y=\"{ty:.1}\" font-size=\"10\">{v}</text>",
            lx = label_w - 4.0,
            ty = y + 12.0,
            n = esc(&short),
            bh = row_h - 5.0,
            full = esc(name),
            v = fmt_rate(*share),
            vx = label_w + wv + 4.0,
        ));
    }
    if let Some(t) = target {
        let x = label_w + t.clamp(0.0, 100.0) / 100.0 * span;
        s.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{y2:.1}\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{x:.1}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"middle\">Chỉ tiêu {t}%</text>",
            y2 = h - 18.0,
            ty = h - 6.0,
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn charts_are_svg_without_style_attributes() {
        let t = super::trend(&[("01/2025".into(), 10, 7), ("02/2025".into(), 0, 0)], "Xu hướng <x>");
        let b = super::bars(&[("Xã A".into(), Some(70.0)), ("Xã B".into(), None)], Some(60.0), "Xếp hạng");
        for s in [&t, &b] {
            assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
            assert!(!s.contains("style="));
        }
        assert!(t.contains("&lt;x&gt;"));
        assert!(b.contains("—") && b.contains("#2e8540"));
    }
}
