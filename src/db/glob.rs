//! Redis's glob patterns (`KEYS`, `SCAN ... MATCH`): `*`, `?`, `[abc]`, `[^a-z]`, `\x`,
//! matched byte by byte as `stringmatchlen` does (sans-io).

/// Whether `s` matches `pat`.
pub fn matches(pat: &[u8], s: &[u8]) -> bool {
    glob(pat, s, 0)
}

fn glob(mut p: &[u8], mut s: &[u8], depth: u32) -> bool {
    // Redis bounds its recursion too; a pattern deeper than this simply does not match.
    if depth > 1000 {
        return false;
    }
    while let Some(&c) = p.first() {
        match c {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if glob(&p[1..], &s[i..], depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
                p = &p[1..];
            }
            b'[' => {
                let Some(&ch) = s.first() else { return false };
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut hit = false;
                loop {
                    match p {
                        [] => break,
                        [b'\\', x, ..] => {
                            if *x == ch {
                                hit = true;
                            }
                            p = &p[2..];
                        }
                        [b']', ..] => break,
                        [a, b'-', b, ..] if *b != b']' => {
                            let (lo, hi) = if a <= b { (*a, *b) } else { (*b, *a) };
                            if (lo..=hi).contains(&ch) {
                                hit = true;
                            }
                            p = &p[3..];
                        }
                        [a, ..] => {
                            if *a == ch {
                                hit = true;
                            }
                            p = &p[1..];
                        }
                    }
                }
                if hit == not {
                    return false;
                }
                s = &s[1..];
                if !p.is_empty() {
                    p = &p[1..]; // the ']'
                }
            }
            b'\\' if p.len() >= 2 => {
                if s.first() != Some(&p[1]) {
                    return false;
                }
                s = &s[1..];
                p = &p[2..];
            }
            _ => {
                if s.first() != Some(&c) {
                    return false;
                }
                s = &s[1..];
                p = &p[1..];
            }
        }
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn patterns_as_redis() {
        assert!(matches(b"*", b""));
        assert!(matches(b"k*", b"key"));
        assert!(matches(b"k?y", b"key"));
        assert!(!matches(b"k?y", b"ky"));
        assert!(matches(b"h[ae]llo", b"hello"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"a\\*", b"a*"));
        assert!(!matches(b"a\\*", b"ab"));
        assert!(matches(b"*:1*", b"user:12"));
    }
}
