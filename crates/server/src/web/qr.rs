//! QR codes drawn on the server as SVG (the authenticator key on the portal, the signed link
//! of a residence confirmation): no script, no image request, nothing the
//! Content-Security-Policy has to allow. [`modules`] gives the same code to the PDF writer.

use maud::{html, Markup};
use qrcode::{Color, EcLevel, QrCode};

/// `text` as QR modules (error correction M), row by row, `true` dark; `None` when the text
/// is too long for a QR code.
pub fn modules(text: &str) -> Option<dancu_render::QrModules> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(dancu_render::QrModules {
        width: code.width(),
        dark: code.to_colors().iter().map(|c| *c == Color::Dark).collect(),
    })
}

/// `text` as a QR code: one SVG path of dark modules, with the 4-module quiet zone the
/// standard asks for. `None` when the text is too long for a QR code.
pub fn svg(text: &str, label: &str) -> Option<Markup> {
    svg_with_id(text, label, "totp-qr")
}

/// [`svg`] named `testid` for tests.
pub fn svg_with_id(text: &str, label: &str, testid: &str) -> Option<Markup> {
    let code = modules(text)?;
    let width = code.width;
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::new();
    for (i, dark) in code.dark.iter().enumerate() {
        if *dark {
            let (x, y) = (i % width + quiet, i / width + quiet);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    Some(html! {
        svg.qr xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}")) role="img"
            aria-label=(label) shape-rendering="crispEdges" data-testid=(testid) {
            rect width=(size) height=(size) fill="#fff" {}
            path d=(path) fill="#000" {}
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_provisioning_uri_fits_in_a_qr_code() {
        let uri = "otpauth://totp/dancu:001085001234?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=dancu";
        let svg = super::svg(uri, "QR").unwrap().into_string();
        assert!(svg.starts_with("<svg") && svg.contains("h1v1h-1z"), "{svg}");
        assert!(!svg.contains("style="));
    }
}
