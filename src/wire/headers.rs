//! Header maps the layer keeps past the response they came in.

use http::{HeaderMap, HeaderValue};

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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

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
