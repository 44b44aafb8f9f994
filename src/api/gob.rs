//! A sans-io encoder of Go's `encoding/gob` stream, for `GetGobVar`.
//!
//! The official Go client reads node variables with `GetVarObj(&obj, sid, name)`, which
//! decodes the bytes `GetGobVar` returns with `gob.NewDecoder(..).Decode(&obj)`. So what we
//! send must be one complete gob stream: the definitions of the composite types it uses,
//! each in its own length-prefixed message, then one message with the value.
//!
//! What is covered is what `GetVar` returns: bool, int, uint, float64, string, `[]byte`,
//! slices, `map[K]V` and structs. A Go decoder matches struct fields by exact name and
//! checks kinds (a wire `int` does not decode into a Go `uint64`), so a [`GobType`] is
//! explicit: [`infer`] picks one from a [`Value`] (maps become structs whose field names are
//! the keys with the first letter in upper case, Go's exported form), and callers that must
//! match a Go type (gopsutil's `UsageStat`, all `uint64`) build the type by hand.
//!
//! Encoding rules (Go's `encoding/gob/doc.go`): unsigned integers below 128 are one byte,
//! others a negated byte count and big-endian bytes; a signed integer is shifted left one
//! bit with the low bit saying "complement"; a float64 is its bits byte-reversed, sent as an
//! unsigned integer; structs are (field delta, value) pairs ending in 0 and zero fields are
//! left out; a non-struct value at top level is preceded by a 0 delta.

use super::Value;

/// The largest nesting of slices, maps and structs encoded (our values are shallow; the
/// bound keeps a cyclic or adversarial value from recursing without end).
const MAX_DEPTH: usize = 16;

/// The first type id the stream may define (Go reserves 0 to 64).
const FIRST_USER_ID: i64 = 65;

/// A Go type as gob describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum GobType {
    /// `bool`.
    Bool,
    /// Any signed integer type (`int`, `int64`, ...).
    Int,
    /// Any unsigned integer type (`uint64`, ...).
    Uint,
    /// `float32` or `float64`.
    Float,
    /// `[]byte`.
    Bytes,
    /// `string`.
    String,
    /// `[]T`.
    Slice(Box<GobType>),
    /// `map[K]V`.
    Map(Box<GobType>, Box<GobType>),
    /// A struct: its Go name and its fields in declaration order.
    Struct(String, Vec<Field>),
}

/// One field of a [`GobType::Struct`].
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The Go field name (what the decoder matches, exactly).
    pub go: String,
    /// The key of the [`Value::Map`] the value is read from.
    pub key: String,
    /// Its type.
    pub ty: GobType,
}

impl Field {
    /// A field read from `key`, named `key` with its first letter upper-cased.
    pub fn new(key: &str, ty: GobType) -> Field {
        Field {
            go: exported(key),
            key: key.to_string(),
            ty,
        }
    }
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GobError(pub String);

impl std::fmt::Display for GobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot encode as gob: {}", self.0)
    }
}

fn err<T>(m: impl Into<String>) -> Result<T, GobError> {
    Err(GobError(m.into()))
}

/// Go's exported form of a key: first letter upper-case (`usedPercent` -> `UsedPercent`).
pub fn exported(key: &str) -> String {
    let mut c = key.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Whether `s`, exported, is a Go identifier a struct field can have.
fn is_go_field(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic())
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// A gob type for `v`: scalars as themselves, lists as slices of their (one) element type,
/// maps as structs (when every key is a Go identifier) or `map[string]T` (when every value
/// has one type). Mixed lists and mixed maps with keys that cannot be field names fail.
pub fn infer(v: &Value) -> Result<GobType, GobError> {
    infer_at(v, 0)
}

fn infer_at(v: &Value, depth: usize) -> Result<GobType, GobError> {
    if depth > MAX_DEPTH {
        return err("nested too deeply");
    }
    Ok(match v {
        Value::Null => return err("null has no gob type"),
        Value::Bool(_) => GobType::Bool,
        Value::Int(_) => GobType::Int,
        Value::Float(_) => GobType::Float,
        Value::Str(_) => GobType::String,
        Value::Bytes(_) => GobType::Bytes,
        Value::List(items) => GobType::Slice(Box::new(one_type(items.iter(), depth)?)),
        Value::Map(pairs) if pairs.iter().all(|(k, _)| is_go_field(k)) => {
            let mut fields = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                // A null field is left out of the stream; its type only has to be valid.
                let ty = match v {
                    Value::Null => GobType::String,
                    v => infer_at(v, depth + 1)?,
                };
                fields.push(Field::new(k, ty));
            }
            GobType::Struct(String::new(), fields)
        }
        Value::Map(pairs) => GobType::Map(
            Box::new(GobType::String),
            Box::new(one_type(pairs.iter().map(|(_, v)| v), depth)?),
        ),
    })
}

