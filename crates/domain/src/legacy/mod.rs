//! Legacy 8-bit Vietnamese encodings (TCVN3/ABC, VNI-Windows, VISCII) and the repair of text
//! that went through one of them and was read back as Windows-1252 or Latin-1: the
//! "lỗi phông chữ" of the seeds (`NguyÔn V¨n A`, `Nguyeãn Vaên A`, `Nguy­n Vån A`), and UTF-8
//! read as Windows-1252 (`Nguyá»…n`).
//!
//! Decoders are total (every byte means something) and return NFC. Encoders refuse a character
//! the encoding cannot hold. [`repair`] only changes text that looks broken and whose repaired
//! form reads as Vietnamese; see docs/IDENTITY.md for the method and its limits.

mod syllable;
mod tables;

use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use tables::{CP1252_C1, TCVN_C0, TCVN_HIGH, VISCII_C0, VISCII_HIGH, VNI};

/// An encoding the repair can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// TCVN 5712:1993 (TCVN3 / ABC fonts `.VnTime`; VN1 table).
    Tcvn3,
    /// VNI-Windows (fonts `VNI-Times`).
    Vni,
    /// VISCII (RFC 1456).
    Viscii,
    /// UTF-8 bytes read as Windows-1252.
    Utf8,
}

impl Encoding {
    pub fn code(self) -> &'static str {
        match self {
            Encoding::Tcvn3 => "tcvn3",
            Encoding::Vni => "vni",
            Encoding::Viscii => "viscii",
            Encoding::Utf8 => "utf8",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Tcvn3 => "TCVN3 (ABC)",
            Encoding::Vni => "VNI-Windows",
            Encoding::Viscii => "VISCII",
            Encoding::Utf8 => "UTF-8",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Decoders and encoders
// ---------------------------------------------------------------------------------------------

fn c0_lookup(table: &[(u8, char)], b: u8) -> char {
    table.iter().find(|(x, _)| *x == b).map_or(b as char, |(_, c)| *c)
}

/// Decodes VISCII bytes.
pub fn decode_viscii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| if b >= 0x80 { VISCII_HIGH[usize::from(b - 0x80)] } else { c0_lookup(&VISCII_C0, b) })
        .collect()
}

/// Decodes TCVN 5712:1993 bytes (TCVN3 / ABC is its VN3 subset). The combining tone marks at
/// 0xB0–0xB4 are composed with the letter before them.
pub fn decode_tcvn3(bytes: &[u8]) -> String {
    let raw: String = bytes
        .iter()
        .map(|&b| if b >= 0x80 { TCVN_HIGH[usize::from(b - 0x80)] } else { c0_lookup(&TCVN_C0, b) })
        .collect();
    raw.nfc().collect()
}

static VNI_DECODE: LazyLock<HashMap<&'static [u8], char>> =
    LazyLock::new(|| VNI.iter().map(|&(c, b)| (b, c)).collect());
static VNI_ENCODE: LazyLock<HashMap<char, &'static [u8]>> = LazyLock::new(|| VNI.iter().copied().collect());

/// Decodes VNI-Windows bytes: a base letter followed by a diacritic byte becomes one letter
/// (a diacritic byte of the other case is accepted too); bytes outside the VNI table keep their
/// Windows-1252 meaning.
pub fn decode_vni(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 1 < bytes.len() {
            let pair = [bytes[i], bytes[i + 1]];
            let swapped = [bytes[i], bytes[i + 1] ^ 0x20];
            let hit = VNI_DECODE
                .get(&pair[..])
                .or_else(|| (bytes[i + 1] >= 0xC0).then(|| VNI_DECODE.get(&swapped[..])).flatten());
            if let Some(&c) = hit {
                out.push(c);
                i += 2;
                continue;
            }
        }
        match VNI_DECODE.get(&bytes[i..=i]) {
            Some(&c) => out.push(c),
            None => out.push(cp1252_char(bytes[i])),
        }
        i += 1;
    }
    out.nfc().collect()
}

