//! The QR payload printed on the chip ID card (cards issued 2021 – 30 June 2024; the 2024
//! card adds fields):
//!
//! `PIN|CMND or empty|Full name|ddmmyyyy|Nam or Nữ|permanent address|ddmmyyyy issue date`
//!
//! [`parse`] accepts 6 fields (no CMND field), 7 fields, and 8 or more (the extra fields of the
//! 2024 card, whose order is *unconfirmed*, are kept as they are). It tolerates NFC or NFD,
//! stray whitespace, CR/LF and a byte-order mark around fields, and text that went through a
//! legacy 8-bit encoding and was read back as Windows-1252 or Latin-1 (see [`crate::legacy`]).
//! Errors name the field.

use chrono::NaiveDate;
use dancu_domain::{nfc, CmndNumber, PartialDate, PersonalId, Sex, Violation};
use serde::Serialize;
use std::fmt::Write as _;

use crate::card::card_expiry;
use crate::legacy::{self, Encoding};

/// The data of a card QR code, every text NFC with single spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardQr {
    pub personal_id: PersonalId,
    /// The old 9-digit identity card number, if the holder had one.
    pub cmnd: Option<CmndNumber>,
    pub full_name: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    /// Permanent residence (nơi thường trú) as printed.
    pub address: String,
    pub issue_date: NaiveDate,
    /// Fields after the seventh (2024 card), in payload order.
    pub extra: Vec<String>,
}

/// A parsed payload with what the parser had to do to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedQr {
    pub card: CardQr,
    /// How many fields the payload had (6, 7, or more).
    pub field_count: usize,
    /// The legacy encoding that was undone in the text fields, if any.
    pub repaired_from: Option<Encoding>,
}

const DATE_FORMAT: &str = "%d%m%Y";

/// Removes what `generate` cannot carry inside a field: the separator and control characters.
fn clean_field(s: &str) -> String {
    nfc(&s.replace(|c: char| c == '|' || c.is_control(), " "))
}

/// The payload of a card, 7 fields plus the extras. A `|` inside a text field cannot be
/// represented and is written as a space.
pub fn generate(qr: &CardQr) -> String {
    let mut out = format!(
        "{}|{}|{}|{}|{}|{}|{}",
        qr.personal_id,
        qr.cmnd.map(|c| c.to_string()).unwrap_or_default(),
        clean_field(&qr.full_name),
        qr.birth_date.format(DATE_FORMAT),
        qr.sex.label_vi(),
        clean_field(&qr.address),
        qr.issue_date.format(DATE_FORMAT),
    );
    for e in &qr.extra {
        out.push('|');
        out.push_str(&clean_field(e));
    }
    out
}

/// Parses a payload; see [`parse_detailed`].
pub fn parse(input: &str) -> Result<CardQr, Violation> {
    parse_detailed(input).map(|p| p.card)
}

/// Characters trimmed around the payload and each field: ASCII whitespace (space, tab, CR,
/// LF…), byte-order marks and zero-width spaces. Other whitespace is left for the repair, since
/// legacy bytes read as Latin-1 may look like it (0x85, 0xA0).
fn is_padding(c: char) -> bool {
    c.is_ascii_whitespace() || c == '\u{0B}' || matches!(c, '\u{FEFF}' | '\u{200B}')
}

fn v(field: &str, rule: &'static str, vi: impl Into<String>, en: impl Into<String>) -> Violation {
    Violation::new(field, rule, vi, en)
}

fn wrap(field: &str, rule: &'static str, inner: Violation) -> Violation {
    Violation::new(
        field,
        rule,
        format!("{} ({})", inner.message_vi, inner.rule),
        format!("{} ({})", inner.message_en, inner.rule),
    )
}

fn parse_date(
    raw: &str,
    field: &str,
    rule: &'static str,
    label_vi: &str,
    label_en: &str,
) -> Result<NaiveDate, Violation> {
    let err = |why_vi: &str, why_en: &str| {
        v(
            field,
            rule,
            format!("{label_vi} không hợp lệ ({why_vi}): {raw:?}"),
            format!("invalid {label_en} ({why_en}): {raw:?}"),
        )
    };
    let digits: String = match raw.len() {
        8 => raw.to_string(),
        10 if raw.as_bytes()[2] == b'/' && raw.as_bytes()[5] == b'/' => raw.replace('/', ""),
        _ => return Err(err("cần dạng ddmmyyyy", "expected ddmmyyyy")),
    };
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("cần dạng ddmmyyyy", "expected ddmmyyyy"));
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
    let (day, month, year) = (n(0..2), n(2..4), n(4..8) as i32);
    if !(1900..=2100).contains(&year) {
        return Err(err("năm ngoài khoảng 1900–2100", "year outside 1900–2100"));
    }
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| err("ngày không tồn tại", "no such day"))
}

