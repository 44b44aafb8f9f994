//! Redis's glob patterns (`KEYS`, `SCAN ... MATCH`): `*`, `?`, `[abc]`, `[^a-z]`, `\x`,
//! matched byte by byte with the semantics of Redis's `stringmatchlen` (sans-io).
//!
//! The matcher never recurses and keeps one backtrack point: the last `*` seen and the string
//! position it was tried at. Every other token consumes exactly one byte, so a later `*` can
//! absorb whatever an earlier one would have, and retrying only the last star is complete.
//! That makes a match O(pattern x string) whatever the pattern: `a*a*a*...*b` with 20 stars
//! used to cost about 4x per star (12 minutes of a frozen node for one `KEYS`; the cause of
//! Redis's CVE-2022-36021).

/// Whether `s` matches `pat`.
pub fn matches(pat: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // After a mismatch, resume the pattern just after the last star, one byte further on in
    // the string than that star was last tried at.
    let mut retry: Option<(usize, usize)> = None;
    loop {
        if pat.get(pi) == Some(&b'*') {
            while pat.get(pi) == Some(&b'*') {
                pi += 1;
            }
            if pi == pat.len() {
                return true;
            }
            retry = Some((pi, si));
            continue;
        }
        let Some(&ch) = s.get(si) else { break };
        if pi < pat.len()
            && let (true, len) = one(&pat[pi..], ch)
        {
            pi += len;
            si += 1;
            continue;
        }
        match retry {
            Some((rp, rs)) if rs < s.len() => {
                retry = Some((rp, rs + 1));
                pi = rp;
                si = rs + 1;
            }
            _ => return false,
        }
    }
    // The string is used up: only stars may remain (they match the empty rest).
    pat[pi..].iter().all(|&c| c == b'*')
}

/// Matches one non-star token at the start of `p` against `ch`: whether it matched, and how
/// many pattern bytes the token spans.
fn one(p: &[u8], ch: u8) -> (bool, usize) {
    match p[0] {
        b'?' => (true, 1),
        b'[' => {
            let mut i = 1;
            let not = p.get(i) == Some(&b'^');
            if not {
                i += 1;
            }
            let mut hit = false;
            loop {
                match &p[i..] {
                    [] => break,
                    [b'\\', x, ..] => {
                        hit |= *x == ch;
                        i += 2;
                    }
                    [b']', ..] => {
                        i += 1; // the ']'
                        break;
                    }
                    [a, b'-', b, ..] if *b != b']' => {
                        let (lo, hi) = if a <= b { (*a, *b) } else { (*b, *a) };
                        hit |= (lo..=hi).contains(&ch);
                        i += 3;
                    }
                    [a, ..] => {
                        hit |= *a == ch;
                        i += 1;
                    }
                }
            }
            (hit != not, i)
        }
        b'\\' if p.len() >= 2 => (p[1] == ch, 2),
        c => (c == ch, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;
    use std::time::{Duration, Instant};

    #[test]
    fn patterns_as_redis() {
        assert!(matches(b"*", b""));
        assert!(matches(b"", b""));
        assert!(!matches(b"", b"a"));
        assert!(matches(b"k*", b"key"));
        assert!(matches(b"k?y", b"key"));
        assert!(!matches(b"k?y", b"ky"));
        assert!(matches(b"h[ae]llo", b"hello"));
        assert!(!matches(b"h[^e]llo", b"hello"));
        assert!(matches(b"h[^e]llo", b"hallo"));
        assert!(matches(b"h[a-b]llo", b"hbllo"));
        assert!(matches(b"h[b-a]llo", b"hbllo"));
        assert!(matches(b"h[\\]]llo", b"h]llo"));
        assert!(matches(b"a\\*", b"a*"));
        assert!(!matches(b"a\\*", b"ab"));
        assert!(matches(b"a\\", b"a\\"));
        assert!(matches(b"*:1*", b"user:12"));
        assert!(matches(b"*a*b", b"xxaxxb"));
        assert!(!matches(b"*a*b", b"xxaxxbc"));
        assert!(matches(b"*ab", b"aab"));
        assert!(matches(b"a*b*c", b"abbbc"));
        assert!(!matches(b"a*b*c", b"abbb"));
        assert!(matches(b"a**", b"a"));
        assert!(matches(b"[abc", b"a"));
        assert!(!matches(b"[abc", b"ab"));
        assert!(!matches(b"?", b""));
        assert!(matches(b"*?", b"x"));
        assert!(!matches(b"*?", b""));
    }

    /// Exhaustive check against a plain backtracking reference on short patterns and strings.
    #[test]
    fn same_as_backtracking_on_small_inputs() {
        fn reference(p: &[u8], s: &[u8]) -> bool {
            match p.first() {
                None => s.is_empty(),
                Some(b'*') => (0..=s.len()).any(|i| reference(&p[1..], &s[i..])),
                Some(_) => match s.first() {
                    None => false,
                    Some(&ch) => {
                        let (ok, n) = super::one(p, ch);
                        ok && reference(&p[n..], &s[1..])
                    }
                },
            }
        }
        let alphabet = [b'a', b'b', b'*', b'?'];
        let mut pats = vec![Vec::new()];
        for _ in 0..5 {
            let mut next = Vec::new();
            for p in &pats {
                for c in alphabet {
                    let mut q: Vec<u8> = p.clone();
                    q.push(c);
                    next.push(q);
                }
            }
            pats.extend(next);
            pats.sort();
            pats.dedup();
        }
        let strings: Vec<&[u8]> = vec![b"", b"a", b"b", b"ab", b"ba", b"aab", b"abab", b"bbba"];
        for p in &pats {
            for s in &strings {
                assert_eq!(matches(p, s), reference(p, s), "{:?} {:?}", p, s);
            }
        }
    }

    /// CVE-2022-36021: many stars must not cost exponential time.
    #[test]
    fn glob_with_many_stars_is_linear() {
        let pat = format!("{}b", "a*".repeat(20));
        let s = "a".repeat(300);
        let t = Instant::now();
        assert!(!matches(pat.as_bytes(), s.as_bytes()));
        let pat = "*".repeat(1000) + "x" + &"?*".repeat(500);
        assert!(!matches(pat.as_bytes(), "y".repeat(10_000).as_bytes()));
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }
}
