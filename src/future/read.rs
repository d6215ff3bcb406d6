//! Reading a response's body up to the cap the operation asks for, and what the driver keeps
//! between steps.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Bytes, BytesMut};
use http::{response, Response};
use http_body::Body;
use tokio::time::Instant;
use tower::BoxError;

use super::{finish, reply, take_head, Run, Step};
use crate::operation::{Next, Seen};
use crate::wire::headers::detached;
use crate::LroBody;

/// The body being read, pinned in place in a box the operation keeps: each read reuses the
/// box instead of allocating one, and only a body handed over (the rest past the cap, at the
/// end) takes it along.
pub(super) struct Slot<B>(Option<Pin<Box<Option<B>>>>);

impl<B> Slot<B> {
    pub(super) fn empty() -> Self {
        Slot(None)
    }

    fn put(&mut self, body: B) {
        match &mut self.0 {
            Some(slot) => slot.set(Some(body)),
            None => self.0 = Some(Box::pin(Some(body))),
        }
    }

    /// Drops the body (its connection is free again), keeping the box.
    fn clear(&mut self) {
        if let Some(slot) = &mut self.0 {
            slot.set(None);
        }
    }

    fn get(&mut self) -> Option<Pin<&mut B>> {
        self.0.as_mut()?.as_mut().as_pin_mut()
    }

    /// The body with its box, to hand over.
    pub(super) fn take(&mut self) -> Option<Pin<Box<Option<B>>>> {
        self.0.take().filter(|slot| slot.is_some())
    }
}

impl<S, B> Run<S, B> {
    /// Lets go of a body that is done with (so its connection is free during the wait), keeping
    /// the buffer's capacity and the body's box for the next poll.
    fn clear_body(&mut self) {
        self.body.clear();
        self.first = None;
        self.buf.clear();
        self.trailers = None;
    }

    /// Takes the bytes read so far, whole, without copying a single frame.
    pub(super) fn take_read(&mut self) -> Bytes {
        match self.first.take() {
            Some(first) => first,
            None => self.buf.split().freeze(),
        }
    }

    pub(super) fn seen_bytes(&self) -> &[u8] {
        bounded(&self.first, &self.buf, self.cap)
    }

    /// Keeps `head` and the bounded bytes read as the last response, for a `TimedOut` at the
    /// deadline; without a deadline nothing needs it.
    pub(super) fn keep_last(&mut self, head: response::Parts) {
        if self.operation.deadline().is_none() {
            self.clear_body();
            return;
        }
        let body = match self.first.take() {
            Some(first) if first.len() <= self.cap => first,
            _ => Bytes::copy_from_slice(self.seen_bytes()),
        };
        self.clear_body();
        let mut head = head;
        head.headers = detached(&head.headers);
        match self.last.as_mut() {
            Some(last) => **last = (head, body),
            None => self.last = Some(Box::new((head, body))),
        }
    }
}

/// The bytes read so far, at most `cap` of them: what the operation sees and an error keeps,
/// however large the frames the body came in.
pub(super) fn bounded<'a>(first: &'a Option<Bytes>, buf: &'a BytesMut, cap: usize) -> &'a [u8] {
    let bytes = first.as_deref().unwrap_or(buf);
    bytes.get(..cap).unwrap_or(bytes)
}

/// A response head arrived: read its body when the operation wants it, else decide now.
pub(super) fn on_head<S, B: Body>(
    run: &mut Run<S, B>,
    result: Result<Response<B>, BoxError>,
) -> Step<B> {
    let response = match result {
        Ok(response) => response,
        Err(e) => return Step::Ready(Err(run.operation.service_error(e, Instant::now()))),
    };
    let (head, body) = response.into_parts();
    match run.operation.body_cap(&head) {
        Some(cap) => {
            run.clear_body();
            run.body.put(body);
            run.cap = cap;
            Step::Read(head)
        }
        None => {
            let next = run.operation.on_response(reply(&head, Seen::Unread));
            finish(run, next, head, || LroBody::inner(body))
        }
    }
}

/// Reads the body (up to the cap) of the response whose head is `head`, then decides.
pub(super) fn read<S, B>(
    run: &mut Run<S, B>,
    head: &mut response::Parts,
    cx: &mut Context<'_>,
) -> Poll<Step<B>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let Some(mut body) = run.body.get() else {
        return Poll::Ready(Step::Ready(Err("tower-lro: body state lost".into())));
    };
    let mut failed = None;
    let over = loop {
        match ready!(body.as_mut().poll_frame(cx)) {
            None => break false,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    if run.first.is_none() && run.buf.is_empty() {
                        run.first = Some(data);
                    } else {
                        if let Some(first) = run.first.take() {
                            run.buf.extend_from_slice(&first);
                        }
                        run.buf.extend_from_slice(&data);
                    }
                    let len = run.first.as_ref().map_or(run.buf.len(), Bytes::len);
                    if len > run.cap {
                        break true;
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        run.trailers = Some(Box::new(trailers));
                    }
                }
            },
            Some(Err(e)) if run.operation.body_error_is_callers() => {
                // Decided on what was read, as for a body over the cap; if the response is
                // handed over, the caller meets the error where it would have.
                failed = Some(e);
                break true;
            }
            Some(Err(e)) => {
                let error = run.operation.service_error(e.into(), Instant::now());
                return Poll::Ready(Step::Ready(Err(error)));
            }
        }
    };
    let head = take_head(head);
    let bytes = bounded(&run.first, &run.buf, run.cap);
    let seen = if over {
        Seen::Partial(bytes)
    } else {
        Seen::Whole(bytes)
    };
    let next = run.operation.on_response(reply(&head, seen));
    if let Next::Get { .. } = next {
        return Poll::Ready(finish(run, next, head, LroBody::empty));
    }
    let data = run.take_read();
    let rest = run.body.take();
    let trailers = run.trailers.take();
    Poll::Ready(finish(run, next, head, move || match (failed, rest) {
        (Some(error), _) => LroBody::failed(data, error),
        (None, Some(rest)) if over => LroBody::prefixed(data, rest),
        _ => LroBody::replay(data, trailers),
    }))
}