/// Parses a payload and reports the field count and any encoding repair.
///
/// Rule codes: `qr.field_count`, `qr.personal_id`, `qr.cmnd`, `qr.full_name`, `qr.encoding`,
/// `qr.birth_date`, `qr.sex`, `qr.address`, `qr.issue_date`, `qr.id_mismatch`.
pub fn parse_detailed(input: &str) -> Result<ParsedQr, Violation> {
    let mut s = input.trim_matches(is_padding);
    // A UTF-8 byte-order mark that was itself read as Windows-1252.
    while let Some(rest) = s.strip_prefix("\u{EF}\u{BB}\u{BF}") {
        s = rest.trim_start_matches(is_padding);
    }
    let raw: Vec<&str> = if s.is_empty() { Vec::new() } else { s.split('|').collect() };
    let n = raw.len();
    if n < 6 {
        return Err(v(
            "payload",
            "qr.field_count",
            format!("Mã QR phải có 6, 7 hoặc nhiều hơn 7 trường phân cách bởi “|”, nhận được {n}"),
            format!("a card QR payload has 6, 7 or more fields separated by '|', got {n}"),
        ));
    }
    let f: Vec<&str> = raw.iter().map(|x| x.trim_matches(is_padding)).collect();
    // With 6 fields the CMND field is the one missing.
    let (id_raw, cmnd_raw, rest) = if n == 6 { (f[0], "", &f[1..]) } else { (f[0], f[1], &f[2..]) };
    if n == 6 && !f[1].is_empty() && f[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(v(
            "payload",
            "qr.field_count",
            "Mã QR có 6 trường nhưng trường thứ hai là số: thiếu một trường khác",
            "a 6-field payload whose second field is a number: some other field is missing",
        ));
    }
    let (name_raw, dob_raw, sex_raw, addr_raw, issue_raw) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
    let extra_raw = &rest[5..];

    let personal_id =
        PersonalId::parse_until(id_raw, 9999).map_err(|e| wrap("personal_id", "qr.personal_id", e))?;
    let cmnd = if cmnd_raw.is_empty() {
        None
    } else {
        Some(cmnd_raw.parse::<CmndNumber>().map_err(|e| wrap("cmnd", "qr.cmnd", e))?)
    };

    let mut texts: Vec<&str> = vec![name_raw, sex_raw, addr_raw];
    texts.extend_from_slice(extra_raw);
    let (repaired, repaired_from) = legacy::repair_fields(&texts);
    let mut repaired = repaired.into_iter().map(|t| nfc(&t));
    let full_name = repaired.next().unwrap_or_default();
    let sex_text = repaired.next().unwrap_or_default();
    let address = repaired.next().unwrap_or_default();
    let extra: Vec<String> = repaired.collect();

    check_name(&full_name)?;
    let birth_date = parse_date(dob_raw, "birth_date", "qr.birth_date", "Ngày sinh", "date of birth")?;
    let sex = parse_sex(&sex_text)?;
    check_address(&address)?;
    let issue_date = parse_date(issue_raw, "issue_date", "qr.issue_date", "Ngày cấp", "issue date")?;
    if issue_date < birth_date {
        return Err(v(
            "issue_date",
            "qr.issue_date",
            "Ngày cấp trước ngày sinh",
            "the issue date is before the date of birth",
        ));
    }
    personal_id
        .check_against(&PartialDate::Full(birth_date), sex)
        .map_err(|e| wrap("personal_id", "qr.id_mismatch", e))?;

    Ok(ParsedQr {
        card: CardQr { personal_id, cmnd, full_name, birth_date, sex, address, issue_date, extra },
        field_count: n,
        repaired_from,
    })
}

fn garbled(field: &str, what_vi: &str, what_en: &str, c: char) -> Violation {
    v(
        field,
        "qr.encoding",
        format!("{what_vi} có ký tự lỗi phông chữ {c:?} (U+{:04X}) không sửa được", u32::from(c)),
        format!(
            "the {what_en} holds a garbled character {c:?} (U+{:04X}) that could not be repaired",
            u32::from(c)
        ),
    )
}

