//! Lua 5.4's string patterns (lstrlib.c's matcher) in Rust, with every step counted.
//!
//! Lua's own matcher backtracks without bound inside C, where the instruction hook never
//! fires: `string.find(("a"):rep(300), (".-"):rep(4).."b")` ran 395 s and held the node's one
//! thread all along. This port keeps lstrlib.c's semantics (classes `%a %c %d %g %l %p %s %u
//! %w %x` and their complements, sets with ranges, `%b`, `%f`, captures, position captures,
//! back references, anchors, `* + - ?`, the 200-deep recursion limit and 32 captures, and the
//! same error texts) and calls `charge` every [`CHARGE_EVERY`] steps, so the sandbox can bill
//! the steps to the call's instruction budget and stop the match when the budget is spent.
//! Sans-io: bytes in, positions out; [`super::strlib`] binds it to Lua.
//!
//! lstrlib recurses (one C call per backtracking point); this port keeps its backtracking
//! points on a stack of its own ([`Frame`], one per recursive call of C's `match`, so the
//! depth limit counts the same), which makes a match resumable: [`Matcher::resume`] stops
//! between two steps when asked and the match goes on from there later, so a long match
//! need not hold the node's one thread (the time slices of [`super::meter`]). The steps,
//! their order and so every result and error are those of the recursive matcher.

/// Most captures in a pattern (`LUA_MAXCAPTURES`).
pub const MAX_CAPTURES: usize = 32;
/// Deepest recursion of the matcher (`MAXCCALLS` in lstrlib.c).
const MAX_DEPTH: u32 = 200;
/// Steps between two calls of the charge function.
pub const CHARGE_EVERY: u64 = 1024;

/// Why a match stopped with an error (the text is what Lua would say, or the limit's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatError(pub String);

impl PatError {
    fn new(s: &str) -> PatError {
        PatError(s.to_string())
    }
}

type R<T> = Result<T, PatError>;

/// The length of a capture while matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CapLen {
    Len(usize),
    Unfinished,
    Position,
}

/// One capture of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// The bytes `start..end` of the subject.
    Str(usize, usize),
    /// A position capture `()`: the 1-based index.
    Pos(usize),
}

/// A backtracking point: a recursive call of lstrlib's `match` still open, and what to try
/// when what it started fails.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// `x?` matched one: without it, go on at `(s, p)`.
    Opt { s: usize, p: usize },
    /// `x*`/`x+` took `i` items from `s`: try one fewer.
    Max { s: usize, i: usize, ep: usize },
    /// `x-` tries the rest at `s`: else take one more item `p..ep` there.
    Min { s: usize, p: usize, ep: usize },
    /// A capture opened: close it again.
    Open,
    /// Capture `l` closed: open it again.
    Close { l: usize },
}

/// What the matcher does next.
#[derive(Debug, Clone, Copy)]
enum Next {
    /// Match the pattern from `p` at subject position `s` (one turn of lstrlib's loop).
    Run(usize, usize),
    /// What was tried failed: back to the last backtracking point.
    Fail,
    /// The match ends at `s`.
    Done(usize),
}

/// Where a match stands: everything a paused match needs to go on (see
/// [`Matcher::into_state`]); owned, so it may be kept while the subject's bytes are not.
#[derive(Debug, Clone)]
pub struct State {
    level: usize,
    caps: [(usize, CapLen); MAX_CAPTURES],
    steps: u64,
    asked: u64,
    stack: Vec<Frame>,
    next: Next,
}

impl Default for State {
    fn default() -> State {
        State {
            level: 0,
            caps: [(0, CapLen::Unfinished); MAX_CAPTURES],
            steps: 0,
            asked: 0,
            stack: Vec::new(),
            next: Next::Fail,
        }
    }
}

/// A matcher of one pattern over one subject. `charge(n)` is told of every `n` steps taken
/// and stops the match by returning an error.
pub struct Matcher<'a, F: FnMut(u64) -> R<()>> {
    src: &'a [u8],
    pat: &'a [u8],
    st: State,
    charge: F,
}