static VISCII_ENCODE: LazyLock<HashMap<char, u8>> = LazyLock::new(|| {
    let high = VISCII_HIGH.iter().enumerate().map(|(i, &c)| (c, 0x80 + i as u8));
    high.chain(VISCII_C0.iter().map(|&(b, c)| (c, b))).collect()
});
static TCVN_ENCODE: LazyLock<HashMap<char, u8>> = LazyLock::new(|| {
    let high = TCVN_HIGH.iter().enumerate().map(|(i, &c)| (c, 0x80 + i as u8));
    high.chain(TCVN_C0.iter().map(|&(b, c)| (c, b))).collect()
});

/// Printable ASCII plus tab, CR and LF: the ASCII every encoding here carries unchanged.
fn plain_ascii(c: char) -> bool {
    c == '\t' || c == '\n' || c == '\r' || (' '..='~').contains(&c)
}

fn encode_single(s: &str, map: &HashMap<char, u8>) -> Option<Vec<u8>> {
    s.nfc().map(|c| if plain_ascii(c) { Some(c as u8) } else { map.get(&c).copied() }).collect()
}

/// Encodes NFC text as VISCII; `None` if a character has no VISCII byte.
pub fn encode_viscii(s: &str) -> Option<Vec<u8>> {
    encode_single(s, &VISCII_ENCODE)
}

/// Encodes text as TCVN 5712:1993 VN1 (uppercase toned letters use the VN1 positions, which
/// the VN3 `.VnTime` fonts do not have); `None` if a character has no byte.
pub fn encode_tcvn3(s: &str) -> Option<Vec<u8>> {
    encode_single(s, &TCVN_ENCODE)
}

/// Encodes text as VNI-Windows; `None` if a character has no VNI form.
pub fn encode_vni(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 2);
    for c in s.nfc() {
        if plain_ascii(c) {
            out.push(c as u8);
        } else {
            out.extend_from_slice(VNI_ENCODE.get(&c)?);
        }
    }
    Some(out)
}

fn cp1252_char(b: u8) -> char {
    match b {
        0x80..=0x9F => CP1252_C1[usize::from(b - 0x80)],
        _ => b as char,
    }
}

/// Reads bytes as Windows-1252 (WHATWG): what a Western-European Windows program shows.
pub fn decode_cp1252(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| cp1252_char(b)).collect()
}

/// Reads bytes as ISO-8859-1 (Latin-1).
pub fn decode_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

static CP1252_REVERSE: LazyLock<HashMap<char, u8>> =
    LazyLock::new(|| CP1252_C1.iter().enumerate().map(|(i, &c)| (c, 0x80 + i as u8)).collect());

/// The bytes a string was read from, if it reads as Windows-1252 or Latin-1 (the two agree
/// except on 0x80–0x9F, and either reading is accepted there). `None` when a character has
/// no such byte, i.e. the text is real Unicode. The input is put in NFC first, so NFD
/// mojibake comes back too.
pub fn recover_bytes(s: &str) -> Option<Vec<u8>> {
    s.nfc()
        .map(|c| match u32::from(c) {
            n @ 0..=0xFF => Some(n as u8),
            _ => CP1252_REVERSE.get(&c).copied(),
        })
        .collect()
}

fn decode_with(enc: Encoding, bytes: &[u8]) -> Option<String> {
    Some(match enc {
        Encoding::Tcvn3 => decode_tcvn3(bytes),
        Encoding::Vni => decode_vni(bytes),
        Encoding::Viscii => decode_viscii(bytes),
        Encoding::Utf8 => String::from_utf8(bytes.to_vec()).ok()?.nfc().collect(),
    })
}