fn check_name(name: &str) -> Result<(), Violation> {
    if name.is_empty() {
        return Err(v("full_name", "qr.full_name", "Thiếu họ và tên", "the full name is missing"));
    }
    if let Some(c) = name.chars().find(|&c| legacy::is_garbled_char(c)) {
        return Err(garbled("full_name", "Họ và tên", "full name", c));
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))) {
        return Err(v(
            "full_name",
            "qr.full_name",
            format!("Ký tự không hợp lệ trong họ tên: {c:?}"),
            format!("invalid character in the full name: {c:?}"),
        ));
    }
    Ok(())
}

fn check_address(address: &str) -> Result<(), Violation> {
    if address.is_empty() {
        return Err(v("address", "qr.address", "Thiếu nơi thường trú", "the permanent address is missing"));
    }
    match address.chars().find(|&c| legacy::is_garbled_char(c)) {
        Some(c) => Err(garbled("address", "Nơi thường trú", "permanent address", c)),
        None => Ok(()),
    }
}

/// `Nam` / `Nữ` in any case or normal form; also `N?` and `N\u{FFFD}`, which is what `Nữ` becomes
/// through a conversion that lost the letter (only `Nữ` has two letters).
fn parse_sex(s: &str) -> Result<Sex, Violation> {
    if let Ok(sex) = Sex::parse(s) {
        return Ok(sex);
    }
    if matches!(s, "N?" | "N\u{FFFD}" | "n?") {
        return Ok(Sex::Female);
    }
    Err(v(
        "sex",
        "qr.sex",
        format!("Giới tính phải là “Nam” hoặc “Nữ”, nhận được {s:?}"),
        format!("sex must be \"Nam\" or \"Nữ\", got {s:?}"),
    ))
}

/// A human explanation of a payload's content (for `dancu id parse-qr`), Vietnamese with
/// English in brackets.
pub fn explain(qr: &CardQr) -> String {
    let mut out = String::new();
    let e = qr.personal_id.explain();
    let _ = writeln!(out, "Số định danh cá nhân (personal ID): {}", qr.personal_id);
    let _ = writeln!(
        out,
        "  nơi đăng ký khai sinh (birth registered in): {} ({}); giới tính mã hóa (encoded sex): {}; năm sinh (birth year): {}",
        if e.province_name.is_empty() { "?" } else { e.province_name.as_str() },
        e.province_code,
        e.sex.label_vi(),
        e.birth_year
    );
    let _ = writeln!(
        out,
        "Số CMND cũ (old ID card number): {}",
        qr.cmnd.map_or_else(|| "không có (none)".to_string(), |c| c.to_string())
    );
    let _ = writeln!(out, "Họ và tên (full name): {}", qr.full_name);
    let _ = writeln!(out, "Ngày sinh (date of birth): {}", qr.birth_date.format("%d/%m/%Y"));
    let _ = writeln!(out, "Giới tính (sex): {} ({})", qr.sex.label_vi(), qr.sex.label_en());
    let _ = writeln!(out, "Nơi thường trú (permanent address): {}", qr.address);
    let _ = writeln!(out, "Ngày cấp (issue date): {}", qr.issue_date.format("%d/%m/%Y"));
    let _ = match card_expiry(&PartialDate::Full(qr.birth_date), qr.issue_date) {
        Some(exp) => {
            writeln!(out, "Có giá trị đến (valid until, by the 14/25/40/60 rule): {}", exp.format("%d/%m/%Y"))
        }
        None => writeln!(out, "Có giá trị đến (valid until): không thời hạn (no expiry)"),
    };
    for (i, x) in qr.extra.iter().enumerate() {
        let _ = writeln!(out, "Trường bổ sung {} (extra field {}, meaning unconfirmed): {}", i + 8, i + 8, x);
    }
    out
}

