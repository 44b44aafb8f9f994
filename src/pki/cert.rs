//! Leither's certificates: `lpki gencert` (a key's signed statement of who it is, with the
//! secret key beside it) and `lpki genpkcert` (the same statement without the secret, to give
//! to others). The format is ours where Leither's documents leave it open (docs/identity.md,
//! "Certificates"); the members are the ones LPki.md prints.
//!
//! ```text
//! line 1: {"Data":"<std base64 of the data object>","Signature":"<std base64, 64 bytes>",
//!          "SignerID":"<27-character ID>","KeyType":"sodium","Version":1}
//! data object: {"CertPK":"<gob, base64url>","CertPKID":"<ID of that key>","name":"..."}
//! a certificate (secret) adds Leither's key lines: id= ..., pk=..., sk=...
//! ```
//!
//! The signature is ed25519 over the decoded `Data` bytes. A self-signed certificate (no CA)
//! is signed by its own key, so anyone can check it; one signed by a CA names the CA's ID and
//! is checked with the CA's key. Because the key lines follow Leither's key file, a certificate
//! file is also a key file: `NodeKey::load` reads it, so `lpki signppt -c CERT` signs with it.
//! Everything is bounded: a secret certificate fits in a key file (4096 bytes).

use super::key::MAX_KEY_FILE_LEN;
use super::leither_files::{
    Flat, base64_lenient, base64_std, base64url_padded, gob_cert_pk, json_string, key_file_text,
    parse_flat_object, parse_gob_cert_pk, parse_key_file,
};
use super::{LeitherId, NodeKey, PkiError};

/// Members of the data object that are the certificate's own, not the `-m` data.
const CERT_PK: &str = "CertPK";
const CERT_PK_ID: &str = "CertPKID";

/// A certificate, public or with its secret key.
pub struct Cert {
    /// The certified key (`CertPK`).
    pub public_key: [u8; 32],
    /// Its ID (`CertPKID`).
    pub id: LeitherId,
    /// The other members of the data object, sorted by name (`name=weixin`).
    pub data: Vec<(String, String)>,
    /// Who signed it: the key's own ID when self-signed, else the CA's.
    pub signer_id: LeitherId,
    /// The signature over [`Cert::signed`].
    pub signature: [u8; 64],
    /// The data object's bytes as signed.
    pub signed: Vec<u8>,
    /// The certified key's secret, in a certificate (not in a public certificate).
    pub key: Option<NodeKey>,
}

fn bad(reason: impl Into<String>) -> PkiError {
    PkiError::CertMalformed {
        reason: reason.into(),
    }
}