/// Encodes with `enc` (UTF-8 always succeeds).
pub fn encode_with(enc: Encoding, s: &str) -> Option<Vec<u8>> {
    match enc {
        Encoding::Tcvn3 => encode_tcvn3(s),
        Encoding::Vni => encode_vni(s),
        Encoding::Viscii => encode_viscii(s),
        Encoding::Utf8 => Some(s.nfc().collect::<String>().into_bytes()),
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring: how Vietnamese does a text look?
// ---------------------------------------------------------------------------------------------

static VIETNAMESE_LETTERS: LazyLock<HashSet<char>> = LazyLock::new(|| VNI.iter().map(|&(c, _)| c).collect());

/// A letter of the Vietnamese alphabet (ASCII letters count: loan words and abbreviations).
pub fn is_vietnamese_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || VIETNAMESE_LETTERS.contains(&c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Letter,
    /// ASCII digits and punctuation, whitespace.
    Neutral,
    /// Typographic punctuation a Windows-1252 text may hold for real, and the no-break space.
    Typographic,
    /// Control characters, U+FFFD, stray combining marks.
    Broken,
    /// Anything else: symbols and letters outside the Vietnamese alphabet.
    Foreign,
}

fn classify(c: char) -> CharClass {
    if is_vietnamese_letter(c) {
        CharClass::Letter
    } else if matches!(c, '–' | '—' | '‘' | '’' | '“' | '”' | '…' | '•' | '\u{A0}') {
        // The no-break space is mostly the second byte of a UTF-8 "à" (C3 A0) read as Latin-1.
        CharClass::Typographic
    } else if c == '\t'
        || c == '\n'
        || c == '\r'
        || (' '..='~').contains(&c)
        || (c.is_whitespace() && c != '\u{85}')
    {
        CharClass::Neutral
    } else if c.is_control() || c == '\u{FFFD}' || is_combining_mark(c) {
        CharClass::Broken
    } else {
        CharClass::Foreign
    }
}

/// Characters that make a name or address unreadable: controls, U+FFFD, stray combining marks,
/// and symbols or letters outside the Vietnamese alphabet.
pub fn is_garbled_char(c: char) -> bool {
    matches!(classify(c), CharClass::Broken | CharClass::Foreign)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Score {
    total: i32,
    bad_chars: u32,
    valid_words: u32,
    invalid_words: u32,
    oddities: u32,
}

impl Score {
    fn suspicious(&self) -> bool {
        self.bad_chars > 0 || self.invalid_words > 0 || self.oddities > 0
    }
    /// A candidate repair must read as clean Vietnamese.
    fn acceptable(&self) -> bool {
        self.bad_chars == 0 && self.valid_words > self.invalid_words
    }
}

fn score(text: &str) -> Score {
    let mut s = Score::default();
    for c in text.chars() {
        match classify(c) {
            CharClass::Letter | CharClass::Neutral => {}
            CharClass::Typographic => {
                s.total -= 1;
                s.oddities += 1;
            }
            CharClass::Broken => {
                s.total -= 6;
                s.bad_chars += 1;
            }
            CharClass::Foreign => {
                s.total -= 4;
                s.bad_chars += 1;
            }
        }
    }
    let is_separator = |c: char| matches!(classify(c), CharClass::Neutral | CharClass::Typographic);
    for word in text.split(is_separator).filter(|w| !w.is_empty()) {
        let ascii = word.is_ascii();
        if syllable::is_syllable(word) {
            s.total += if ascii { 1 } else { 3 };
            if syllable::is_common(word) {
                s.total += 2;
            }
            if !ascii {
                s.valid_words += 1;
            }
        } else if !ascii {
            s.total -= 3;
            s.invalid_words += 1;
        }
        if mixed_case(word) {
            s.total -= 2;
            s.oddities += 1;
        }
    }
    s
}

/// A capital letter after a small one inside a word (`NguyÔn`).
fn mixed_case(word: &str) -> bool {
    let mut seen_lower = false;
    for c in word.chars() {
        if c.is_lowercase() {
            seen_lower = true;
        } else if c.is_uppercase() && seen_lower {
            return true;
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Repair
// ---------------------------------------------------------------------------------------------

/// The result of a repair: the NFC text and the encoding that was undone, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    pub text: String,
    pub from: Option<Encoding>,
}

/// Repairs one string: NFC, and mojibake undone when detected. Whitespace is kept as it is.
pub fn repair(s: &str) -> String {
    repair_detailed(s).text
}

/// [`repair`] telling which encoding was undone.
pub fn repair_detailed(s: &str) -> Repaired {
    let (mut texts, from) = repair_fields(&[s]);
    Repaired { text: texts.pop().unwrap_or_default(), from }
}

/// Repairs several fields that travelled together (the text fields of one QR payload): one
/// encoding is chosen for all of them, which is far more reliable than a choice per field
/// (`Hồng` in VNI read as Windows-1252 is `Hoàng`, a valid name on its own). Fields that hold
/// real Unicode (characters outside Windows-1252) are left as they are.
pub fn repair_fields(fields: &[&str]) -> (Vec<String>, Option<Encoding>) {
    let originals: Vec<String> = fields.iter().map(|f| f.nfc().collect()).collect();
    // The fields that take part: those with something outside plain ASCII that maps to bytes.
    let bytes: Vec<Option<Vec<u8>>> =
        originals.iter().map(|f| if f.chars().all(plain_ascii) { None } else { recover_bytes(f) }).collect();
    if bytes.iter().all(Option::is_none) {
        return (originals, None);
    }
    let joined = |texts: &[String]| {
        let parts: Vec<&str> =
            texts.iter().zip(&bytes).filter(|(_, b)| b.is_some()).map(|(t, _)| t.as_str()).collect();
        parts.join("\n")
    };
    let original_score = score(&joined(&originals));
    if !original_score.suspicious() {
        return (originals, None);
    }
    // Ties between candidates go to the one that changed fewer characters (VISCII keeps the
    // Latin-1 Vietnamese letters where they are, so its mojibake is mostly unchanged text).
    let changed = |decoded: &[String]| -> usize {
        decoded
            .iter()
            .zip(&originals)
            .map(|(d, o)| d.chars().zip(o.chars()).filter(|(a, b)| a != b).count())
            .sum()
    };
    let mut best: Option<(Score, usize, Encoding, Vec<String>)> = None;
    'enc: for enc in [Encoding::Utf8, Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii] {
        let mut decoded = originals.clone();
        for (text, b) in decoded.iter_mut().zip(&bytes) {
            if let Some(b) = b {
                match decode_with(enc, b) {
                    Some(t) => *text = t,
                    None => continue 'enc,
                }
            }
        }
        let sc = score(&joined(&decoded));
        let ch = changed(&decoded);
        let better = |b: &(Score, usize, Encoding, Vec<String>)| {
            (sc.total, std::cmp::Reverse(ch)) > (b.0.total, std::cmp::Reverse(b.1))
        };
        if sc.acceptable() && sc.total > original_score.total && best.as_ref().is_none_or(better) {
            best = Some((sc, ch, enc, decoded));
        }
    }
    match best {
        Some((_, _, enc, decoded)) => (decoded, Some(enc)),
        None => (originals, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tables_are_complete_and_consistent() {
        // 67 letters in each case outside ASCII: 12 vowels × 6 forms − 6 plain vowels, plus đ.
        assert_eq!(VIETNAMESE_LETTERS.len(), 134);
        for &c in VIETNAMESE_LETTERS.iter() {
            let s = c.to_string();
            for enc in [Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii] {
                let b = encode_with(enc, &s).unwrap_or_else(|| panic!("{c} not encodable in {enc:?}"));
                assert_eq!(decode_with(enc, &b).unwrap(), s, "{c} in {enc:?}");
            }
        }
        // Every byte decodes to something, distinct bytes to distinct characters (VISCII).
        let all: Vec<u8> = (0..=255).collect();
        let v: HashSet<char> = decode_viscii(&all).chars().collect();
        assert_eq!(v.len(), 256);
    }

    #[test]
    fn known_byte_values() {
        // Classic TCVN3 mojibake: "Cộng hoà xã hội chủ nghĩa Việt Nam".
        let tcvn = encode_tcvn3("Cộng hoà xã hội chủ nghĩa Việt Nam").unwrap();
        assert_eq!(decode_cp1252(&tcvn), "Céng hoµ x· héi chñ nghÜa ViÖt Nam");
        assert_eq!(decode_tcvn3(b"\xA7\xB5 N\xBDng"), "Đà Nẵng");
        // Combining tone marks of TCVN compose.
        assert_eq!(decode_tcvn3(b"a\xB3"), "á");
        // VNI.
        assert_eq!(decode_cp1252(&encode_vni("Nguyễn Văn Ánh").unwrap()), "Nguyeãn Vaên AÙnh");
        assert_eq!(decode_vni(b"Ho\xE0 Ch\xED Minh"), "Hồ Chí Minh");
        assert_eq!(decode_vni(b"\xD1a\xF8 N\xE6ng"), "Đà Nỉng");
        assert_eq!(decode_vni(b"Aa\xD9"), "Aá"); // diacritic byte of the other case
                                                 // VISCII (RFC 1456).
        assert_eq!(encode_viscii("ạ").unwrap(), vec![0xD5]);
        assert_eq!(encode_viscii("Ỵ").unwrap(), vec![0x1E]);
        assert_eq!(decode_viscii(b"Vi\xAEt Nam"), "Việt Nam");
        // Characters an encoding cannot hold.
        assert_eq!(encode_vni("日本"), None);
        assert_eq!(encode_tcvn3("\u{1}"), None);
    }

    #[test]
    fn recover_bytes_inverts_both_readings() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(recover_bytes(&decode_cp1252(&bytes)).unwrap(), bytes);
        assert_eq!(recover_bytes(&decode_latin1(&bytes)).unwrap(), bytes);
        assert_eq!(recover_bytes("Nguyễn"), None);
    }

    #[test]
    fn repairs_each_encoding() {
        let cases = [
            ("NguyÔn V¨n ¸nh", Encoding::Tcvn3, "Nguyễn Văn ánh"),
            ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", Encoding::Tcvn3, "Cộng hoà xã hội chủ nghĩa Việt Nam"),
            ("Nguyeãn Vaên AÙnh", Encoding::Vni, "Nguyễn Văn Ánh"),
            ("Phöôøng Truùc Baïch", Encoding::Vni, "Phường Trúc Bạch"),
        ];
        for (broken, enc, good) in cases {
            let r = repair_detailed(broken);
            assert_eq!((r.text.as_str(), r.from), (good, Some(enc)), "{broken}");
        }
        let utf8 = decode_cp1252("Nguyễn Văn Ánh".as_bytes());
        assert_eq!(utf8, "Nguyá»…n VÄƒn \u{C3}\u{81}nh");
        assert_eq!(
            repair_detailed(&utf8),
            Repaired { text: "Nguyễn Văn Ánh".into(), from: Some(Encoding::Utf8) }
        );
        let viscii = decode_cp1252(&encode_viscii("Trần Thị Hạnh, Phường Bến Nghé").unwrap());
        assert_eq!(repair_detailed(&viscii).from, Some(Encoding::Viscii), "{viscii}");
        assert_eq!(repair(&viscii), "Trần Thị Hạnh, Phường Bến Nghé");
    }

    #[test]
    fn leaves_good_text_alone() {
        for good in [
            "Nguyễn Văn An",
            "Cà Mau",
            "Tô Lan",
            "Bùi Thị Ánh",
            "Số 12, ngõ 34/5 đường Láng",
            "H'Hen Niê",
            "Y Moan Ênuôl",
            "John Smith",
            "Müller",
            "",
        ] {
            assert_eq!(repair_detailed(good), Repaired { text: good.into(), from: None }, "{good}");
        }
        // NFD in, NFC out.
        let nfd: String = "Nguyễn Thị Hoà".nfd().collect();
        assert_eq!(repair(&nfd), "Nguyễn Thị Hoà");
    }

    #[test]
    fn joint_repair_uses_every_field() {
        // "Hồ Thị Hồng" in VNI reads "Hoà Thò Hoàng" in Windows-1252: three valid syllables,
        // so alone it is left as it is.
        let name = decode_cp1252(&encode_vni("Hồ Thị Hồng").unwrap());
        assert_eq!(name, "Hoà Thò Hoàng");
        assert_eq!(repair_detailed(&name), Repaired { text: name.clone(), from: None });
        let sex = decode_cp1252(&encode_vni("Nữ").unwrap());
        let addr = decode_cp1252(&encode_vni("Phường Đông Hưng Thuận").unwrap());
        let (fixed, enc) = repair_fields(&[&name, &sex, &addr]);
        assert_eq!(enc, Some(Encoding::Vni));
        assert_eq!(fixed, vec!["Hồ Thị Hồng", "Nữ", "Phường Đông Hưng Thuận"]);
    }

    /// Name-only repair over 7,800 names (20 family × 13 middle × 30 given names): how often a
    /// name alone, without the other fields of a payload, is recovered. The misses are names
    /// whose garbled form is itself valid Vietnamese (VNI "Sơn" reads "Sôn"; TCVN3 "Dũng" reads
    /// "Dòng"); the VISCII misreads are ties with an equally plausible TCVN3 reading.
    #[test]
    fn single_field_recovery_rates() {
        let family = [
            "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
            "Ngô", "Dương", "Lý", "Tô", "Hà", "Mai", "Lâm",
        ];
        let middle = [
            "Văn", "Hữu", "Đức", "Minh", "Quang", "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Kim", "Xuân", "",
        ];
        let given = [
            "An", "Bình", "Cường", "Dũng", "Giang", "Hạnh", "Hoà", "Hòa", "Khánh", "Linh", "Mỹ", "Nga",
            "Oanh", "Phúc", "Quyên", "Sơn", "Tuấn", "Thuỷ", "Uyên", "Việt", "Yến", "Ánh", "Nghĩa", "Hồng",
            "Lan", "Hà", "Tâm", "Trí", "Hiếu", "Thảo",
        ];
        // (encoding, minimum recovered, maximum wrongly repaired) out of 7,800.
        for (enc, min_ok, max_wrong) in [
            (Encoding::Tcvn3, 7700, 0),
            (Encoding::Vni, 7600, 0),
            (Encoding::Viscii, 7750, 30),
            (Encoding::Utf8, 7800, 0),
        ] {
            let (mut ok, mut wrong) = (0, 0);
            for f in family {
                for m in middle {
                    for g in given {
                        let name =
                            [f, m, g].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
                        let garbled = decode_cp1252(&encode_with(enc, &name).unwrap());
                        let r = repair_detailed(&garbled);
                        if r.text == name {
                            ok += 1;
                        } else if r.from.is_some() {
                            wrong += 1;
                        }
                    }
                }
            }
            assert!(ok >= min_ok && wrong <= max_wrong, "{enc:?}: {ok} recovered, {wrong} wrongly repaired");
        }
    }

    fn vietnamese_text() -> impl Strategy<Value = String> {
        let words = proptest::sample::select(vec![
            "Nguyễn",
            "Trần",
            "Lê",
            "Phạm",
            "Hoàng",
            "Huỳnh",
            "Vũ",
            "Đặng",
            "Bùi",
            "Đỗ",
            "Hồ",
            "Ngô",
            "Dương",
            "Văn",
            "Thị",
            "Hữu",
            "Đức",
            "Ngọc",
            "Thu",
            "Phương",
            "Kim",
            "Xuân",
            "Quốc",
            "An",
            "Bình",
            "Cường",
            "Dũng",
            "Giang",
            "Hạnh",
            "Khánh",
            "Linh",
            "Mỹ",
            "Nga",
            "Oanh",
            "Phúc",
            "Quyên",
            "Sơn",
            "Tuấn",
            "Uyên",
            "Việt",
            "Yến",
            "Ánh",
            "Thuỷ",
            "Hoà",
            "Nghĩa",
            "Phường",
            "Xã",
            "Tỉnh",
            "Huyện",
            "Quận",
            "Thành",
            "phố",
            "Hà",
            "Nội",
            "Đà",
            "Nẵng",
            "Cần",
            "Thơ",
            "Bắc",
            "Giang",
            "thôn",
            "ấp",
            "số",
        ]);
        proptest::collection::vec(words, 1..6).prop_map(|w| w.join(" "))
    }

    proptest! {
        /// Real Vietnamese is never "repaired".
        #[test]
        fn good_text_is_untouched(s in vietnamese_text()) {
            prop_assert_eq!(repair_detailed(&s), Repaired { text: s.clone(), from: None });
        }

        /// Encode → decode is the identity for every legacy encoding.
        #[test]
        fn legacy_round_trip(s in vietnamese_text()) {
            for enc in [Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii] {
                let b = encode_with(enc, &s).unwrap();
                prop_assert_eq!(decode_with(enc, &b).unwrap(), s.clone());
            }
        }

        /// Decoders and the repair never panic and always give NFC.
        #[test]
        fn total_on_arbitrary_input(bytes in proptest::collection::vec(any::<u8>(), 0..40), s in "\\PC{0,30}") {
            for enc in [Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii] {
                let t = decode_with(enc, &bytes).unwrap();
                prop_assert!(unicode_normalization::is_nfc(&t));
            }
            let r = repair(&s);
            prop_assert!(unicode_normalization::is_nfc(&r));
            let r = repair(&decode_cp1252(&bytes));
            prop_assert!(unicode_normalization::is_nfc(&r));
        }
    }
}
