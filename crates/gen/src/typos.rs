//! The ways Vietnamese text goes wrong on its way into a list: marks dropped, NFD, legacy
//! 8-bit encodings read back as Windows-1252 or Latin-1, Telex keystrokes left in the text,
//! keyboard typos. Each function returns `None` when it cannot change the text.

use dancu_identity::legacy::{decode_cp1252, decode_latin1, encode_with, Encoding};
use rand::seq::SliceRandom;
use rand::Rng;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Without tone and vowel marks, `đ` → `d` (case kept): "Nguyen Van Dung".
pub(crate) fn drop_marks(s: &str) -> String {
    s.nfd()
        .filter(|&c| !is_combining_mark(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect()
}

/// Decomposed Unicode (what macOS file names and some web forms produce).
pub(crate) fn nfd(s: &str) -> String {
    s.nfd().collect()
}

/// A legacy encoding and the Western code page its bytes were read back with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mojibake {
    encodings: [Encoding; 3],
    latin1: bool,
}

impl Mojibake {
    /// A random legacy encoding (tried first; the others are fall-backs for text it cannot
    /// hold) read back as Windows-1252 (mostly) or Latin-1.
    pub(crate) fn random<R: Rng>(rng: &mut R) -> Self {
        let mut encodings = [Encoding::Tcvn3, Encoding::Vni, Encoding::Viscii];
        encodings.shuffle(rng);
        Mojibake { encodings, latin1: rng.gen_bool(0.25) }
    }

    /// The text as a Western program shows it after a legacy Vietnamese program wrote it;
    /// `None` if no legacy encoding holds it without control bytes, or nothing changes.
    pub(crate) fn apply(&self, s: &str) -> Option<String> {
        let bytes = self
            .encodings
            .iter()
            .filter_map(|&e| encode_with(e, s))
            .find(|b| b.iter().all(|&b| b >= 0x20 || b == b'\t'))?;
        if bytes.is_ascii() {
            return None;
        }
        Some(if self.latin1 { decode_latin1(&bytes) } else { decode_cp1252(&bytes) })
    }
}

/// The tone keys of Telex, by combining mark.
fn telex_tone(mark: char) -> Option<char> {
    Some(match mark {
        '\u{301}' => 's',
        '\u{300}' => 'f',
        '\u{309}' => 'r',
        '\u{303}' => 'x',
        '\u{323}' => 'j',
        _ => return None,
    })
}

/// One word as typed in Telex with the input method switched off: `Nguyễn` → `Nguyeenx`,
/// `Đinh` → `Ddinh`, `Thơ` → `Thow`. With `only_d`, only `đ` becomes `dd` (the input method
/// missed one keystroke) and the other marks stay.
pub(crate) fn telex_word(word: &str, only_d: bool) -> Option<String> {
    let mut out = String::with_capacity(word.len() + 4);
    let mut tone = None;
    let mut changed = false;
    for c in word.chars() {
        match c {
            'đ' | 'Đ' => {
                out.push(if c == 'đ' { 'd' } else { 'D' });
                out.push('d');
                changed = true;
            }
            c if only_d || c.is_ascii() => out.push(c),
            c => {
                let mut base = None;
                for d in std::iter::once(c).nfd() {
                    match d {
                        '\u{302}' => {
                            // circumflex: the vowel typed twice
                            if let Some(b) = base {
                                out.push(char::to_ascii_lowercase(&b));
                            }
                        }
                        '\u{306}' | '\u{31B}' => out.push('w'),
                        m if is_combining_mark(m) => tone = telex_tone(m).or(tone),
                        b => {
                            out.push(b);
                            base = Some(b);
                        }
                    }
                }
                changed = true;
            }
        }
    }
    if let Some(t) = tone {
        out.push(t);
    }
    changed.then_some(out)
}

/// QWERTY neighbours of each lower-case letter.
fn neighbours(c: char) -> &'static str {
    match c {
        'a' => "qwsz",
        'b' => "vghn",
        'c' => "xdfv",
        'd' => "serfcx",
        'e' => "wsdr",
        'f' => "drtgvc",
        'g' => "ftyhbv",
        'h' => "gyujnb",
        'i' => "ujko",
        'j' => "huikmn",
        'k' => "jiolm",
        'l' => "kop",
        'm' => "njk",
        'n' => "bhjm",
        'o' => "iklp",
        'p' => "ol",
        'q' => "wa",
        'r' => "edft",
        's' => "awedxz",
        't' => "rfgy",
        'u' => "yhji",
        'v' => "cfgb",
        'w' => "qase",
        'x' => "zsdc",
        'y' => "tghu",
        'z' => "asx",
        _ => "",
    }
}