impl Cert {
    /// Certifies `key` with `data` (`-m "name=..."`), signed by `ca` or, without one, by `key`
    /// itself. The result holds the secret key.
    pub fn create(
        key: &NodeKey,
        mut data: Vec<(String, String)>,
        ca: Option<&NodeKey>,
    ) -> Result<Cert, PkiError> {
        if let Some((k, _)) = data
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(CERT_PK) || k.eq_ignore_ascii_case(CERT_PK_ID))
        {
            return Err(PkiError::InvalidPassData {
                reason: format!("{k} is the certificate's own member; choose another name"),
            });
        }
        // Go writes a map's members sorted by name; so do we.
        data.sort();
        let id = key.id();
        let mut obj = String::from("{");
        json_string(CERT_PK, &mut obj);
        obj.push(':');
        json_string(&base64url_padded(&gob_cert_pk(&key.public_key())), &mut obj);
        obj.push(',');
        json_string(CERT_PK_ID, &mut obj);
        obj.push(':');
        json_string(&id.to_string(), &mut obj);
        for (k, v) in &data {
            obj.push(',');
            json_string(k, &mut obj);
            obj.push(':');
            json_string(v, &mut obj);
        }
        obj.push('}');
        let signer = ca.unwrap_or(key);
        let signed = obj.into_bytes();
        let cert = Cert {
            public_key: key.public_key(),
            id,
            data,
            signer_id: signer.id(),
            signature: signer.sign(&signed),
            signed,
            key: Some(key.clone()),
        };
        if cert.to_text().len() > MAX_KEY_FILE_LEN {
            return Err(PkiError::InvalidPassData {
                reason: format!(
                    "the certificate would be over {MAX_KEY_FILE_LEN} bytes; shorten the -m data"
                ),
            });
        }
        Ok(cert)
    }

    /// The public certificate: one JSON line, no secret.
    pub fn public_text(&self) -> String {
        format!(
            "{{\"Data\":\"{}\",\"Signature\":\"{}\",\"SignerID\":\"{}\",\"KeyType\":\"sodium\",\
             \"Version\":1}}\n",
            base64_std(&self.signed),
            base64_std(&self.signature),
            self.signer_id,
        )
    }

    /// The file text: the public line, then the key lines when the secret is held.
    pub fn to_text(&self) -> String {
        let mut t = self.public_text();
        if let Some(k) = &self.key {
            t.push_str(&key_file_text(k));
        }
        t
    }

    /// The same certificate without the secret key (`genpkcert`).
    pub fn public(&self) -> Cert {
        Cert {
            public_key: self.public_key,
            id: self.id,
            data: self.data.clone(),
            signer_id: self.signer_id,
            signature: self.signature,
            signed: self.signed.clone(),
            key: None,
        }
    }

    /// Whether it is signed by its own key.
    pub fn is_self_signed(&self) -> bool {
        self.signer_id.is_id_of(&self.public_key)
    }

    /// Checks the signature with the signer's key `signer_pk` (the certificate's own key when
    /// self-signed; a CA's otherwise), and that `signer_pk` is the signer it names.
    pub fn verify_with(&self, signer_pk: &[u8; 32]) -> Result<(), PkiError> {
        if !self.signer_id.is_id_of(signer_pk) {
            return Err(bad(format!(
                "it names {} as its signer, which is not the key given to check it",
                self.signer_id
            )));
        }
        if super::verify(signer_pk, &self.signed, &self.signature) {
            Ok(())
        } else {
            Err(PkiError::PassBadSignature)
        }
    }

    /// Whether `text` looks like a certificate (a JSON object with `Data` on its first line,
    /// and no `CertPK` beside it, which passes carry).
    pub fn looks_like(text: &str) -> bool {
        let first = text.trim_start().lines().next().unwrap_or("");
        // A JSON pass has the same outer members plus its signer's `CertPK`.
        first.starts_with('{') && first.contains("\"Data\"") && !first.contains("\"CertPK\"")
    }

    /// Reads a certificate or a public certificate. Checks its shape and, when it holds the
    /// secret, that the key lines are the certified key; the signature is checked by
    /// [`Cert::verify_with`].
    pub fn parse(text: &str) -> Result<Cert, PkiError> {
        if text.len() > MAX_KEY_FILE_LEN {
            return Err(bad(format!("it is over {MAX_KEY_FILE_LEN} bytes")));
        }
        let text = text.trim_start();
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        let outer = parse_flat_object(first.trim_ascii())
            .map_err(|e| bad(format!("the first line is not a certificate object: {e}")))?;
        let get = |obj: &[(String, Flat)], name: &str| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if let Some(Flat::Str(kt)) = get(&outer, "KeyType")
            && !kt.eq_ignore_ascii_case("sodium")
            && !kt.eq_ignore_ascii_case("ed25519")
        {
            return Err(bad(format!(
                "key type {kt:?} is not supported (sodium only)"
            )));
        }
        let signed = match get(&outer, "Data") {
            Some(Flat::Str(d)) if d.trim_start().starts_with('{') => d.into_bytes(),
            Some(Flat::Str(d)) => base64_lenient(&d, MAX_KEY_FILE_LEN)
                .ok_or_else(|| bad("Data is neither JSON nor base64"))?,
            _ => return Err(bad("it has no Data")),
        };
        let signature: [u8; 64] = match get(&outer, "Signature") {
            Some(Flat::Str(s)) => base64_lenient(&s, 64).and_then(|b| b.try_into().ok()),
            Some(Flat::Ints(v)) => v
                .iter()
                .map(|n| u8::try_from(*n).ok())
                .collect::<Option<Vec<u8>>>()
                .and_then(|b| b.try_into().ok()),
            _ => return Err(bad("it has no Signature")),
        }
        .ok_or_else(|| bad("Signature is not 64 bytes"))?;
        let inner = core::str::from_utf8(&signed)
            .ok()
            .and_then(|t| parse_flat_object(t).ok())
            .ok_or_else(|| bad("Data is not a JSON object of strings"))?;
        let public_key = match get(&inner, CERT_PK) {
            Some(Flat::Str(c)) => base64_lenient(&c, 256)
                .and_then(|g| parse_gob_cert_pk(&g))
                .ok_or_else(|| bad("CertPK is not a sodium public key"))?,
            _ => return Err(bad("Data has no CertPK")),
        };
        let id = match get(&inner, CERT_PK_ID) {
            Some(Flat::Str(s)) => {
                let id: LeitherId = s.parse()?;
                if !id.is_id_of(&public_key) {
                    return Err(bad(format!("CertPKID {id} is not the ID of CertPK")));
                }
                id
            }
            _ => LeitherId::from_public_key(&public_key),
        };
        let signer_id = match get(&outer, "SignerID") {
            Some(Flat::Str(s)) if !s.is_empty() => s.parse()?,
            _ => id,
        };
        let mut data = Vec::new();
        for (k, v) in inner {
            if k == CERT_PK || k == CERT_PK_ID {
                continue;
            }
            match v {
                Flat::Str(s) => data.push((k, s)),
                Flat::Int(n) => data.push((k, n.to_string())),
                _ => return Err(bad(format!("the data value of {k:?} is not a string"))),
            }
        }
        let key = if super::leither_files::looks_like_leither_key(rest) {
            let key = parse_key_file(rest).map_err(|(line, reason)| {
                bad(format!(
                    "the key lines are broken (line {}): {reason}",
                    line + 1
                ))
            })?;
            if key.public_key() != public_key {
                return Err(bad("its secret key is not the certified key"));
            }
            Some(key)
        } else {
            None
        };
        Ok(Cert {
            public_key,
            id,
            data,
            signer_id,
            signature,
            signed,
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lpki_md_key() -> NodeKey {
        // LPki.md's gencert key (`pk=2T1U4-...`), whose ID is h3PPmr6HVHrmaV_WAbnEP6t3x87.
        parse_key_file(
            "pk=2T1U4-IUMfYpppIcPi8ITJazt8I2PpOI8W1jctmm1Hs=\n\
             sk=eoddzYXYh2XTDp_aIGUxUey0XSDotYyCRl4oIQ9KodDZPVTj4hQx9immkhw-LwhMlrO3wjY-k4jxbWNy2abUew==\n",
        )
        .unwrap()
    }

    #[test]
    fn gencert_matches_lpki_md_and_reads_back() {
        let key = lpki_md_key();
        let data = vec![("name".to_string(), "weixin".to_string())];
        let cert = Cert::create(&key, data, None).unwrap();
        // The data object LPki.md prints for this key and -m "name=weixin".
        assert_eq!(
            std::str::from_utf8(&cert.signed).unwrap(),
            "{\"CertPK\":\"CQwABnNvZGl1bSn_gQMBAQ1Tb2RpdW1LZXlQYWlyAf-CAAECAQJTawEKAAECUGsBCgAAACX_ggIg2T1U4-IUMfYpppIcPi8ITJazt8I2PpOI8W1jctmm1HsA\",\
             \"CertPKID\":\"h3PPmr6HVHrmaV_WAbnEP6t3x87\",\"name\":\"weixin\"}"
        );
        assert!(cert.is_self_signed());
        let text = cert.to_text();
        let back = Cert::parse(&text).unwrap();
        assert_eq!(back.id.to_string(), "h3PPmr6HVHrmaV_WAbnEP6t3x87");
        assert!(back.key.is_some());
        back.verify_with(&back.public_key).unwrap();
        // The file is also a key file.
        let k = parse_key_file(&text).unwrap();
        assert_eq!(k.public_key(), key.public_key());
        // The public certificate has no secret and still verifies.
        let public = back.public().to_text();
        assert!(!public.contains("sk="));
        let p = Cert::parse(&public).unwrap();
        assert!(p.key.is_none());
        p.verify_with(&p.public_key).unwrap();
        assert_eq!(p.data, [("name".to_string(), "weixin".to_string())]);
    }

    #[test]
    fn ca_signed_and_forged_certificates() {
        let key = NodeKey::generate().unwrap();
        let ca = NodeKey::generate().unwrap();
        let cert = Cert::create(&key, vec![], Some(&ca)).unwrap();
        assert!(!cert.is_self_signed());
        let back = Cert::parse(&cert.public_text()).unwrap();
        assert_eq!(back.signer_id, ca.id());
        back.verify_with(&ca.public_key()).unwrap();
        assert!(back.verify_with(&key.public_key()).is_err());
        // A changed data object fails.
        let mut forged = back.public();
        forged.signed[3] ^= 1;
        assert!(forged.verify_with(&ca.public_key()).is_err());
        // Its own members cannot be set through -m.
        let d = vec![("CertPKID".to_string(), "x".to_string())];
        assert!(Cert::create(&key, d, None).is_err());
        // Another key's secret lines are refused.
        let other = key_file_text(&ca);
        assert!(Cert::parse(&format!("{}{other}", cert.public_text())).is_err());
        // Garbage never panics.
        for t in [
            "",
            "{",
            "{\"Data\":1}",
            "{\"Data\":\"e30=\",\"Signature\":\"\"}",
        ] {
            assert!(Cert::parse(t).is_err());
        }
    }
}
