//! `LroBody`: the inner body unread, or the bytes the layer had to read, replayed exactly.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The response body of an [`Lro`](crate::Lro) service.
    ///
    /// Pass-through and final-GET responses stream the inner body unread; a body the layer
    /// read to find a status is replayed byte for byte, followed by the unread rest when it was
    /// larger than the inspection cap.
    ///
    /// ```
    /// use http_body::Body;
    /// let empty = tower_lro::LroBody::<String>::empty();
    /// assert!(empty.is_end_stream());
    /// ```
    pub struct LroBody<B: Body> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B: Body> {
        Inner { #[pin] body: B },
        Replay { data: Option<Bytes>, trailers: Option<Box<HeaderMap>> },
        // The rest in the box the layer read it in (`None` once it was dropped).
        Prefixed { data: Option<Bytes>, rest: Pin<Box<Option<B>>> },
        // The bytes read before the inner body failed, then its error, as the caller would
        // have met it without the layer.
        Failed { data: Option<Bytes>, error: Option<<B as Body>::Error> },
        Empty,
    }
}

impl<B: Body> LroBody<B> {
    #[inline]
    pub(crate) fn inner(body: B) -> Self {
        LroBody {
            kind: Kind::Inner { body },
        }
    }

    pub(crate) fn replay(data: Bytes, trailers: Option<Box<HeaderMap>>) -> Self {
        LroBody {
            kind: Kind::Replay {
                data: Some(data).filter(|d| !d.is_empty()),
                trailers,
            },
        }
    }

    pub(crate) fn prefixed(data: Bytes, rest: Pin<Box<Option<B>>>) -> Self {
        LroBody {
            kind: Kind::Prefixed {
                data: Some(data).filter(|d| !d.is_empty()),
                rest,
            },
        }
    }

    pub(crate) fn failed(data: Bytes, error: B::Error) -> Self {
        LroBody {
            kind: Kind::Failed {
                data: Some(data).filter(|d| !d.is_empty()),
                error: Some(error),
            },
        }
    }

    /// A body with no bytes, as the layer's synthesized `204 No Content` has.
    ///
    /// ```
    /// let body = tower_lro::LroBody::<String>::empty();
    /// # let _ = body;
    /// ```
    pub fn empty() -> Self {
        LroBody { kind: Kind::Empty }
    }
}

impl<B: Body + Default> Default for LroBody<B> {
    fn default() -> Self {
        LroBody::inner(B::default())
    }
}

impl<B: Body + std::fmt::Debug> std::fmt::Debug for LroBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Inner { body } => f.debug_tuple("LroBody::Inner").field(body).finish(),
            Kind::Replay { data, .. } => f
                .debug_struct("LroBody::Replay")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Prefixed { data, rest } => f
                .debug_struct("LroBody::Prefixed")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .field("rest", rest)
                .finish(),
            Kind::Failed { data, error } => f
                .debug_struct("LroBody::Failed")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .field("failed", &error.is_some())
                .finish(),
            Kind::Empty => f.write_str("LroBody::Empty"),
        }
    }
}

impl<B> Body for LroBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    // Inlined: on pass-through the wrapper must fold into the inner body's own poll.
    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Replay { data, trailers } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(*t))))
            }
            KindProj::Prefixed { data, rest } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                match rest.as_mut().as_pin_mut() {
                    Some(rest) => rest.poll_frame(cx),
                    None => Poll::Ready(None),
                }
            }
            KindProj::Failed { data, error } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(error.take().map(Err))
            }
            KindProj::Empty => Poll::Ready(None),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Replay { data, trailers } => data.is_none() && trailers.is_none(),
            Kind::Prefixed { data, rest } => {
                data.is_none()
                    && rest
                        .as_ref()
                        .get_ref()
                        .as_ref()
                        .is_none_or(B::is_end_stream)
            }
            Kind::Failed { data, error } => data.is_none() && error.is_none(),
            Kind::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        let len = |d: &Option<Bytes>| d.as_ref().map_or(0, |d| d.len() as u64);
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Replay { data, .. } => SizeHint::with_exact(len(data)),
            Kind::Prefixed { data, rest } => {
                let inner = rest
                    .as_ref()
                    .get_ref()
                    .as_ref()
                    .map_or_else(|| SizeHint::with_exact(0), B::size_hint);
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower().saturating_add(len(data)));
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper.saturating_add(len(data)));
                }
                hint
            }
            Kind::Failed { data, .. } => {
                let mut hint = SizeHint::new();
                hint.set_lower(len(data));
                hint
            }
            Kind::Empty => SizeHint::with_exact(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn replays_bytes_and_trailers() {
        let mut t = HeaderMap::new();
        t.insert("x-t", "1".parse().unwrap());
        let body =
            LroBody::<Full<Bytes>>::replay(Bytes::from_static(b"abc"), Some(Box::new(t.clone())));
        assert_eq!(body.size_hint().exact(), Some(3));
        let collected = body.collect().await.unwrap();
        assert_eq!(collected.trailers(), Some(&t));
        assert_eq!(collected.to_bytes(), "abc");
    }

    #[tokio::test]
    async fn prefix_then_rest() {
        let rest = Box::pin(Some(Full::new(Bytes::from_static(b"def"))));
        let body = LroBody::prefixed(Bytes::from_static(b"abc"), rest);
        assert_eq!(body.size_hint().exact(), Some(6));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abcdef");
    }

    #[tokio::test]
    async fn bytes_read_then_the_inner_error() {
        use http_body_util::StreamBody;
        type Failing = StreamBody<futures::stream::Empty<Result<Frame<Bytes>, std::io::Error>>>;
        let error = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let mut body = LroBody::<Failing>::failed(Bytes::from_static(b"{\"a\""), error);
        let first = body.frame().await.unwrap().unwrap();
        assert_eq!(first.into_data().unwrap(), "{\"a\"");
        let err = body.frame().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
        assert!(body.frame().await.is_none());
        assert!(body.is_end_stream());
    }

    #[tokio::test]
    async fn inner_and_empty() {
        let body = LroBody::inner(Full::new(Bytes::from_static(b"x")));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "x");
        let empty = LroBody::<Full<Bytes>>::empty();
        assert_eq!(empty.size_hint().exact(), Some(0));
        assert!(empty.collect().await.unwrap().to_bytes().is_empty());
    }
}
