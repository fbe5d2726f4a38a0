//! Writing numbers and CSV fields into a byte buffer without allocating.

/// Appends `n` in decimal.
pub(crate) fn push_u32(out: &mut Vec<u8>, n: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` zero-padded to `width` digits (`n` must fit).
pub(crate) fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut n = n;
    for d in buf[..width].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    debug_assert_eq!(n, 0, "number wider than {width} digits");
    out.extend_from_slice(&buf[..width]);
}

/// Appends a text field, quoted (RFC 4180) only if it holds a comma, quote or line break.
pub(crate) fn push_field(out: &mut Vec<u8>, s: &[u8]) {
    if s.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in s {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let mut v = Vec::new();
        push_u32(&mut v, 0);
        v.push(b' ');
        push_u32(&mut v, 4_294_967_295);
        v.push(b' ');
        push_padded(&mut v, 42, 5);
        v.push(b' ');
        push_field(&mut v, b"a,\"b\"");
        v.push(b' ');
        push_field(&mut v, b"plain");
        assert_eq!(String::from_utf8(v).unwrap(), "0 4294967295 00042 \"a,\"\"b\"\"\" plain");
    }
}
