//! Between the API's [`Value`] and Lua values.
//!
//! Lua to [`Value`]: `nil` and the `null` light userdata are `Null`; integers `Int`; floats
//! `Float`; strings `Str` when valid UTF-8, else `Bytes`; a table whose keys are exactly
//! `1..n` is a `List`, an empty table an empty `Map` (`{}` in JSON), any other table a `Map`
//! (number keys written as text, other key types refused). Functions, threads and userdata
//! are refused with an error that says where. Tables nest at most [`MAX_DEPTH`] deep, so a
//! table that contains itself is an error, not a hang.
//!
//! [`Value`] to Lua: `Null` inside a list or map is `null` (a light userdata that
//! round-trips), at top level `nil`; `Bytes` are Lua strings.

use mlua::{Lua, Table, Value as LuaValue};

use crate::api::Value;

/// Deepest table nesting converted.
pub const MAX_DEPTH: usize = 32;
/// Most values converted from one Lua value (tables included).
pub const MAX_ITEMS: usize = 1_000_000;

/// Converts a Lua value.
pub fn from_lua(v: &LuaValue) -> Result<Value, String> {
    let mut items = 0usize;
    from_lua_at(v, 0, &mut items)
}

fn from_lua_at(v: &LuaValue, depth: usize, items: &mut usize) -> Result<Value, String> {
    *items += 1;
    if *items > MAX_ITEMS {
        return Err(format!("a value holds more than {MAX_ITEMS} items"));
    }
    Ok(match v {
        LuaValue::Nil => Value::Null,
        LuaValue::LightUserData(p) if p.0.is_null() => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::Int(*i),
        LuaValue::Number(n) => Value::Float(*n),
        LuaValue::String(s) => match std::str::from_utf8(&s.as_bytes()) {
            Ok(t) => Value::Str(t.to_string()),
            Err(_) => Value::Bytes(s.as_bytes().to_vec()),
        },
        LuaValue::Table(t) => table(t, depth, items)?,
        other => {
            return Err(format!(
                "a {} cannot leave Lua (only nil, booleans, numbers, strings and tables can)",
                other.type_name()
            ));
        }
    })
}

fn table(t: &Table, depth: usize, items: &mut usize) -> Result<Value, String> {
    if depth >= MAX_DEPTH {
        return Err(format!(
            "tables nest deeper than {MAX_DEPTH} levels (does a table contain itself?)"
        ));
    }
    let n = t.raw_len();
    let mut count = 0usize;
    let mut all_seq = true;
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        count += 1;
        match k {
            LuaValue::Integer(i) if i >= 1 && (i as usize) <= n => {}
            _ => all_seq = false,
        }
    }
    if count == 0 {
        return Ok(Value::Map(Vec::new()));
    }
    if all_seq && count == n {
        let mut out = Vec::with_capacity(n);
        for i in 1..=n {
            let v: LuaValue = t.raw_get(i).map_err(|e| e.to_string())?;
            out.push(from_lua_at(&v, depth + 1, items)?);
        }
        return Ok(Value::List(out));
    }
    let mut out = Vec::with_capacity(count);
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let key = match &k {
            LuaValue::String(s) => s
                .to_str()
                .map_err(|_| "a table key is not UTF-8 text".to_string())?
                .to_string(),
            LuaValue::Integer(i) => i.to_string(),
            LuaValue::Number(f) => f.to_string(),
            LuaValue::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "a table key of type {} cannot leave Lua",
                    other.type_name()
                ));
            }
        };
        out.push((key, from_lua_at(&v, depth + 1, items)?));
    }
    // Lua's table order is arbitrary: sort keys so answers are stable.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Value::Map(out))
}

/// Converts a value for Lua (`Null` is `nil`).
pub fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<LuaValue> {
    match v {
        Value::Null => Ok(LuaValue::Nil),
        other => to_lua_inner(lua, other, 0),
    }
}

fn to_lua_inner(lua: &Lua, v: &Value, depth: usize) -> mlua::Result<LuaValue> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime("value nests too deep for Lua"));
    }
    Ok(match v {
        Value::Null => LuaValue::NULL,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Int(i) => LuaValue::Integer(*i),
        Value::Float(f) => LuaValue::Number(*f),
        Value::Str(s) => LuaValue::String(lua.create_string(s)?),
        Value::Bytes(b) => LuaValue::String(lua.create_string(b)?),
        Value::List(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, to_lua_inner(lua, item, depth + 1)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Map(pairs) => {
            let t = lua.create_table_with_capacity(0, pairs.len())?;
            for (k, item) in pairs {
                t.raw_set(k.as_str(), to_lua_inner(lua, item, depth + 1)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(lua: &Lua, src: &str) -> Result<Value, String> {
        let v: LuaValue = lua.load(src).eval().unwrap();
        from_lua(&v)
    }

    #[test]
    fn values_both_ways() {
        let lua = Lua::new();
        assert_eq!(round(&lua, "nil"), Ok(Value::Null));
        assert_eq!(round(&lua, "42"), Ok(Value::Int(42)));
        assert_eq!(round(&lua, "1.5"), Ok(Value::Float(1.5)));
        assert_eq!(round(&lua, "'hé'"), Ok(Value::Str("hé".into())));
        assert_eq!(round(&lua, "'\\xff'"), Ok(Value::Bytes(vec![0xff])));
        assert_eq!(
            round(&lua, "{1, 'a', true}"),
            Ok(Value::List(vec![
                Value::Int(1),
                "a".into(),
                Value::Bool(true)
            ]))
        );
        assert_eq!(round(&lua, "{}"), Ok(Value::Map(vec![])));
        assert_eq!(
            round(&lua, "{b = 1, a = {2}, [3] = 'x'}"),
            Ok(Value::Map(vec![
                ("3".into(), "x".into()),
                ("a".into(), Value::List(vec![Value::Int(2)])),
                ("b".into(), Value::Int(1)),
            ]))
        );
        assert!(
            round(&lua, "function() end")
                .unwrap_err()
                .contains("function cannot leave Lua")
        );
        assert!(
            round(&lua, "{[{}] = 1}")
                .unwrap_err()
                .contains("key of type table")
        );
        assert!(
            round(&lua, "(function() local t = {} t[1] = t return t end)()")
                .unwrap_err()
                .contains("nest deeper")
        );
        let v = Value::Map(vec![
            ("l".into(), Value::List(vec![Value::Null, Value::Int(1)])),
            ("s".into(), "x".into()),
        ]);
        let lv = to_lua(&lua, &v).unwrap();
        assert_eq!(from_lua(&lv), Ok(v));
        assert_eq!(to_lua(&lua, &Value::Null).unwrap(), LuaValue::Nil);
    }
}