/// The one type of a list's elements (ints among floats widen to float64; empty: string).
fn one_type<'a>(
    mut items: impl Iterator<Item = &'a Value>,
    depth: usize,
) -> Result<GobType, GobError> {
    let Some(first) = items.next() else {
        return Ok(GobType::String);
    };
    let mut ty = infer_at(first, depth + 1)?;
    for v in items {
        let t = infer_at(v, depth + 1)?;
        match (&ty, &t) {
            (a, b) if a == b => {}
            (GobType::Float, GobType::Int) => {}
            (GobType::Int, GobType::Float) => ty = GobType::Float,
            _ => return err("a list or map mixes values of different types"),
        }
    }
    Ok(ty)
}

/// Encodes `v` as type `ty`: the whole stream a Go `Decoder` reads with one `Decode`.
pub fn encode(ty: &GobType, v: &Value) -> Result<Vec<u8>, GobError> {
    let mut ids: Vec<(GobType, i64)> = Vec::new();
    let mut out = Vec::new();
    let top = define(ty, &mut ids, &mut out, true, 0)?;
    let mut msg = Vec::new();
    put_int(&mut msg, top);
    if !matches!(ty, GobType::Struct(..)) {
        put_uint(&mut msg, 0);
    }
    value(&mut msg, ty, v, 0)?;
    put_uint(&mut out, msg.len() as u64);
    out.extend_from_slice(&msg);
    Ok(out)
}

/// The id of a built-in type, or `None` for a composite one.
fn builtin_id(ty: &GobType) -> Option<i64> {
    Some(match ty {
        GobType::Bool => 1,
        GobType::Int => 2,
        GobType::Uint => 3,
        GobType::Float => 4,
        GobType::Bytes => 5,
        GobType::String => 6,
        _ => return None,
    })
}

/// Go's spelling of a type, the name a nested type carries in its definition.
fn go_name(ty: &GobType) -> String {
    match ty {
        GobType::Bool => "bool".into(),
        GobType::Int => "int".into(),
        GobType::Uint => "uint64".into(),
        GobType::Float => "float64".into(),
        GobType::Bytes => "[]uint8".into(),
        GobType::String => "string".into(),
        GobType::Slice(e) => format!("[]{}", go_name(e)),
        GobType::Map(k, v) => format!("map[{}]{}", go_name(k), go_name(v)),
        GobType::Struct(n, _) => n.clone(),
    }
}

/// Gives `ty` an id, writing the definitions of it and of the types inside it (inner ones
/// first, so every id is defined before it is used). Go names a top-level unnamed type "".
fn define(
    ty: &GobType,
    ids: &mut Vec<(GobType, i64)>,
    out: &mut Vec<u8>,
    top: bool,
    depth: usize,
) -> Result<i64, GobError> {
    if let Some(id) = builtin_id(ty) {
        return Ok(id);
    }
    if let Some((_, id)) = ids.iter().find(|(t, _)| t == ty) {
        return Ok(*id);
    }
    if depth > MAX_DEPTH {
        return err("nested too deeply");
    }
    // Inner types take their ids first; our own id comes after, as the next free one.
    let inner: Vec<i64> = match ty {
        GobType::Slice(e) => vec![define(e, ids, out, false, depth + 1)?],
        GobType::Map(k, v) => vec![
            define(k, ids, out, false, depth + 1)?,
            define(v, ids, out, false, depth + 1)?,
        ],
        GobType::Struct(_, fields) => {
            let mut v = Vec::with_capacity(fields.len());
            for f in fields {
                v.push(define(&f.ty, ids, out, false, depth + 1)?);
            }
            v
        }
        _ => Vec::new(),
    };
    let id = FIRST_USER_ID + ids.len() as i64;
    ids.push((ty.clone(), id));
    let name = match ty {
        GobType::Struct(n, _) => n.clone(),
        _ if top => String::new(),
        _ => go_name(ty),
    };
    // The wireType value: field 1 SliceT, 2 StructT, 3 MapT, each opening with CommonType.
    let mut w = Vec::new();
    let wire_field = match ty {
        GobType::Slice(_) => 2,
        GobType::Struct(..) => 3,
        _ => 4,
    };
    put_uint(&mut w, wire_field);
    put_uint(&mut w, 1);
    common_type(&mut w, &name, id);
    match ty {
        GobType::Struct(_, fields) => {
            put_uint(&mut w, 1);
            put_uint(&mut w, fields.len() as u64);
            for (f, fid) in fields.iter().zip(&inner) {
                put_uint(&mut w, 1);
                put_str(&mut w, &f.go);
                put_uint(&mut w, 1);
                put_int(&mut w, *fid);
                put_uint(&mut w, 0);
            }
        }
        _ => {
            for fid in &inner {
                put_uint(&mut w, 1);
                put_int(&mut w, *fid);
            }
        }
    }
    put_uint(&mut w, 0); // end of sliceType / structType / mapType
    put_uint(&mut w, 0); // end of wireType
    let mut msg = Vec::new();
    put_int(&mut msg, -id);
    msg.extend_from_slice(&w);
    put_uint(out, msg.len() as u64);
    out.extend_from_slice(&msg);
    Ok(id)
}