/// One keyboard slip in a word: a neighbouring key, two letters swapped, a letter typed
/// twice or left out. Works on letters of any script; the neighbour key only on ASCII ones.
/// `None` only for a word of fewer than two letters.
pub(crate) fn typo<R: Rng>(rng: &mut R, word: &str) -> Option<String> {
    let mut chars: Vec<char> = word.chars().collect();
    let n = chars.len();
    if n < 2 {
        return None;
    }
    for _ in 0..4 {
        let i = rng.gen_range(0..n);
        match rng.gen_range(0..4) {
            0 => {
                let c = chars[i];
                let near = neighbours(c.to_ascii_lowercase());
                if near.is_empty() {
                    continue;
                }
                let k = near.as_bytes()[rng.gen_range(0..near.len())] as char;
                chars[i] = if c.is_uppercase() { k.to_ascii_uppercase() } else { k };
            }
            1 => {
                // Swap with the next letter (the first letter keeps its capital).
                if i + 1 >= n || chars[i] == chars[i + 1] || i == 0 && chars[0].is_uppercase() {
                    continue;
                }
                chars.swap(i, i + 1);
            }
            2 => {
                let c = chars[i].to_lowercase().next().unwrap_or(chars[i]);
                chars.insert(i + 1, c);
            }
            _ => {
                if i == 0 || n < 3 {
                    continue;
                }
                chars.remove(i);
            }
        }
        return Some(chars.into_iter().collect());
    }
    // Nothing else fitted: a letter typed twice always does.
    let i = rng.gen_range(0..n);
    let c = chars[i].to_lowercase().next().unwrap_or(chars[i]);
    chars.insert(i + 1, c);
    Some(chars.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn marks_nfd_and_telex() {
        assert_eq!(drop_marks("Đặng Thị Ngọc Ánh"), "Dang Thi Ngoc Anh");
        assert_ne!(nfd("Nguyễn"), "Nguyễn");
        assert_eq!(nfd("Nguyễn").nfc().collect::<String>(), "Nguyễn");
        assert_eq!(telex_word("Nguyễn", false).unwrap(), "Nguyeenx");
        assert_eq!(telex_word("Đinh", false).unwrap(), "Ddinh");
        assert_eq!(telex_word("Đặng", true).unwrap(), "Ddặng");
        assert_eq!(telex_word("Thơ", false).unwrap(), "Thow");
        assert_eq!(telex_word("Trường", false).unwrap(), "Truwowngf");
        assert_eq!(telex_word("Ân", false).unwrap(), "Aan");
        assert_eq!(telex_word("Lan", false), None);
    }

    #[test]
    fn mojibake_reads_back() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..20 {
            let m = Mojibake::random(&mut rng);
            let s = m.apply("Nguyễn Văn Đức").unwrap();
            assert_ne!(s, "Nguyễn Văn Đức");
            assert!(!s.chars().any(|c| c < ' '), "{s:?}");
            let bytes = dancu_identity::legacy::recover_bytes(&s).unwrap();
            assert!(bytes.len() >= "Nguyen Van Duc".len());
        }
        assert!(Mojibake::random(&mut rng).apply("Lan").is_none());
    }

    #[test]
    fn typos_change_the_word() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..200 {
            let t = typo(&mut rng, "Hương").unwrap();
            assert_ne!(t, "");
            assert!(t.chars().count().abs_diff(5) <= 1, "{t}");
        }
        assert_eq!(typo(&mut rng, "A"), None);
    }
}
