//! The stored form of one chunk of a list (sans-io): a list's elements are kept in chunk
//! entries of up to [`MAX_ELEMS`] elements or [`MAX_BYTES`] bytes each (docs/db.md,
//! "Layout"), so a push or a pop at either end rewrites one small entry instead of adding
//! or removing one entry per element.
//!
//! A chunk is `COUNT` (u16 big-endian) then, per element, its length as an unsigned LEB128
//! varint and its bytes. An element larger than [`MAX_BYTES`] sits alone in its chunk, so a
//! chunk is never longer than [`super::MAX_VALUE`] plus 8 bytes, inside a version's entry
//! limit.

/// Most elements in one chunk (as Redis's quicklist nodes, whose default is 128 entries
/// or 8 KiB).
pub const MAX_ELEMS: usize = 128;
/// Most bytes in a chunk of more than one element.
pub const MAX_BYTES: usize = 4096;

/// Bytes of the header.
const HEAD: usize = 2;

fn varint_len(n: usize) -> usize {
    let mut len = 1;
    let mut n = n >> 7;
    while n != 0 {
        len += 1;
        n >>= 7;
    }
    len
}

fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The varint at `b[at..]`: its value and the offset after it.
fn get_varint(b: &[u8], mut at: usize) -> Option<(usize, usize)> {
    let mut n = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = *b.get(at)?;
        at += 1;
        n |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some((n, at));
        }
    }
    None
}

/// The number of elements a chunk holds (its header), `None` if it is too short.
pub fn count(b: &[u8]) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(
        b.get(..HEAD)?.try_into().ok()?,
    )))
}

fn set_count(b: &mut [u8], n: usize) {
    if let Some(h) = b.get_mut(..HEAD) {
        h.copy_from_slice(&(n as u16).to_be_bytes());
    }
}

/// The elements of a chunk, `None` if it is damaged (lengths that run past the end, a
/// count that does not match).
pub fn elems(b: &[u8]) -> Option<Vec<&[u8]>> {
    let n = count(b)?;
    let mut out = Vec::with_capacity(n);
    let mut at = HEAD;
    while at < b.len() {
        let (len, start) = get_varint(b, at)?;
        let end = start.checked_add(len)?;
        out.push(b.get(start..end)?);
        at = end;
    }
    (out.len() == n).then_some(out)
}

/// A chunk holding `items`.
pub fn encode<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let size: usize = items
        .iter()
        .map(|v| varint_len(v.as_ref().len()) + v.as_ref().len())
        .sum();
    let mut out = Vec::with_capacity(HEAD + size);
    out.extend_from_slice(&(items.len() as u16).to_be_bytes());
    for v in items {
        put_varint(&mut out, v.as_ref().len());
        out.extend_from_slice(v.as_ref());
    }
    out
}

/// The stored size of one element.
pub fn elem_size(v: usize) -> usize {
    varint_len(v) + v
}

/// Whether a chunk of `len` bytes and `n` elements can take one more element of `v` bytes.
pub fn fits(len: usize, n: usize, v: usize) -> bool {
    n == 0 || (n < MAX_ELEMS && len + elem_size(v) <= MAX_BYTES)
}

/// Appends `v` to chunk `b` (the caller checked [`fits`]).
pub fn push_back(b: &mut Vec<u8>, v: &[u8]) {
    let n = count(b).unwrap_or(0);
    if b.len() < HEAD {
        b.resize(HEAD, 0);
    }
    put_varint(b, v.len());
    b.extend_from_slice(v);
    set_count(b, n + 1);
}

/// Puts `v` first in chunk `b` (the caller checked [`fits`]).
pub fn push_front(b: &mut Vec<u8>, v: &[u8]) {
    let n = count(b).unwrap_or(0);
    if b.len() < HEAD {
        b.resize(HEAD, 0);
    }
    // In place: open a gap after the header and write the element into it.
    let size = elem_size(v.len());
    let old_len = b.len();
    b.resize(old_len + size, 0);
    b.copy_within(HEAD..old_len, HEAD + size);
    let mut head = Vec::with_capacity(5);
    put_varint(&mut head, v.len());
    b[HEAD..HEAD + head.len()].copy_from_slice(&head);
    b[HEAD + head.len()..HEAD + size].copy_from_slice(v);
    set_count(b, n + 1);
}

