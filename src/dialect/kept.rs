//! A response kept because it may become the operation's result (Graph's first response,
//! Fabric's succeeded state).

use std::fmt;

use bytes::Bytes;
use http::HeaderMap;

/// A response kept because it may become the result. It can hold the caller's secrets (a new
/// password): `Debug` shows its size only.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Kept {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// As JSON: headers as `[name, value]` pairs and the body, each text when it is UTF-8 (they
/// almost always are), else an array of numbers; either way nothing is lost.
mod kept_wire {
    use super::Kept;

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(untagged)]
    enum WireBytes {
        Text(String),
        Raw(Vec<u8>),
    }

    impl WireBytes {
        fn of(bytes: &[u8]) -> WireBytes {
            match std::str::from_utf8(bytes) {
                Ok(text) => WireBytes::Text(text.to_owned()),
                Err(_) => WireBytes::Raw(bytes.to_vec()),
            }
        }

        fn into_bytes(self) -> Vec<u8> {
            match self {
                WireBytes::Text(text) => text.into_bytes(),
                WireBytes::Raw(raw) => raw,
            }
        }
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wire {
        headers: Vec<(String, WireBytes)>,
        body: WireBytes,
    }

    impl serde::Serialize for Kept {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            Wire {
                headers: self
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), WireBytes::of(v.as_bytes())))
                    .collect(),
                body: WireBytes::of(&self.body),
            }
            .serialize(s)
        }
    }

    impl<'de> serde::Deserialize<'de> for Kept {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Kept, D::Error> {
            use serde::de::Error;
            let wire = Wire::deserialize(d)?;
            let mut headers = http::HeaderMap::with_capacity(wire.headers.len());
            for (name, value) in wire.headers {
                let name = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| D::Error::custom("a kept header name is invalid"))?;
                let value = http::HeaderValue::from_bytes(&value.into_bytes())
                    .map_err(|_| D::Error::custom(format!("kept header {name} is invalid")))?;
                headers.append(name, value);
            }
            Ok(Kept {
                headers,
                body: bytes::Bytes::from(wire.body.into_bytes()),
            })
        }
    }
}

impl fmt::Debug for Kept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kept")
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}