impl ParsedQr {
    /// [`explain`] plus how the payload was read.
    pub fn explain(&self) -> String {
        let mut out = explain(&self.card);
        let _ = writeln!(out, "Số trường (fields in the payload): {}", self.field_count);
        if let Some(enc) = self.repaired_from {
            let _ = writeln!(
                out,
                "Đã sửa lỗi phông chữ (repaired text that went through {}): văn bản đã được giải mã lại",
                enc.label()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legacy::{decode_cp1252, decode_latin1, encode_with};
    use dancu_domain::units::admin_units;
    use proptest::prelude::*;
    use unicode_normalization::UnicodeNormalization;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn sample() -> CardQr {
        CardQr {
            personal_id: PersonalId::parse_until("001190001234", 2026).unwrap(),
            cmnd: Some("012345678".parse().unwrap()),
            full_name: "Nguyễn Thị Hoà".into(),
            birth_date: d(1990, 5, 4),
            sex: Sex::Female,
            address: "Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội".into(),
            issue_date: d(2021, 3, 15),
            extra: vec![],
        }
    }

    const SAMPLE: &str =
        "001190001234|012345678|Nguyễn Thị Hoà|04051990|Nữ|Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội|15032021";

    #[test]
    fn generates_the_documented_layout() {
        assert_eq!(generate(&sample()), SAMPLE);
        let mut q = sample();
        q.cmnd = None;
        q.extra = vec!["Nguyễn Văn Bố".into(), "Trần Thị Mẹ".into()];
        assert_eq!(
            generate(&q),
            "001190001234||Nguyễn Thị Hoà|04051990|Nữ|Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội|15032021|Nguyễn Văn Bố|Trần Thị Mẹ"
        );
        q.full_name = "Nguyễn | Thị\nHoà".into();
        assert!(generate(&q).contains("|Nguyễn Thị Hoà|"));
    }

    #[test]
    fn parses_six_seven_and_more_fields() {
        let p = parse_detailed(SAMPLE).unwrap();
        assert_eq!((p.card.clone(), p.field_count, p.repaired_from), (sample(), 7, None));
        let six = "001190001234|Nguyễn Thị Hoà|04051990|Nữ|Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội|15032021";
        let p = parse_detailed(six).unwrap();
        assert_eq!((p.card.cmnd, p.field_count), (None, 6));
        assert_eq!(p.card.full_name, "Nguyễn Thị Hoà");
        let eight = format!("{SAMPLE}|Nguyễn Văn Ba|Trần Thị Mẹ|");
        let p = parse_detailed(&eight).unwrap();
        assert_eq!(p.field_count, 10);
        assert_eq!(p.card.extra, vec!["Nguyễn Văn Ba", "Trần Thị Mẹ", ""]);
    }

    #[test]
    fn tolerates_padding_and_normal_forms() {
        let padded = format!(
            "\u{FEFF}  001190001234 | 012345678 |  Nguyễn   Thị Hoà\t| 04051990 |Nữ\r|{} |15032021\r\n",
            "Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội"
        );
        assert_eq!(parse(&padded).unwrap(), sample());
        let nfd: String = SAMPLE.nfd().collect();
        assert_eq!(parse(&nfd).unwrap(), sample());
        let utf8_bom_as_cp1252 = format!("\u{EF}\u{BB}\u{BF}{SAMPLE}");
        assert_eq!(parse(&utf8_bom_as_cp1252).unwrap(), sample());
        assert_eq!(parse(&SAMPLE.replace("04051990", "04/05/1990")).unwrap(), sample());
    }

    #[test]
    fn repairs_legacy_encodings() {
        for enc in [Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii, Encoding::Utf8] {
            let bytes = encode_with(enc, SAMPLE).unwrap();
            for garbled in [decode_cp1252(&bytes), decode_latin1(&bytes)] {
                let p = parse_detailed(&garbled).unwrap_or_else(|e| panic!("{enc:?}: {e}\n{garbled}"));
                assert_eq!(p.card, sample(), "{enc:?}");
                assert_eq!(p.repaired_from, Some(enc));
            }
        }
        // Seen in the wild: TCVN3 read as Windows-1252.
        let tcvn = "001190001234||NguyÔn ThÞ Hoµ|04051990|N÷|Sè 1 phè Phan §×nh Phïng, Ph\u{AD}êng Ba §×nh, Thµnh phè Hµ Néi|15032021";
        let p = parse_detailed(tcvn).unwrap();
        assert_eq!(p.card.full_name, "Nguyễn Thị Hoà");
        assert_eq!(p.card.sex, Sex::Female);
        assert_eq!(p.card.address, "Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội");
    }

    #[test]
    fn names_the_field_that_failed() {
        let rule = |s: &str| parse(s).unwrap_err();
        let e = rule("");
        assert_eq!((e.field.as_str(), e.rule), ("payload", "qr.field_count"));
        assert_eq!(rule("001190001234|x|y").rule, "qr.field_count");
        assert_eq!(
            rule("001190001234|012345678|04051990|Nữ|Hà Nội|15032021").rule,
            "qr.field_count",
            "six fields with a CMND means another field is missing"
        );
        let e = rule(&SAMPLE.replace("001190001234", "003190001234"));
        assert_eq!((e.field.as_str(), e.rule), ("personal_id", "qr.personal_id"));
        assert!(e.message_en.contains("id.province"), "{}", e.message_en);
        assert_eq!(rule(&SAMPLE.replace("012345678", "01234567")).rule, "qr.cmnd");
        assert_eq!(rule(&SAMPLE.replace("04051990", "31021990")).rule, "qr.birth_date");
        assert_eq!(rule(&SAMPLE.replace("04051990", "0405199")).rule, "qr.birth_date");
        assert_eq!(rule(&SAMPLE.replace("15032021", "15132021")).rule, "qr.issue_date");
        assert_eq!(rule(&SAMPLE.replace("15032021", "15031980")).rule, "qr.issue_date");
        assert_eq!(rule(&SAMPLE.replace("|Nữ|", "|Khác|")).rule, "qr.sex");
        assert_eq!(rule(&SAMPLE.replace("|Nữ|", "|Nam|")).rule, "qr.id_mismatch");
        assert_eq!(rule(&SAMPLE.replace("04051990", "04051991")).rule, "qr.id_mismatch");
        assert_eq!(rule(&SAMPLE.replace("Nguyễn Thị Hoà", "")).rule, "qr.full_name");
        assert_eq!(rule(&SAMPLE.replace("Nguyễn Thị Hoà", "Nguyễn Thị 3")).rule, "qr.full_name");
        let e = rule(&SAMPLE.replace("Nguyễn Thị Hoà", "Nguy\u{FFFD}n Th\u{FFFD} Hoà"));
        assert_eq!((e.field.as_str(), e.rule), ("full_name", "qr.encoding"));
        let e = rule(&SAMPLE.replace("Phường Ba Đình", "Ph\u{FFFD}\u{FFFD}ng Ba \u{FFFD}\u{FFFD}nh"));
        assert_eq!((e.field.as_str(), e.rule), ("address", "qr.encoding"));
        assert_eq!(
            rule(&SAMPLE.replace("Số 1 phố Phan Đình Phùng, Phường Ba Đình, Thành phố Hà Nội", " ")).rule,
            "qr.address"
        );
    }

    #[test]
    fn lossy_sex_is_read_as_female() {
        assert_eq!(parse(&SAMPLE.replace("|Nữ|", "|N?|")).unwrap().sex, Sex::Female);
        assert_eq!(parse(&SAMPLE.replace("|Nữ|", "|NỮ|")).unwrap().sex, Sex::Female);
    }

    #[test]
    fn explains_in_both_languages() {
        let text =
            parse_detailed(&decode_cp1252(&encode_with(Encoding::Vni, SAMPLE).unwrap())).unwrap().explain();
        for needle in [
            "Số định danh cá nhân (personal ID): 001190001234",
            "Thành phố Hà Nội (001)",
            "Họ và tên (full name): Nguyễn Thị Hoà",
            "Ngày sinh (date of birth): 04/05/1990",
            "Giới tính (sex): Nữ (female)",
            "Số CMND cũ (old ID card number): 012345678",
            "Có giá trị đến (valid until, by the 14/25/40/60 rule): 04/05/2030",
            "VNI-Windows",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    // ----- property tests -----

    const FAMILY: [&str; 16] = [
        "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
        "Ngô", "Dương", "Lý",
    ];
    const MIDDLE: [&str; 12] =
        ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Kim", "Xuân"];
    const GIVEN: [&str; 24] = [
        "An", "Bình", "Cường", "Dũng", "Giang", "Hạnh", "Hoà", "Hòa", "Khánh", "Linh", "Mỹ", "Nga", "Oanh",
        "Phúc", "Quyên", "Sơn", "Tuấn", "Thuỷ", "Uyên", "Việt", "Yến", "Ánh", "Nghĩa", "Hồng",
    ];
    const PLACE: [&str; 16] = [
        "Ba Đình",
        "Trúc Bạch",
        "Bến Nghé",
        "Hải Châu",
        "Ninh Kiều",
        "Thủy Nguyên",
        "Cẩm Lệ",
        "Đông Hưng Thuận",
        "Tân Định",
        "Quỳnh Lưu",
        "Yên Thế",
        "Lạng Giang",
        "Nà Phặc",
        "Chợ Mới",
        "Phú Xuyên",
        "Ứng Hòa",
    ];

    fn name() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(FAMILY.to_vec()),
            proptest::collection::vec(proptest::sample::select(MIDDLE.to_vec()), 0..3),
            proptest::sample::select(GIVEN.to_vec()),
        )
            .prop_map(|(f, m, g)| {
                let mut parts = vec![f];
                parts.extend(m);
                parts.push(g);
                parts.join(" ")
            })
    }

    fn address() -> impl Strategy<Value = String> {
        (
            1u32..500,
            proptest::sample::select(vec!["Thôn", "Xóm", "Tổ", "Ấp", "Số"]),
            proptest::sample::select(vec!["Phường", "Xã", "Thị trấn"]),
            proptest::sample::select(PLACE.to_vec()),
            proptest::sample::select(vec!["Tỉnh", "Thành phố"]),
            proptest::sample::select(PLACE.to_vec()),
        )
            .prop_map(|(n, lead, commune_kind, commune, prov_kind, prov)| {
                format!("{lead} {n}, {commune_kind} {commune}, {prov_kind} {prov}")
            })
    }

    prop_compose! {
        fn card_qr()(
            prov in 0usize..63,
            female: bool,
            year in 1930i32..2008,
            month in 1u32..=12,
            day in 1u32..=28,
            serial in 0u32..1_000_000,
            cmnd in proptest::option::of("[0-9]{9}"),
            full_name in name(),
            address in address(),
            issue_offset in 14 * 366i64..18_000,
            extra in proptest::collection::vec(prop_oneof![name(), Just(String::new())], 0..3),
        ) -> CardQr {
            let sex = if female { Sex::Female } else { Sex::Male };
            let code = admin_units().provinces_legacy[prov].code.clone();
            let birth_date = d(year, month, day);
            let issue_date = (birth_date + chrono::Duration::days(issue_offset)).min(d(2024, 6, 30));
            CardQr {
                personal_id: PersonalId::compose(&code, sex, year, serial).unwrap(),
                cmnd: cmnd.map(|c| c.parse().unwrap()),
                full_name,
                birth_date,
                sex,
                address,
                issue_date,
                extra,
            }
        }
    }

    proptest! {
        #[test]
        fn generate_then_parse_is_identity(qr in card_qr()) {
            let payload = generate(&qr);
            prop_assert_eq!(parse(&payload).unwrap(), qr.clone());
            let nfd: String = payload.nfd().collect();
            prop_assert_eq!(parse(&nfd).unwrap(), qr.clone());
            let padded = format!("\u{FEFF}{}\r\n", payload.replace('|', " |\t"));
            prop_assert_eq!(parse(&padded).unwrap(), qr);
        }

        /// A payload that went through TCVN3, VNI, VISCII or UTF-8 and was read as Windows-1252
        /// or Latin-1 comes back as the NFC original.
        #[test]
        fn legacy_mojibake_is_recovered(qr in card_qr(), enc_i in 0usize..4, latin1: bool, nfd: bool) {
            let enc = [Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii, Encoding::Utf8][enc_i];
            let bytes = encode_with(enc, &generate(&qr)).unwrap();
            let mut garbled = if latin1 { decode_latin1(&bytes) } else { decode_cp1252(&bytes) };
            if nfd {
                garbled = garbled.nfd().collect();
            }
            let parsed = parse_detailed(&garbled);
            prop_assert!(parsed.is_ok(), "{:?}: {:?}\n{}", enc, parsed, garbled);
            let parsed = parsed.unwrap();
            prop_assert_eq!(parsed.card, qr);
            prop_assert_eq!(parsed.repaired_from, Some(enc));
        }

        /// The parser never panics, whatever it is fed.
        #[test]
        fn parse_never_panics(s in "\\PC{0,120}") {
            let _ = parse_detailed(&s);
        }

        #[test]
        fn parse_never_panics_on_field_soup(fields in proptest::collection::vec(
            prop_oneof!["[0-9]{0,13}", "\\PC{0,12}", "[0-9/]{8,10}", Just("Nữ".to_string()), Just("N?".to_string())],
            0..10,
        )) {
            let s = fields.join("|");
            if let Ok(p) = parse_detailed(&s) {
                // Whatever parses re-generates to something that parses to the same card.
                prop_assert_eq!(parse(&generate(&p.card)).unwrap(), p.card);
            }
        }
    }
}