/// Whether `c` is in class `cl` (`%a` and friends, ASCII as in the C locale).
fn class(c: u8, cl: u8) -> bool {
    let res = match cl.to_ascii_lowercase() {
        b'a' => c.is_ascii_alphabetic(),
        b'c' => c.is_ascii_control(),
        b'd' => c.is_ascii_digit(),
        b'g' => c.is_ascii_graphic(),
        b'l' => c.is_ascii_lowercase(),
        b'p' => c.is_ascii_punctuation(),
        // C's isspace also takes \v, which Rust's is_ascii_whitespace does not.
        b's' => matches!(c, b' ' | 9..=13),
        b'u' => c.is_ascii_uppercase(),
        b'w' => c.is_ascii_alphanumeric(),
        b'x' => c.is_ascii_hexdigit(),
        _ => return cl == c,
    };
    if cl.is_ascii_uppercase() { !res } else { res }
}

/// True when `p` has none of the pattern's special characters (then `find` is a plain search).
pub fn no_specials(p: &[u8]) -> bool {
    !p.iter().any(|c| b"^$*+?.([%-".contains(c))
}

impl<'a, F: FnMut(u64) -> R<()>> Matcher<'a, F> {
    /// A matcher of `pat` (without a leading `^` anchor: the caller strips it) over `src`.
    pub fn new(src: &'a [u8], pat: &'a [u8], charge: F) -> Self {
        Matcher::with_state(src, pat, charge, State::default())
    }

    /// A matcher going on from `st` (of [`Matcher::into_state`], with the same subject and
    /// pattern).
    pub fn with_state(src: &'a [u8], pat: &'a [u8], charge: F, st: State) -> Self {
        Matcher {
            src,
            pat,
            st,
            charge,
        }
    }

    /// Where the match stands, to go on later with [`Matcher::with_state`].
    pub fn into_state(self) -> State {
        self.st
    }

