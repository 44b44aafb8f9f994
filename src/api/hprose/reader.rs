//! The Hprose value reader: tags, references, classes and limits over untrusted bytes.

use super::*;

pub(super) enum Slot {
    Scalar(Value),
    Open,
    Done {
        path: Vec<usize>,
        nodes: usize,
        height: usize,
        payload: usize,
    },
}

/// A list, map or object under construction; `Reader::open` is the stack of them.
pub(super) enum Open {
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Open {
    pub(super) fn len(&self) -> usize {
        match self {
            Open::List(v) => v.len(),
            Open::Map(m) => m.len(),
        }
    }
}

pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    pub(super) limits: Limits,
    pub(super) items_left: usize,
    pub(super) bytes_left: usize,
    pub(super) refs: Vec<Slot>,
    pub(super) classes: Vec<Vec<String>>,
    pub(super) open: Vec<Open>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8], limits: &Limits) -> Self {
        Reader {
            buf,
            pos: 0,
            limits: *limits,
            items_left: limits.max_items,
            bytes_left: limits.max_bytes,
            refs: Vec::new(),
            classes: Vec::new(),
            open: Vec::new(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.refs.clear();
        self.classes.clear();
    }

    pub(super) fn unexpected(
        &self,
        offset: usize,
        found: u8,
        expected: &'static str,
    ) -> HproseError {
        HproseError::UnexpectedByte {
            offset,
            found,
            expected,
        }
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    pub(super) fn byte(&mut self, expected: &'static str) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(HproseError::Truncated {
            offset: self.pos,
            expected,
        })?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn expect(&mut self, want: u8, expected: &'static str) -> Result<()> {
        let b = self.byte(expected)?;
        if b == want {
            Ok(())
        } else {
            Err(self.unexpected(self.pos - 1, b, expected))
        }
    }

    pub(super) fn take(&mut self, n: usize, expected: &'static str) -> Result<&'a [u8]> {
        let s = self.rest().get(..n).ok_or(HproseError::Truncated {
            offset: self.buf.len(),
            expected,
        })?;
        self.pos += n;
        Ok(s)
    }

    /// The bytes up to `delim`, consuming the delimiter too.
    pub(super) fn until(&mut self, delim: u8, expected: &'static str) -> Result<&'a [u8]> {
        let rest = self.rest();
        let n = rest
            .iter()
            .position(|&b| b == delim)
            .ok_or(HproseError::Truncated {
                offset: self.buf.len(),
                expected,
            })?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// An unsigned decimal ended by `delim`; empty means 0 where writers omit a zero count.
    pub(super) fn uint(
        &mut self,
        delim: u8,
        what: &'static str,
        allow_empty: bool,
    ) -> Result<usize> {
        let at = self.pos;
        let digits = self.until(delim, what)?;
        if digits.is_empty() && !allow_empty {
            return Err(HproseError::InvalidNumber { offset: at, what });
        }
        digits
            .iter()
            .try_fold(0usize, |n, &d| {
                if !d.is_ascii_digit() {
                    return None;
                }
                n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
            })
            .ok_or(HproseError::InvalidNumber { offset: at, what })
    }

    /// A count of `per_item`-byte-minimum items, bounded by the rest of the input and the
    /// item budget before anything is allocated for it.
    pub(super) fn count(&mut self, delim: u8, per_item: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.uint(delim, "count", true)?;
        if n.saturating_mul(per_item) > self.rest().len() {
            return Err(HproseError::LengthExceedsInput {
                offset: at,
                declared: n,
            });
        }
        if n > self.items_left {
            return Err(HproseError::TooManyItems {
                offset: at,
                max: self.limits.max_items,
            });
        }
        Ok(n)
    }

    pub(super) fn take_items(&mut self, offset: usize, n: usize) -> Result<()> {
        self.items_left = self
            .items_left
            .checked_sub(n)
            .ok_or(HproseError::TooManyItems {
                offset,
                max: self.limits.max_items,
            })?;
        Ok(())
    }

    pub(super) fn take_payload(&mut self, offset: usize, n: usize) -> Result<()> {
        self.bytes_left = self
            .bytes_left
            .checked_sub(n)
            .ok_or(HproseError::TooMuchData {
                offset,
                max: self.limits.max_bytes,
            })?;
        Ok(())
    }

    /// One value at nesting `depth` (the number of containers around it), with its height
    /// (0 for a scalar, 1 + the tallest child for a container).
    pub(super) fn value(&mut self, depth: usize) -> Result<(Value, usize)> {
        let mut at = self.pos;
        let mut tag = self.byte("a value")?;
        while tag == b'c' {
            self.class()?;
            at = self.pos;
            tag = self.byte("a value after the class")?;
        }
        self.take_items(at, 1)?;
        let v = match tag {
            b'0'..=b'9' => Value::Int(i64::from(tag - b'0')),
            b'i' | b'l' => self.integer(tag)?,
            b'd' => self.double()?,
            b'N' => Value::Float(f64::NAN),
            b'I' => match self.byte("'+' or '-'")? {
                b'+' => Value::Float(f64::INFINITY),
                b'-' => Value::Float(f64::NEG_INFINITY),
                b => return Err(self.unexpected(self.pos - 1, b, "'+' or '-'")),
            },
            b'n' => Value::Null,
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'e' => Value::Str(String::new()),
            b'u' => Value::Str(self.char()?),
            b's' => {
                let s = self.counted_str(at)?;
                self.take_payload(at, s.len())?;
                self.register(Value::Str(s))
            }
            b'b' => {
                let n = self.uint(b'"', "byte length", true)?;
                if n > self.rest().len() {
                    return Err(HproseError::LengthExceedsInput {
                        offset: at + 1,
                        declared: n,
                    });
                }
                self.take_payload(at, n)?;
                let bytes = self.take(n, "bytes")?.to_vec();
                self.expect(b'"', "'\"' after the bytes")?;
                self.register(Value::Bytes(bytes))
            }
            b'g' => {
                let v = self.guid(at)?;
                self.register(v)
            }
            b'D' | b'T' => {
                let v = self.date(tag, at)?;
                self.register(v)
            }
            b'a' | b'm' | b'o' => return self.container(tag, at, depth),
            b'r' => return self.reference(at, depth),
            _ => return Err(self.unexpected(at, tag, "a value")),
        };
        Ok((v, 0))
    }

    pub(super) fn register(&mut self, v: Value) -> Value {
        self.refs.push(Slot::Scalar(v.clone()));
        v
    }

    pub(super) fn integer(&mut self, tag: u8) -> Result<Value> {
        let at = self.pos;
        let what = if tag == b'i' {
            "integer"
        } else {
            "long integer"
        };
        let text = self.until(b';', what)?;
        let digits = text
            .strip_prefix(b"-")
            .or_else(|| text.strip_prefix(b"+"))
            .unwrap_or(text);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(HproseError::InvalidNumber { offset: at, what });
        }
        // Only ASCII digits and a sign remain, so the text is valid UTF-8.
        let text =
            std::str::from_utf8(text).map_err(|_| HproseError::InvalidUtf8 { offset: at })?;
        match text.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) if tag == b'l' => {
                self.take_payload(at, text.len())?;
                Ok(Value::Str(text.trim_start_matches('+').to_string()))
            }
            Err(_) => Err(HproseError::InvalidNumber { offset: at, what }),
        }
    }

    pub(super) fn double(&mut self) -> Result<Value> {
        let at = self.pos;
        let text = self.until(b';', "number")?;
        let ok = !text.is_empty()
            && text
                .iter()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
            && text.iter().any(u8::is_ascii_digit);
        let parsed = std::str::from_utf8(text)
            .ok()
            .filter(|_| ok)
            .and_then(|s| s.parse::<f64>().ok());
        parsed.map(Value::Float).ok_or(HproseError::InvalidNumber {
            offset: at,
            what: "number",
        })
    }

    /// `u`: one character. Writers send one UTF-16 unit; Python 1.4.3 also sends one astral
    /// character (4 bytes), which the 3.0 reader accepts too.
    pub(super) fn char(&mut self) -> Result<String> {
        let at = self.pos;
        let rest = self.rest();
        let window = &rest[..rest.len().min(4)];
        let valid = match std::str::from_utf8(window) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or(""),
        };
        let c = match valid.chars().next() {
            Some(c) => c,
            None if rest.is_empty() => {
                return Err(HproseError::Truncated {
                    offset: at,
                    expected: "a character",
                });
            }
            None => return Err(HproseError::InvalidUtf8 { offset: at }),
        };
        self.pos += c.len_utf8();
        Ok(c.to_string())
    }

    /// `<len>"text"` after `s` (or `c`): `len` UTF-16 units, or, failing that, `len` code
    /// points as Python 1.4.3 counts them.
    pub(super) fn counted_str(&mut self, at: usize) -> Result<String> {
        let n = self.uint(b'"', "string length", true)?;
        let rest = self.rest();
        if n > rest.len() {
            return Err(HproseError::LengthExceedsInput {
                offset: at + 1,
                declared: n,
            });
        }
        // n units or code points take at most 4n bytes; only a valid prefix can count.
        let window = &rest[..rest.len().min(n.saturating_mul(4))];
        let (text, bad_utf8) = match std::str::from_utf8(window) {
            Ok(s) => (s, false),
            Err(e) => (
                std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or(""),
                true,
            ),
        };
        let (mut units, mut chars) = (0, 0);
        let (mut utf16_end, mut cp_end) = (None, None);
        for (i, c) in text.char_indices() {
            if units == n && utf16_end.is_none() {
                utf16_end = Some(i);
            }
            if chars == n {
                cp_end = Some(i);
                break;
            }
            units += c.len_utf16();
            chars += 1;
        }
        if units == n && utf16_end.is_none() {
            utf16_end = Some(text.len());
        }
        if chars == n && cp_end.is_none() {
            cp_end = Some(text.len());
        }
        let end = [utf16_end, cp_end]
            .into_iter()
            .flatten()
            .find(|&e| rest.get(e) == Some(&b'"'));
        let Some(end) = end else {
            let at_end = [utf16_end, cp_end].contains(&Some(rest.len()));
            return Err(if units >= n && !at_end {
                HproseError::StringLength {
                    offset: at,
                    declared: n,
                }
            } else if at_end {
                HproseError::Truncated {
                    offset: self.buf.len(),
                    expected: "'\"'",
                }
            } else if bad_utf8 {
                HproseError::InvalidUtf8 {
                    offset: self.pos + text.len(),
                }
            } else {
                HproseError::Truncated {
                    offset: self.buf.len(),
                    expected: "the rest of the string",
                }
            });
        };
        let s = text[..end].to_string();
        self.pos += end + 1;
        Ok(s)
    }

    /// A name: a function name or a class field name (`s`, `u`, `e` or a reference to one).
    pub(super) fn text(&mut self, expected: &'static str) -> Result<String> {
        let at = self.pos;
        match self.rest().first() {
            None => Err(HproseError::Truncated {
                offset: at,
                expected,
            }),
            Some(b's' | b'u' | b'e' | b'r') => match self.value(0)?.0 {
                Value::Str(s) => Ok(s),
                _ => Err(self.unexpected(at, b'r', expected)),
            },
            Some(&b) => Err(self.unexpected(at, b, expected)),
        }
    }

    pub(super) fn guid(&mut self, at: usize) -> Result<Value> {
        let bad = HproseError::InvalidGuid { offset: at };
        let raw = self.take(38, "a GUID")?;
        let inner = raw.get(1..37).ok_or(bad.clone())?;
        let shape_ok = raw[0] == b'{'
            && raw[37] == b'}'
            && inner.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        match std::str::from_utf8(inner) {
            Ok(s) if shape_ok => Ok(Value::Str(s.to_string())),
            _ => Err(bad),
        }
    }

    /// `D` yyyymmdd [T hhmmss [.fff[fff[fff]]]] (Z|;) or `T` hhmmss[.fff...] (Z|;), rendered
    /// as `2020-01-02T03:04:05.678Z` (`Z` only for UTC; a date alone as `2020-01-02`).
    pub(super) fn date(&mut self, tag: u8, at: usize) -> Result<Value> {
        let bad = HproseError::InvalidDate { offset: at };
        let mut out = String::new();
        let digits = |r: &mut Self, n: usize, lo: u32, hi: u32| -> Result<String> {
            let d = r.take(n, "date digits")?;
            let v = d.iter().try_fold(0u32, |v, &b| {
                b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0'))
            });
            match v {
                Some(v) if (lo..=hi).contains(&v) => Ok(String::from_utf8_lossy(d).into_owned()),
                _ => Err(bad.clone()),
            }
        };
        let mut next = tag;
        if tag == b'D' {
            let (y, m, d) = (
                digits(self, 4, 0, 9999)?,
                digits(self, 2, 1, 12)?,
                digits(self, 2, 1, 31)?,
            );
            out = format!("{y}-{m}-{d}");
            next = self.byte("'T', 'Z' or ';'")?;
            if next != b'T' {
                return match next {
                    b'Z' | b';' => Ok(Value::Str(out)),
                    _ => Err(bad),
                };
            }
            out.push('T');
        }
        debug_assert_eq!(next, b'T');
        let (h, mi, s) = (
            digits(self, 2, 0, 23)?,
            digits(self, 2, 0, 59)?,
            digits(self, 2, 0, 60)?,
        );
        out.push_str(&format!("{h}:{mi}:{s}"));
        let mut end = self.byte("'.', 'Z' or ';'")?;
        if end == b'.' {
            out.push('.');
            for _ in 0..3 {
                out.push_str(&digits(self, 3, 0, 999)?);
                end = self.byte("'Z' or ';'")?;
                if !end.is_ascii_digit() {
                    break;
                }
                self.pos -= 1;
            }
        }
        match end {
            b'Z' => out.push('Z'),
            b';' => {}
            _ => return Err(bad),
        }
        Ok(Value::Str(out))
    }

    /// `c<len>"Name"<n>{field names}`: a class definition for later `o` objects.
    pub(super) fn class(&mut self) -> Result<()> {
        let at = self.pos - 1;
        self.counted_str(at)?;
        let n = self.count(b'{', 1)?;
        let mut fields = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            fields.push(self.text("a field name")?);
        }
        self.expect(b'}', "'}' after the field names")?;
        self.classes.push(fields);
        Ok(())
    }

    /// A list `a<n>{...}`, map `m<n>{...}` or object `o<class>{...}` after its tag.
    pub(super) fn container(&mut self, tag: u8, at: usize, depth: usize) -> Result<(Value, usize)> {
        if depth >= self.limits.max_depth {
            return Err(HproseError::TooDeep {
                offset: at,
                max: self.limits.max_depth,
            });
        }
        let (items0, bytes0) = (self.items_left, self.bytes_left);
        let (n, mut fields) = match tag {
            b'a' => (self.count(b'{', 1)?, None),
            b'm' => (self.count(b'{', 2)?, None),
            _ => {
                let idx_at = self.pos;
                let i = self.uint(b'{', "class index", false)?;
                let known = self.classes.len();
                let err = HproseError::UnknownClass {
                    offset: idx_at,
                    index: i,
                    known,
                };
                let fields = self.classes.get(i).ok_or(err)?;
                let names = fields.iter().map(String::len).sum();
                let n = fields.len();
                if n > self.rest().len() {
                    return Err(HproseError::LengthExceedsInput {
                        offset: idx_at,
                        declared: n,
                    });
                }
                // Every object carries its own copy of the field names.
                self.take_payload(at, names)?;
                (n, self.classes.get(i).map(|f| f.clone().into_iter()))
            }
        };
        let slot = self.refs.len();
        self.refs.push(Slot::Open);
        self.open.push(if tag == b'a' {
            Open::List(Vec::with_capacity(n.min(1024)))
        } else {
            Open::Map(Vec::with_capacity(n.min(1024)))
        });
        let mut height = 0;
        for _ in 0..n {
            let key = match (&mut fields, tag) {
                (Some(f), _) => f.next(),
                (None, b'm') => Some(self.key(depth + 1)?),
                _ => None,
            };
            let (v, h) = self.value(depth + 1)?;
            height = height.max(h);
            match (self.open.last_mut(), key) {
                (Some(Open::List(items)), _) => items.push(v),
                (Some(Open::Map(entries)), Some(k)) => entries.push((k, v)),
                _ => {}
            }
        }
        self.expect(b'}', "'}' after the last element")?;
        let value = match self.open.pop() {
            Some(Open::List(items)) => Value::List(items),
            Some(Open::Map(entries)) => Value::Map(entries),
            None => Value::Null,
        };
        let path = self.open.iter().map(Open::len).collect();
        let (nodes, payload) = (items0 - self.items_left + 1, bytes0 - self.bytes_left);
        self.refs[slot] = Slot::Done {
            path,
            nodes,
            height: height + 1,
            payload,
        };
        Ok((value, height + 1))
    }

    pub(super) fn key(&mut self, depth: usize) -> Result<String> {
        let at = self.pos;
        if let Some(&b @ (b'a' | b'm' | b'o' | b'c')) = self.rest().first() {
            let kind = if b == b'a' {
                "a list"
            } else if b == b'm' {
                "a map"
            } else {
                "an object"
            };
            return Err(HproseError::InvalidMapKey { offset: at, kind });
        }
        Ok(match self.value(depth)?.0 {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_text(f),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            other => {
                return Err(HproseError::InvalidMapKey {
                    offset: at,
                    kind: other.kind(),
                });
            }
        })
    }

    /// `r<i>;`: a copy of an earlier value, checked against the limits before it is made.
    pub(super) fn reference(&mut self, at: usize, depth: usize) -> Result<(Value, usize)> {
        let index = self.uint(b';', "reference index", false)?;
        let known = self.refs.len();
        match self.refs.get(index) {
            None => Err(HproseError::BadReference {
                offset: at,
                index,
                known,
            }),
            Some(Slot::Open) => Err(HproseError::CyclicReference { offset: at, index }),
            Some(Slot::Scalar(v)) => {
                let n = payload_len(v);
                self.take_payload(at, n)?;
                match self.refs.get(index) {
                    Some(Slot::Scalar(v)) => Ok((v.clone(), 0)),
                    _ => Err(HproseError::BadReference {
                        offset: at,
                        index,
                        known,
                    }),
                }
            }
            Some(Slot::Done {
                path,
                nodes,
                height,
                payload,
            }) => {
                let (path, nodes, height, payload) = (path.clone(), *nodes, *height, *payload);
                if depth.saturating_add(height) > self.limits.max_depth {
                    return Err(HproseError::TooDeep {
                        offset: at,
                        max: self.limits.max_depth,
                    });
                }
                self.take_items(at, nodes - 1)?;
                self.take_payload(at, payload)?;
                let v = self
                    .find(&path)
                    .cloned()
                    .ok_or(HproseError::CyclicReference { offset: at, index })?;
                Ok((v, height))
            }
        }
    }

    /// The finished container at `path`: down the open containers while the path follows
    /// them, then down finished values.
    pub(super) fn find(&self, path: &[usize]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut level = 0;
        let mut i = *first;
        let mut path = rest.iter();
        // Follow open containers: index == len means "the open child one level down".
        loop {
            let open = self.open.get(level)?;
            if i < open.len() {
                break;
            }
            if i > open.len() {
                return None;
            }
            level += 1;
            i = *path.next()?;
        }
        let mut v = match &self.open[level] {
            Open::List(items) => items.get(i)?,
            Open::Map(entries) => &entries.get(i)?.1,
        };
        for &i in path {
            v = match v {
                Value::List(items) => items.get(i)?,
                Value::Map(entries) => &entries.get(i)?.1,
                _ => return None,
            };
        }
        Some(v)
    }
}
