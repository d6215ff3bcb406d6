//! Header maps the layer keeps past the response they came in.

use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};

/// A copy of `map` whose values own their bytes.
///
/// hyper's header values are slices of the connection's read buffer, so one kept value pins
/// that whole buffer (8 KiB or more) for as long as the operation waits. Copying the few
/// bytes of each value lets the buffer go.
pub(crate) fn detached(map: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(map.len());
    for (name, value) in map {
        let mut owned = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.set_sensitive(value.is_sensitive());
        out.append(name.clone(), owned);
    }
    out
}

/// Headers kept while an operation waits, for `LroInfo`: every name and value in one
/// allocation of their own bytes, made a map again only when the operation ends.
///
/// A map costs a table, an entry vector and a block per value (over 400 bytes for two
/// headers), and kept custom names pin the blocks they were parsed into; the packed form is
/// the headers' own length plus seven bytes each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackedHeaders(Arc<[u8]>);

/// Entry layout: sensitive flag (1 byte), name length (u16 LE), value length (u32 LE), name,
/// value. A name is at most 64 KiB - 1 long in `http`; a longer value is not kept.
const ENTRY_HEAD: usize = 7;

impl PackedHeaders {
    pub(crate) fn pack(map: &HeaderMap) -> PackedHeaders {
        // Entries too long to frame are not kept.
        let framed = || {
            map.iter().filter_map(|(name, value)| {
                let name_len = u16::try_from(name.as_str().len()).ok()?;
                let value_len = u32::try_from(value.len()).ok()?;
                Some((name, value, name_len, value_len))
            })
        };
        let len = framed().fold(0usize, |n, (name, value, _, _)| {
            n.saturating_add(ENTRY_HEAD)
                .saturating_add(name.as_str().len())
                .saturating_add(value.len())
        });
        // One exact allocation, filled in place (a `Vec` turned into an `Arc` is a second one).
        let mut packed: Arc<[u8]> = std::iter::repeat_n(0, len).collect();
        let Some(mut out) = Arc::get_mut(&mut packed) else {
            return PackedHeaders::default();
        };
        for (name, value, name_len, value_len) in framed() {
            let entry = [
                &[u8::from(value.is_sensitive())][..],
                &name_len.to_le_bytes(),
                &value_len.to_le_bytes(),
                name.as_str().as_bytes(),
                value.as_bytes(),
            ];
            for part in entry {
                let Some((head, rest)) = std::mem::take(&mut out).split_at_mut_checked(part.len())
                else {
                    return PackedHeaders::default();
                };
                head.copy_from_slice(part);
                out = rest;
            }
        }
        PackedHeaders(packed)
    }

    /// The headers as a map, in their order, each value owning its bytes.
    pub(crate) fn unpack(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut rest = &self.0[..];
        while let Some((head, tail)) = rest.split_first_chunk::<ENTRY_HEAD>() {
            let [flag, n0, n1, v0, v1, v2, v3] = *head;
            let name_len = usize::from(u16::from_le_bytes([n0, n1]));
            let value_len = u32::from_le_bytes([v0, v1, v2, v3]) as usize;
            let Some((name, tail)) = tail.split_at_checked(name_len) else {
                break;
            };
            let Some((value, tail)) = tail.split_at_checked(value_len) else {
                break;
            };
            rest = tail;
            // Both were a valid name and value when packed.
            if let (Ok(name), Ok(mut value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                value.set_sensitive(flag == 1);
                map.append(name, value);
            }
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn packed_headers_come_back_as_they_were() {
        let mut map = HeaderMap::new();
        map.append(
            "azure-asyncoperation",
            HeaderValue::from_static("https://m/op?x=1"),
        );
        map.append("x-many", HeaderValue::from_static("one"));
        map.append("x-many", HeaderValue::from_static(""));
        map.append("x-many", HeaderValue::from_static("three"));
        let mut secret = HeaderValue::from_static("token");
        secret.set_sensitive(true);
        map.insert("authorization", secret);
        map.insert("x-bytes", HeaderValue::from_bytes(b"\xff\x80 ok").unwrap());
        let long = "v".repeat(70_000);
        map.insert("x-long", HeaderValue::from_str(&long).unwrap());

        let packed = PackedHeaders::pack(&map);
        let back = packed.unpack();
        assert_eq!(back, map);
        let order: Vec<_> = back.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        let want: Vec<_> = map.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        assert_eq!(order, want);
        assert!(back["authorization"].is_sensitive());
        assert!(!back["x-bytes"].is_sensitive());
        assert!(PackedHeaders::pack(&HeaderMap::new()).unpack().is_empty());
    }

    #[test]
    fn packed_headers_hold_one_block_of_their_own_bytes() {
        let buffer = Bytes::from(vec![b'a'; 8192]);
        let mut map = HeaderMap::new();
        map.append(
            "x-one",
            HeaderValue::from_maybe_shared(buffer.slice(0..4)).unwrap(),
        );
        map.append("retry-after", HeaderValue::from_static("5"));
        let packed = PackedHeaders::pack(&map);
        drop(map);
        assert!(
            buffer.is_unique(),
            "a packed value still pins the read buffer"
        );
        assert_eq!(
            packed.0.len(),
            2 * ENTRY_HEAD + "x-one".len() + 4 + "retry-after".len() + 1
        );
    }

    #[test]
    fn values_no_longer_share_the_buffer_they_were_read_into() {
        let buffer = Bytes::from(vec![b'a'; 8192]);
        let mut map = HeaderMap::new();
        let shared = HeaderValue::from_maybe_shared(buffer.slice(0..4)).unwrap();
        map.append("x-one", shared.clone());
        map.append("x-one", HeaderValue::from_static("second"));
        let mut secret = HeaderValue::from_static("s");
        secret.set_sensitive(true);
        map.insert("x-secret", secret);

        let kept = detached(&map);
        drop((map, shared));
        assert!(
            buffer.is_unique(),
            "a kept value still pins the read buffer"
        );
        let ones: Vec<_> = kept.get_all("x-one").iter().collect();
        assert_eq!(ones, ["aaaa", "second"]);
        assert!(kept["x-secret"].is_sensitive());
    }
}