/// Takes the first element of chunk `b`; `None` if it has none or is damaged.
pub fn pop_front(b: &mut Vec<u8>) -> Option<Vec<u8>> {
    let n = count(b)?.checked_sub(1)?;
    let (len, start) = get_varint(b, HEAD)?;
    let end = start.checked_add(len)?;
    let v = b.get(start..end)?.to_vec();
    b.drain(HEAD..end);
    set_count(b, n);
    Some(v)
}

/// Takes the last element of chunk `b`; `None` if it has none or is damaged.
pub fn pop_back(b: &mut Vec<u8>) -> Option<Vec<u8>> {
    let n = count(b)?.checked_sub(1)?;
    let mut at = HEAD;
    let mut last = None;
    while at < b.len() {
        let (len, start) = get_varint(b, at)?;
        let end = start.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        last = Some((at, start));
        at = end;
    }
    let (at, start) = last?;
    let v = b[start..].to_vec();
    b.truncate(at);
    set_count(b, n);
    Some(v)
}

/// Splits `items` into runs that each fit one chunk, in order.
pub fn pack<T: AsRef<[u8]>>(items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let (mut start, mut len, mut n) = (0, HEAD, 0);
    for (i, v) in items.iter().enumerate() {
        let s = v.as_ref().len();
        if !fits(len, n, s) {
            out.push(&items[start..i]);
            (start, len, n) = (i, HEAD, 0);
        }
        len += elem_size(s);
        n += 1;
    }
    if n > 0 {
        out.push(&items[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_push_pop_and_round_trip() {
        let mut b = encode::<&[u8]>(&[]);
        assert_eq!(count(&b), Some(0));
        push_back(&mut b, b"b");
        push_front(&mut b, b"a");
        let big = vec![7u8; 300];
        push_back(&mut b, &big);
        assert_eq!(elems(&b).unwrap(), vec![&b"a"[..], b"b", &big]);
        assert_eq!(b, encode(&[&b"a"[..], b"b", &big]));
        assert_eq!(pop_back(&mut b).unwrap(), big);
        assert_eq!(pop_front(&mut b).unwrap(), b"a");
        assert_eq!(pop_front(&mut b).unwrap(), b"b");
        assert_eq!(pop_front(&mut b), None);
        assert_eq!(pop_back(&mut b), None);
        assert_eq!(count(&b), Some(0));
    }

    #[test]
    fn damaged_chunks_are_refused() {
        assert_eq!(elems(&[0]), None);
        assert_eq!(elems(&[0, 2, 1, b'a']), None); // count 2, one element
        assert_eq!(elems(&[0, 1, 5, b'a']), None); // length past the end
        assert_eq!(elems(&[0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), None);
        let mut b = vec![0, 1, 5, b'a'];
        assert_eq!(pop_back(&mut b), None);
        assert_eq!(pop_front(&mut b), None);
    }

    #[test]
    fn packing_respects_both_limits() {
        let small: Vec<Vec<u8>> = (0..300).map(|i| vec![i as u8; 3]).collect();
        let runs = pack(&small);
        assert_eq!(
            runs.iter().map(|r| r.len()).collect::<Vec<_>>(),
            [128, 128, 44]
        );
        let big: Vec<Vec<u8>> = vec![vec![1; 3000], vec![2; 3000], vec![3; 100_000], vec![4]];
        let runs = pack(&big);
        assert_eq!(
            runs.iter().map(|r| r.len()).collect::<Vec<_>>(),
            [1, 1, 1, 1]
        );
        for r in runs {
            let c = encode(r);
            assert!(c.len() <= MAX_BYTES || r.len() == 1);
        }
    }
}