    /// The pattern byte at `i`, or 0 past the end (C reads the string's terminating NUL).
    fn pc(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn sc(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn step(&mut self) -> R<()> {
        self.st.steps += 1;
        if self.st.steps.is_multiple_of(CHARGE_EVERY) {
            (self.charge)(CHARGE_EVERY)?;
        }
        Ok(())
    }

    /// Charges the steps not yet charged (call once a whole operation is done).
    pub fn settle(&mut self) -> R<()> {
        let rest = self.st.steps % CHARGE_EVERY;
        self.st.steps -= rest;
        self.st.asked = self.st.asked.min(self.st.steps);
        if rest > 0 {
            (self.charge)(rest)
        } else {
            Ok(())
        }
    }

    /// Tries the pattern at subject position `s`: the end of the match, if any. Captures of
    /// the match are then read with [`Matcher::captures`] or [`Matcher::capture`].
    pub fn match_at(&mut self, s: usize) -> R<Option<usize>> {
        self.start(s)?;
        loop {
            if let Some(done) = self.resume(&mut || false)? {
                return Ok(done);
            }
        }
    }

    /// Starts trying the pattern at subject position `s`; [`Matcher::resume`] does it.
    pub fn start(&mut self, s: usize) -> R<()> {
        self.st.level = 0;
        self.st.stack.clear();
        self.st.next = Next::Run(s, 0);
        self.step()
    }

    /// Goes on with the match [`Matcher::start`] began: `Some` with its end (or `None`) once
    /// it is decided, or `None` when `pause()`, asked every [`CHARGE_EVERY`] steps or so,
    /// said to stop (call again to go on).
    pub fn resume(&mut self, pause: &mut dyn FnMut() -> bool) -> R<Option<Option<usize>>> {
        loop {
            if self.st.steps - self.st.asked >= CHARGE_EVERY {
                self.st.asked = self.st.steps;
                if pause() {
                    return Ok(None);
                }
            }
            self.st.next = match self.st.next {
                Next::Run(s, p) => self.turn(s, p)?,
                Next::Fail => match self.backtrack() {
                    Some(next) => next,
                    None => return Ok(Some(None)),
                },
                Next::Done(e) => {
                    self.st.stack.clear();
                    return Ok(Some(Some(e)));
                }
            };
        }
    }

    /// The number of captures of the last match (a pattern without any has one: the whole
    /// match, when `whole` is true).
    pub fn count(&self, whole: bool) -> usize {
        if self.st.level == 0 && whole {
            1
        } else {
            self.st.level
        }
    }

    /// Capture `i` of the last match `s..e` (`get_onecapture`).
    pub fn capture(&self, i: usize, s: usize, e: usize) -> R<Capture> {
        if i >= self.st.level {
            if i != 0 {
                return Err(PatError(format!("invalid capture index %{}", i + 1)));
            }
            return Ok(Capture::Str(s, e));
        }
        let (init, len) = self.st.caps[i];
        match len {
            CapLen::Unfinished => Err(PatError::new("unfinished capture")),
            CapLen::Position => Ok(Capture::Pos(init + 1)),
            CapLen::Len(l) => Ok(Capture::Str(init, init + l)),
        }
    }

    /// All captures of the last match `s..e` (the whole match when there are none and
    /// `whole` is true).
    pub fn captures(&self, s: usize, e: usize, whole: bool) -> R<Vec<Capture>> {
        (0..self.count(whole))
            .map(|i| self.capture(i, s, e))
            .collect()
    }

    fn class_end(&self, mut p: usize) -> R<usize> {
        let c = self.pc(p);
        p += 1;
        match c {
            b'%' => {
                if p >= self.pat.len() {
                    return Err(PatError::new("malformed pattern (ends with '%')"));
                }
                Ok(p + 1)
            }
            b'[' => {
                if self.pc(p) == b'^' {
                    p += 1;
                }
                // The first byte of a set is taken as is, so `[]]` holds ']'.
                loop {
                    if p >= self.pat.len() {
                        return Err(PatError::new("malformed pattern (missing ']')"));
                    }
                    let c = self.pat[p];
                    p += 1;
                    if c == b'%' && p < self.pat.len() {
                        p += 1;
                    }
                    if self.pc(p) == b']' {
                        break;
                    }
                }
                Ok(p + 1)
            }
            _ => Ok(p),
        }
    }

    /// Whether `c` is in the set `[...]` from `p` (the '[') to `ec` (its ']').
    fn bracket(&self, c: u8, mut p: usize, ec: usize) -> bool {
        let mut sig = true;
        if self.pc(p + 1) == b'^' {
            sig = false;
            p += 1;
        }
        loop {
            p += 1;
            if p >= ec {
                break;
            }
            let b = self.pat[p];
            if b == b'%' {
                p += 1;
                if class(c, self.pc(p)) {
                    return sig;
                }
            } else if self.pc(p + 1) == b'-' && p + 2 < ec {
                p += 2;
                if self.pat[p - 2] <= c && c <= self.pat[p] {
                    return sig;
                }
            } else if b == c {
                return sig;
            }
        }
        !sig
    }

    fn single(&self, s: usize, p: usize, ep: usize) -> bool {
        let Some(&c) = self.src.get(s) else {
            return false;
        };
        match self.pat[p] {
            b'.' => true,
            b'%' => class(c, self.pc(p + 1)),
            b'[' => self.bracket(c, p, ep - 1),
            b => b == c,
        }
    }

    /// Opens a backtracking point: lstrlib's recursive `match` call, with its depth limit.
    fn push(&mut self, f: Frame) -> R<()> {
        // The attempt itself is one level (C's first call of `match`).
        if self.st.stack.len() + 1 >= MAX_DEPTH as usize {
            return Err(PatError::new("pattern too complex"));
        }
        self.st.stack.push(f);
        Ok(())
    }

    /// What failed goes back to the last backtracking point (C's `match` returning NULL to
    /// its caller, which tries its next choice): the next thing to do, or `None` when the
    /// attempt failed.
    fn backtrack(&mut self) -> Option<Next> {
        loop {
            let top = *self.st.stack.last()?;
            let again = match top {
                Frame::Opt { s, p } => {
                    self.st.stack.pop();
                    return Some(Next::Run(s, p));
                }
                Frame::Max { s, i, ep } if i > 0 => {
                    Some((Frame::Max { s, i: i - 1, ep }, Next::Run(s + i - 1, ep + 1)))
                }
                Frame::Min { s, p, ep } if self.single(s, p, ep) => {
                    Some((Frame::Min { s: s + 1, p, ep }, Next::Run(s + 1, ep + 1)))
                }
                Frame::Max { .. } | Frame::Min { .. } => None,
                Frame::Open => {
                    self.st.level -= 1;
                    None
                }
                Frame::Close { l } => {
                    self.st.caps[l].1 = CapLen::Unfinished;
                    None
                }
            };
            match again {
                Some((frame, next)) => {
                    if let Some(t) = self.st.stack.last_mut() {
                        *t = frame;
                    }
                    return Some(next);
                }
                None => {
                    self.st.stack.pop();
                }
            }
        }
    }

    /// One turn of lstrlib's `match` loop at `(s, p)`.
    fn turn(&mut self, s: usize, p: usize) -> R<Next> {
        self.step()?;
        if p == self.pat.len() {
            return Ok(Next::Done(s));
        }
        let next = self.pc(p + 1);
        let found = |e: Option<usize>, p| Ok(e.map_or(Next::Fail, |e| Next::Run(e, p)));
        match self.pat[p] {
            b'(' if next == b')' => self.start_capture(s, p + 2, CapLen::Position),
            b'(' => self.start_capture(s, p + 1, CapLen::Unfinished),
            b')' => self.end_capture(s, p + 1),
            b'$' if p + 1 == self.pat.len() => Ok(if s == self.src.len() {
                Next::Done(s)
            } else {
                Next::Fail
            }),
            b'%' if next == b'b' => found(self.balance(s, p + 2)?, p + 4),
            b'%' if next == b'f' => {
                let p = p + 2;
                if self.pc(p) != b'[' {
                    return Err(PatError::new("missing '[' after '%f' in pattern"));
                }
                let ep = self.class_end(p)?;
                let prev = if s == 0 { 0 } else { self.sc(s - 1) };
                if !self.bracket(prev, p, ep - 1) && self.bracket(self.sc(s), p, ep - 1) {
                    Ok(Next::Run(s, ep))
                } else {
                    Ok(Next::Fail)
                }
            }
            b'%' if next.is_ascii_digit() => found(self.match_capture(s, next)?, p + 2),
            _ => {
                let ep = self.class_end(p)?;
                let op = self.pc(ep);
                if !self.single(s, p, ep) {
                    if matches!(op, b'*' | b'?' | b'-') {
                        return Ok(Next::Run(s, ep + 1));
                    }
                    return Ok(Next::Fail);
                }
                match op {
                    b'?' => {
                        self.push(Frame::Opt { s, p: ep + 1 })?;
                        Ok(Next::Run(s + 1, ep + 1))
                    }
                    b'+' => self.max_expand(s + 1, p, ep),
                    b'*' => self.max_expand(s, p, ep),
                    b'-' => {
                        self.push(Frame::Min { s, p, ep })?;
                        Ok(Next::Run(s, ep + 1))
                    }
                    _ => Ok(Next::Run(s + 1, ep)),
                }
            }
        }
    }

    fn balance(&mut self, s: usize, p: usize) -> R<Option<usize>> {
        if p + 1 >= self.pat.len() {
            return Err(PatError::new(
                "malformed pattern (missing arguments to '%b')",
            ));
        }
        if self.src.get(s) != Some(&self.pat[p]) {
            return Ok(None);
        }
        let (open, close) = (self.pat[p], self.pat[p + 1]);
        let mut depth = 1u64;
        for i in s + 1..self.src.len() {
            self.step()?;
            let c = self.src[i];
            if c == close {
                depth -= 1;
                if depth == 0 {
                    return Ok(Some(i + 1));
                }
            } else if c == open {
                depth += 1;
            }
        }
        Ok(None)
    }

    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> R<Next> {
        let mut i = 0;
        while self.single(s + i, p, ep) {
            self.step()?;
            i += 1;
        }
        self.push(Frame::Max { s, i, ep })?;
        Ok(Next::Run(s + i, ep + 1))
    }

    fn start_capture(&mut self, s: usize, p: usize, what: CapLen) -> R<Next> {
        if self.st.level >= MAX_CAPTURES {
            return Err(PatError::new("too many captures"));
        }
        self.st.caps[self.st.level] = (s, what);
        self.st.level += 1;
        self.push(Frame::Open)?;
        Ok(Next::Run(s, p))
    }

    fn end_capture(&mut self, s: usize, p: usize) -> R<Next> {
        let Some(l) = (0..self.st.level)
            .rev()
            .find(|&l| self.st.caps[l].1 == CapLen::Unfinished)
        else {
            return Err(PatError::new("invalid pattern capture"));
        };
        self.st.caps[l].1 = CapLen::Len(s - self.st.caps[l].0);
        self.push(Frame::Close { l })?;
        Ok(Next::Run(s, p))
    }

    fn match_capture(&mut self, s: usize, digit: u8) -> R<Option<usize>> {
        let l = i32::from(digit) - i32::from(b'1');
        let bad = || PatError(format!("invalid capture index %{}", l + 1));
        let l = usize::try_from(l).map_err(|_| bad())?;
        if l >= self.st.level {
            return Err(bad());
        }
        let (init, len) = self.st.caps[l];
        let len = match len {
            CapLen::Unfinished => return Err(bad()),
            // A position capture has no text: as in C, it never matches.
            CapLen::Position => return Ok(None),
            CapLen::Len(n) => n,
        };
        let rest = &self.src[s.min(self.src.len())..];
        if rest.len() >= len && rest[..len] == self.src[init..init + len] {
            for _ in 0..len / 64 {
                self.step()?;
            }
            Ok(Some(s + len))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str, p: &str) -> R<Option<(usize, usize)>> {
        let mut m = Matcher::new(s.as_bytes(), p.as_bytes(), |_| Ok(()));
        for i in 0..=s.len() {
            if let Some(e) = m.match_at(i)? {
                return Ok(Some((i, e)));
            }
        }
        Ok(None)
    }

    #[test]
    fn basics() {
        assert_eq!(find("hello world", "o w"), Ok(Some((4, 7))));
        assert_eq!(find("hello", "l+"), Ok(Some((2, 4))));
        assert_eq!(find("THE (quick) fox", "%((%a+)%)"), Ok(Some((4, 11))));
        assert_eq!(find("x = [[a]]", "%b[]"), Ok(Some((4, 9))));
        assert_eq!(find("THE quick", "%f[%a]%a+"), Ok(Some((0, 3))));
        assert_eq!(
            find("abc", "[%a"),
            Err(PatError::new("malformed pattern (missing ']')"))
        );
        assert_eq!(
            find("abc", "%"),
            Err(PatError::new("malformed pattern (ends with '%')"))
        );
        assert_eq!(find("abc", "(()"), Ok(Some((0, 0))));
        assert_eq!(
            find("abc", "%1"),
            Err(PatError::new("invalid capture index %1"))
        );
    }

    #[test]
    fn backtracking_is_charged_and_stopped() {
        let s = "a".repeat(300);
        let p = ".-".repeat(4) + "b";
        let mut spent = 0u64;
        let mut m = Matcher::new(s.as_bytes(), p.as_bytes(), |n| {
            spent += n;
            if spent > 1_000_000 {
                Err(PatError::new("over budget"))
            } else {
                Ok(())
            }
        });
        let mut r = Ok(None);
        for i in 0..=s.len() {
            r = m.match_at(i);
            if r.is_err() {
                break;
            }
        }
        assert_eq!(r, Err(PatError::new("over budget")));
    }
}