/// CommonType{Name, Id}; an empty name is a zero field and left out.
fn common_type(w: &mut Vec<u8>, name: &str, id: i64) {
    if name.is_empty() {
        put_uint(w, 2);
    } else {
        put_uint(w, 1);
        put_str(w, name);
        put_uint(w, 1);
    }
    put_int(w, id);
    put_uint(w, 0);
}

/// Whether `v` is the zero value Go leaves out of a struct.
fn is_zero(ty: &GobType, v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.is_empty() && matches!(ty, GobType::Slice(_) | GobType::Bytes),
        Value::Map(_) => false,
    }
}

fn value(out: &mut Vec<u8>, ty: &GobType, v: &Value, depth: usize) -> Result<(), GobError> {
    if depth > MAX_DEPTH {
        return err("nested too deeply");
    }
    match (ty, v) {
        (GobType::Bool, Value::Bool(b)) => put_uint(out, u64::from(*b)),
        (GobType::Int, Value::Int(i)) => put_int(out, *i),
        (GobType::Int, Value::Float(f)) if f.fract() == 0.0 => put_int(out, *f as i64),
        (GobType::Uint, Value::Int(i)) if *i >= 0 => put_uint(out, *i as u64),
        (GobType::Uint, Value::Float(f)) if f.fract() == 0.0 && *f >= 0.0 => {
            put_uint(out, *f as u64)
        }
        (GobType::Float, Value::Float(f)) => put_float(out, *f),
        (GobType::Float, Value::Int(i)) => put_float(out, *i as f64),
        (GobType::String, Value::Str(s)) => put_str(out, s),
        (GobType::Bytes, Value::Bytes(b)) => {
            put_uint(out, b.len() as u64);
            out.extend_from_slice(b);
        }
        (GobType::Bytes, Value::Str(s)) => put_str(out, s),
        (GobType::Slice(e), Value::List(items)) => {
            put_uint(out, items.len() as u64);
            for item in items {
                value(out, e, item, depth + 1)?;
            }
        }
        (GobType::Map(k, e), Value::Map(pairs)) => {
            put_uint(out, pairs.len() as u64);
            for (key, item) in pairs {
                value(out, k, &Value::Str(key.clone()), depth + 1)?;
                value(out, e, item, depth + 1)?;
            }
        }
        (GobType::Struct(_, fields), Value::Map(_)) => {
            let mut last: i64 = -1;
            for (i, f) in fields.iter().enumerate() {
                let Some(fv) = v.get(&f.key) else { continue };
                if is_zero(&f.ty, fv) {
                    continue;
                }
                put_uint(out, (i as i64 - last) as u64);
                last = i as i64;
                value(out, &f.ty, fv, depth + 1)?;
            }
            put_uint(out, 0);
        }
        (ty, v) => {
            return err(format!("{} does not fit Go type {}", v.kind(), go_name(ty)));
        }
    }
    Ok(())
}

