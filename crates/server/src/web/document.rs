//! Printable documents in the administrative format of Decree 30/2020/NĐ-CP on clerical work
//! (Nghị định 30/2020/NĐ-CP về công tác văn thư, Appendix I: the layout of an administrative
//! document): the issuing unit in upper case on the left over its number ("Số: …/…"), the
//! national motto on the right over the place-and-date line, the title centred, the body, and
//! the signature block (the signer's capacity, "(Ký, ghi rõ họ tên)", the name). Dates are
//! `DD/MM/YYYY` in the body. Documents are Vietnamese whatever the page language: they are
//! handed to citizens and filed. The print stylesheet centres them on an A4 page.

use chrono::{Datelike, NaiveDate};
use dancu_domain::admin_units;
use dancu_store::Scope;
use maud::{html, Markup};

/// Who issues a document: its parent body and its own name (both upper case), and the
/// place written on the date line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    pub parent: String,
    pub unit: String,
    /// The unit's name as written in a sentence ("Công an Phường Ba Đình").
    pub name: String,
    pub place: String,
}

/// A province's name on a date line: without "Thành phố " or "Tỉnh " ("Hà Nội").
fn place_of(province_name: &str) -> String {
    ["Thành phố ", "Tỉnh "]
        .iter()
        .find_map(|k| province_name.strip_prefix(k))
        .unwrap_or(province_name)
        .to_string()
}

fn upper(s: &str) -> String {
    s.to_uppercase()
}

/// The national body (a nation-wide officer's documents).
const MINISTRY: &str = "BỘ CÔNG AN";
const NATIONAL_UNIT: &str = "CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI";

impl Issuer {
    /// The police of a unit: a commune's under its province's, a province's under the
    /// ministry, the whole country's the ministry's registration department in Hà Nội.
    pub fn of_scope(s: &Scope) -> Issuer {
        let units = admin_units();
        match s {
            Scope::Commune(code) => match units.commune_2025(code) {
                Some(c) => Issuer {
                    parent: format!("CÔNG AN {}", upper(&c.province_name)),
                    unit: format!("CÔNG AN {}", upper(&c.name)),
                    name: format!("Công an {}", c.name),
                    place: place_of(&c.province_name),
                },
                None => Issuer::national(),
            },
            Scope::Province(code) => match units.province_2025(code) {
                Some(p) => Issuer {
                    parent: MINISTRY.into(),
                    unit: format!("CÔNG AN {}", upper(&p.name)),
                    name: format!("Công an {}", p.name),
                    place: place_of(&p.name),
                },
                None => Issuer::national(),
            },
            Scope::Nation => Issuer::national(),
        }
    }

    /// The police of a 2025 commune given by code.
    pub fn of_commune(code: &str) -> Issuer {
        Issuer::of_scope(&Scope::Commune(code.to_string()))
    }

    /// A scope written as stored (`commune:00004`); an unreadable one is the national unit.
    pub fn of_scope_text(s: &str) -> Issuer {
        s.parse::<Scope>().map(|s| Issuer::of_scope(&s)).unwrap_or_else(|_| Issuer::national())
    }

    fn national() -> Issuer {
        Issuer {
            parent: MINISTRY.into(),
            unit: NATIONAL_UNIT.into(),
            name: "Cục Cảnh sát quản lý hành chính về trật tự xã hội".into(),
            place: "Hà Nội".into(),
        }
    }

    /// The unit's abbreviation for document numbers: the initials of its name ("CÔNG AN
    /// PHƯỜNG BA ĐÌNH" → "CAPBĐ").
    pub fn initials(&self) -> String {
        self.unit.split_whitespace().filter_map(|w| w.chars().next()).collect()
    }
}

/// "Hà Nội, ngày 03 tháng 12 năm 2026" (Decree 30, Appendix I: day and month under 10 with a
/// leading zero).
pub fn place_date(place: &str, d: NaiveDate) -> String {
    format!("{place}, ngày {:02} tháng {:02} năm {}", d.day(), d.month(), d.year())
}

/// Who signs: the capacity (upper case in the block) and the name (may be empty: signed by
/// hand).
pub struct Signer {
    pub capacity: String,
    pub name: String,
}

/// One document's header, title and signature; the body is given to [`Doc::render`].
pub struct Doc<'a> {
    /// Names the whole for tests.
    pub testid: &'a str,
    pub issuer: Issuer,
    /// After "Số: ", e.g. `12/GH-CAPBĐ`.
    pub number: String,
    pub day: NaiveDate,
    pub title: &'a str,
    /// The line under the title (trích yếu), if any.
    pub summary: Option<String>,
    pub signer: Signer,
}

impl Doc<'_> {
    /// The header block, the title, `body` and the signature block.
    pub fn render(&self, body: Markup) -> Markup {
        let (issuer, signer) = (&self.issuer, &self.signer);
        html! {
            article.card.document data-testid=(self.testid) {
                div.doc-head {
                    div.doc-issuer {
                        p.doc-parent { (issuer.parent) }
                        p.doc-unit data-testid="doc-unit" { b { (issuer.unit) } }
                        p.doc-number data-testid="doc-number" { "Số: " (self.number) }
                    }
                    div.doc-motto {
                        p.doc-nation { b { "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" } }
                        p.doc-slogan { b { "Độc lập - Tự do - Hạnh phúc" } }
                        p.doc-date data-testid="doc-date" { i { (place_date(&issuer.place, self.day)) } }
                    }
                }
                h1.doc-title { (self.title.to_uppercase()) }
                @if let Some(s) = &self.summary { p.doc-summary { b { (s) } } }
                div.doc-body { (body) }
                div.doc-sign {
                    div.doc-recipients {}
                    div.doc-signer data-testid="doc-signer" {
                        p { b { (signer.capacity.to_uppercase()) } }
                        p { i { "(Ký, ghi rõ họ tên)" } }
                        p.doc-sign-space {}
                        p { b { (signer.name) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commune_issues_under_its_province_and_dates_in_its_city() {
        let i = Issuer::of_commune("00004");
        assert_eq!(i.parent, "CÔNG AN THÀNH PHỐ HÀ NỘI");
        assert_eq!(i.unit, "CÔNG AN PHƯỜNG BA ĐÌNH");
        assert_eq!(i.place, "Hà Nội");
        assert_eq!(i.name, "Công an Phường Ba Đình");
        assert_eq!(i.initials(), "CAPBĐ");
        let d = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(place_date(&i.place, d), "Hà Nội, ngày 03 tháng 12 năm 2026");
    }

    #[test]
    fn a_province_and_the_nation_issue_under_the_ministry() {
        let p = Issuer::of_scope(&Scope::Province("04".into()));
        assert_eq!(
            (p.parent.as_str(), p.unit.as_str(), p.place.as_str()),
            (MINISTRY, "CÔNG AN TỈNH CAO BẰNG", "Cao Bằng")
        );
        let n = Issuer::of_scope_text("nation");
        assert_eq!((n.unit.as_str(), n.place.as_str()), (NATIONAL_UNIT, "Hà Nội"));
    }
}
