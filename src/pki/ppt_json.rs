//! Leither's JSON form of a pass, beside our `ppt1.` text (docs/identity.md, "Passes").
//!
//! ```text
//! {"Data":"<std base64 of the data object>","Signature":"<std base64, 64 bytes>",
//!  "SignerID":"<27-character ID>","KeyType":"sodium","Version":1,"CertPK":"<gob, base64url>"}
//! data object = {"SignTime":"<unix s>","EndTime":"<unix s>","<key>":"<value>",...}
//! ```
//!
//! The signature covers the decoded `Data` bytes exactly as carried. Reading is lenient where
//! Leither's documents leave a detail open: `Data` may also be the JSON text itself, the
//! signature a list of byte values, the key a raw `PK` instead of `CertPK`, times numbers or
//! strings; `SignerID` may be either derivation of the key (an older node signs with its
//! legacy ID) and defaults to Leither's.

use super::super::leither_files::{
    Flat, MAX_JSON_LEN, base64_lenient, base64_std, gob_cert_pk, json_string, parse_flat_object,
    parse_gob_cert_pk,
};
use super::{LeitherId, NodeKey, Pass, PkiError, check_data};

/// Names of the data members that carry the validity period, not user data.
const SIGN_TIME: &str = "SignTime";
const END_TIME: &str = "EndTime";

impl Pass {
    /// The same statement as [`Pass::sign`], in Leither's JSON form.
    pub fn sign_json(
        key: &NodeKey,
        data: Vec<(String, String)>,
        sign_time: u64,
        period_secs: u64,
    ) -> Result<Pass, PkiError> {
        // Validity and data rules are the ones of the text form.
        let mut pass = Pass::sign(key, data, sign_time, period_secs)?;
        let mut obj = String::from("{");
        json_string(SIGN_TIME, &mut obj);
        obj.push_str(&format!(":\"{}\",", pass.sign_time));
        json_string(END_TIME, &mut obj);
        obj.push_str(&format!(":\"{}\"", pass.end_time));
        for (k, v) in &pass.data {
            obj.push(',');
            json_string(k, &mut obj);
            obj.push(':');
            json_string(v, &mut obj);
        }
        obj.push('}');
        let signed = obj.into_bytes();
        let signature = key.sign(&signed);
        let text = format!(
            "{{\"Data\":\"{}\",\"Signature\":\"{}\",\"SignerID\":\"{}\",\"KeyType\":\"sodium\",\
             \"Version\":1,\"CertPK\":\"{}\"}}",
            base64_std(&signed),
            base64_std(&signature),
            key.id(),
            super::super::leither_files::base64url_padded(&gob_cert_pk(&key.public_key())),
        );
        if text.len() > MAX_JSON_LEN {
            return Err(PkiError::InvalidPassData {
                reason: format!("the pass would be over {MAX_JSON_LEN} bytes"),
            });
        }
        pass.signature = signature;
        pass.signer_id = key.id();
        pass.json = Some(JsonForm { signed, text });
        Ok(pass)
    }

    /// Parses Leither's JSON form (see the module doc). Checks the shape, not the signature or
    /// the times: call [`Pass::verify`].
    pub fn parse_json(text: &str) -> Result<Pass, PkiError> {
        read(text.trim_ascii()).map_err(|reason| PkiError::PassMalformed { reason })
    }
}

/// What a JSON pass keeps to be verified and written back unchanged.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct JsonForm {
    /// The bytes the signature covers (the decoded `Data`).
    pub(super) signed: Vec<u8>,
    /// The pass as read or written.
    pub(super) text: String,
}

fn str_of<'a>(obj: &'a [(String, Flat)], name: &str) -> Option<&'a Flat> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn time_of(v: Option<&Flat>, name: &str) -> Result<u64, String> {
    match v {
        Some(Flat::Int(n)) => u64::try_from(*n).map_err(|_| format!("{name} is negative")),
        Some(Flat::Str(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("{name} is not a number of unix seconds")),
        _ => Err(format!("the data has no {name}")),
    }
}

fn read(t: &str) -> Result<Pass, String> {
    if t.len() > MAX_JSON_LEN {
        return Err(format!("over the limit of {MAX_JSON_LEN} bytes"));
    }
    let outer = parse_flat_object(t).map_err(|e| format!("not a JSON pass: {e}"))?;
    if let Some(Flat::Str(kt)) = str_of(&outer, "KeyType")
        && !kt.eq_ignore_ascii_case("sodium")
        && !kt.eq_ignore_ascii_case("ed25519")
    {
        return Err(format!("key type {kt:?} is not supported (sodium only)"));
    }
    let signed = match str_of(&outer, "Data") {
        Some(Flat::Str(d)) if d.trim_start().starts_with('{') => d.clone().into_bytes(),
        Some(Flat::Str(d)) => {
            base64_lenient(d, MAX_JSON_LEN).ok_or("Data is neither JSON nor base64")?
        }
        _ => return Err("it has no Data".into()),
    };
    let signature: [u8; 64] = match str_of(&outer, "Signature") {
        Some(Flat::Str(s)) => base64_lenient(s, 64).and_then(|b| b.try_into().ok()),
        Some(Flat::Ints(v)) => v
            .iter()
            .map(|n| u8::try_from(*n).ok())
            .collect::<Option<Vec<u8>>>()
            .and_then(|b| b.try_into().ok()),
        _ => return Err("it has no Signature".into()),
    }
    .ok_or("Signature is not 64 bytes")?;
    let public_key = match (str_of(&outer, "CertPK"), str_of(&outer, "PK")) {
        (Some(Flat::Str(c)), _) => base64_lenient(c, 256)
            .and_then(|g| parse_gob_cert_pk(&g))
            .ok_or("CertPK is not a sodium public key")?,
        (_, Some(Flat::Str(p))) => base64_lenient(p, 32)
            .and_then(|b| b.try_into().ok())
            .ok_or("PK is not a 32-byte key")?,
        _ => return Err("it carries no key (CertPK or PK); the signer cannot be checked".into()),
    };
    let signer_id = match str_of(&outer, "SignerID") {
        Some(Flat::Str(s)) if !s.is_empty() => {
            let id: LeitherId = s.parse().map_err(|e: PkiError| e.to_string())?;
            if !id.is_id_of(&public_key) {
                return Err(format!("SignerID {id} is not the ID of the key it carries"));
            }
            id
        }
        _ => LeitherId::from_public_key(&public_key),
    };
    let data_text = core::str::from_utf8(&signed).map_err(|_| "Data is not UTF-8")?;
    let inner = parse_flat_object(data_text).map_err(|e| format!("Data is not an object: {e}"))?;
    let sign_time = time_of(str_of(&inner, SIGN_TIME), SIGN_TIME).unwrap_or(0);
    let end_time = time_of(str_of(&inner, END_TIME), END_TIME)?;
    if end_time <= sign_time {
        return Err("its end time is not after its sign time".into());
    }
    let mut data = Vec::new();
    for (k, v) in inner {
        if k == SIGN_TIME || k == END_TIME {
            continue;
        }
        let v = match v {
            Flat::Str(s) => s,
            Flat::Int(n) => n.to_string(),
            _ => return Err(format!("the data value of {k:?} is not a string")),
        };
        data.push((k, v));
    }
    check_data(&data)?;
    Ok(Pass {
        public_key,
        signer_id,
        sign_time,
        end_time,
        data,
        signature,
        json: Some(JsonForm {
            signed,
            text: t.to_string(),
        }),
    })
}