/// An unsigned integer: one byte below 128, else the negated byte count and big-endian bytes.
fn put_uint(out: &mut Vec<u8>, u: u64) {
    if u < 128 {
        out.push(u as u8);
        return;
    }
    let bytes = u.to_be_bytes();
    let skip = (u.leading_zeros() / 8) as usize;
    out.push((-((8 - skip) as i8)) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

/// A signed integer: shifted left, the low bit set (and the rest complemented) when negative.
fn put_int(out: &mut Vec<u8>, i: i64) {
    let u = if i < 0 {
        (!(i as u64) << 1) | 1
    } else {
        (i as u64) << 1
    };
    put_uint(out, u);
}

/// A float64: its bits byte-reversed, so the exponent goes first and trailing zeros drop.
fn put_float(out: &mut Vec<u8>, f: f64) {
    put_uint(out, f.to_bits().swap_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    //! Byte sequences from Go's own `encoding/gob/doc.go`, and streams built from its rules.
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn uint(u: u64) -> Vec<u8> {
        let mut v = Vec::new();
        put_uint(&mut v, u);
        v
    }

    fn int(i: i64) -> Vec<u8> {
        let mut v = Vec::new();
        put_int(&mut v, i);
        v
    }

    #[test]
    fn scalars_match_go_doc() {
        assert_eq!(uint(0), hex("00"));
        assert_eq!(uint(7), hex("07"));
        assert_eq!(uint(256), hex("fe 01 00"));
        assert_eq!(int(-129), hex("fe 01 01"));
        assert_eq!(int(-65), hex("ff 81"));
        assert_eq!(int(65), hex("ff 82"));
        let mut f = Vec::new();
        put_float(&mut f, 17.0);
        assert_eq!(f, hex("fe 31 40"));
        assert_eq!(uint(u64::MAX), hex("f8 ff ff ff ff ff ff ff ff"));
        assert_eq!(int(i64::MIN), hex("f8 ff ff ff ff ff ff ff ff"));
    }

    #[test]
    fn top_level_int_matches_go_doc() {
        // doc.go: Encode(3) emits 03 04 00 06.
        assert_eq!(
            encode(&GobType::Int, &Value::Int(3)).unwrap(),
            hex("03 04 00 06")
        );
    }

    #[test]
    fn point_struct_matches_go_doc() {
        // doc.go: type Point struct {X, Y int}; Encode(Point{22, 33}).
        let ty = GobType::Struct(
            "Point".into(),
            vec![Field::new("X", GobType::Int), Field::new("Y", GobType::Int)],
        );
        let v = Value::map([("X", Value::Int(22)), ("Y", Value::Int(33))]);
        let want = hex("1f ff 81 03 01 01 05 50 6f 69 6e 74 01 ff 82 00 \
             01 02 01 01 58 01 04 00 01 01 59 01 04 00 00 00 \
             07 ff 82 01 2c 01 42 00");
        assert_eq!(encode(&ty, &v).unwrap(), want);
    }

    #[test]
    fn string_at_top_level() {
        // Type id 6 (string) is 0x0c as a signed integer; the 0 delta; the length; the bytes.
        let got = encode(&GobType::String, &Value::from("0.1.0")).unwrap();
        assert_eq!(got, hex("08 0c 00 05 30 2e 31 2e 30"));
        assert_eq!(
            encode(&infer(&Value::from("x")).unwrap(), &Value::from("x")).unwrap()[1],
            0x0c
        );
    }

    #[test]
    fn slice_of_float_defines_its_type_first() {
        // wireType{SliceT: &sliceType{CommonType{"", 65}, Elem: 4}}, then []float64{17}.
        let got = encode(
            &GobType::Slice(Box::new(GobType::Float)),
            &Value::List(vec![Value::Float(17.0)]),
        )
        .unwrap();
        let want = hex("0c ff 81 02 01 02 ff 82 00 01 08 00 00 07 ff 82 00 01 fe 31 40");
        assert_eq!(got, want);
    }

    #[test]
    fn zero_fields_are_left_out_and_deltas_skip_them() {
        let ty = GobType::Struct(
            "S".into(),
            vec![
                Field::new("a", GobType::Uint),
                Field::new("b", GobType::String),
                Field::new("c", GobType::Bool),
            ],
        );
        let v = Value::map([
            ("a", Value::Int(0)),
            ("b", Value::from("")),
            ("c", Value::Bool(true)),
        ]);
        let got = encode(&ty, &v).unwrap();
        // The value message is the last 5 bytes: len 4, id 65, delta 3 to field 2, true, end.
        // The value message: length 5, id 65, delta 3 (to field 2), true, end of struct.
        assert!(got.ends_with(&hex("05 ff 82 03 01 00")));
    }

    #[test]
    fn infer_maps_to_structs_with_exported_names() {
        let v = Value::map([
            ("usedPercent", Value::Float(1.5)),
            ("path", Value::from("/")),
        ]);
        let GobType::Struct(_, fields) = infer(&v).unwrap() else {
            panic!("not a struct")
        };
        assert_eq!(fields[0].go, "UsedPercent");
        assert_eq!(fields[1].go, "Path");
        let odd = Value::Map(vec![("a b".into(), Value::from("x"))]);
        assert_eq!(
            infer(&odd).unwrap(),
            GobType::Map(Box::new(GobType::String), Box::new(GobType::String))
        );
    }

    #[test]
    fn refusals() {
        assert!(infer(&Value::Null).is_err());
        assert!(infer(&Value::List(vec![Value::Int(1), Value::from("x")])).is_err());
        assert!(encode(&GobType::Uint, &Value::Int(-1)).is_err());
        let mut deep = Value::Int(1);
        for _ in 0..40 {
            deep = Value::List(vec![deep]);
        }
        assert!(infer(&deep).is_err());
    }
}
