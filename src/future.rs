//! `ResponseFuture`: carries out the steps the operation asks for.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use http::{response, HeaderMap, Request, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};
use tower::{BoxError, Service};

use crate::operation::{Next, Operation, Reply, ResultBody, Seen};
use crate::trace::Trace;

mod read;
use crate::LroBody;
use read::{on_head, read};

pin_project! {
    /// The response future of [`Lro`](crate::Lro).
    ///
    /// Dropping it stops polling at once; the operation goes on at the server.
    ///
    /// ```
    /// # use tower::{Service, ServiceExt};
    /// # async fn run() {
    /// # let client = tower::service_fn(|_: http::Request<String>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let mut service = tower_lro::Lro::new(client);
    /// let future: tower_lro::ResponseFuture<_, String, String> =
    ///     service.ready().await.unwrap().call(http::Request::new(String::new()));
    /// let _response = future.await.unwrap();
    /// # }
    /// ```
    pub struct ResponseFuture<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S::Future, Pin<Box<Driver<S, ReqBody, ResBody>>>>,
    }
}

pin_project! {
    /// Pass-through futures stay as small as the inner one; everything an operation needs
    /// lives in one box.
    #[project = KindProj]
    enum Kind<F, D> {
        PassThrough { #[pin] future: F },
        Operation { driver: D },
        // A token the layer refused: nothing was sent.
        Refused { error: Option<crate::LroError> },
    }
}

pin_project! {
    /// Drives one operation: its requests, waits and body reads, within its deadline.
    struct Driver<S, ReqBody, ResBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S::Future, S>,
        // `max_duration` from the call; armed once the first response head has arrived. Boxed:
        // most operations have none, and a `Sleep` is large.
        deadline: Option<Pin<Box<Sleep>>>,
        run: Run<S, ResBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, S> {
        Call { #[pin] future: F },
        // A clone of the service, readied before the next request is built: thousands of
        // operations waiting for capacity hold no request each.
        Ready { service: S },
        Poll { #[pin] future: F },
        // The head of the response whose body is being read: here, not in `Run`, it shares
        // its space with the other steps'.
        Read { head: response::Parts },
        Wait { #[pin] sleep: Sleep },
        Done,
    }
}

/// The operation and what it keeps between steps.
struct Run<S, B> {
    operation: Operation,
    service: S,
    body: read::Slot<B>,
    /// A body's only frame is kept as it came; a second frame starts a copy into `buf`.
    first: Option<Bytes>,
    buf: BytesMut,
    // Boxed, as `last`: rare, and the run is held by every waiting operation.
    trailers: Option<Box<HeaderMap>>,
    cap: usize,
    /// The last response that led to a wait, its body bounded by the cap: what a `TimedOut`
    /// at the deadline carries.
    last: Option<Box<(response::Parts, Bytes)>>,
    trace: Trace,
}

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<ReqBody>>,
{
    #[inline]
    pub(crate) fn pass_through(future: S::Future) -> Self {
        ResponseFuture {
            kind: Kind::PassThrough { future },
        }
    }

    /// A token refused before anything was sent.
    pub(crate) fn refused(error: crate::LroError) -> Self {
        ResponseFuture {
            kind: Kind::Refused { error: Some(error) },
        }
    }

    pub(crate) fn operation(future: S::Future, service: S, operation: Operation) -> Self {
        Self::drive(State::Call { future }, service, operation)
    }

    /// Starts with a request to the operation's current URL.
    pub(crate) fn resumed(service: S, operation: Operation) -> Self
    where
        S: Clone,
        ReqBody: Default,
    {
        // The wait the interrupted run was honouring still counts (behaviour §7).
        let wait = operation.resumed_wait();
        let first = if wait.is_zero() {
            State::Ready {
                service: service.clone(),
            }
        } else {
            State::Wait {
                sleep: tokio::time::sleep(wait),
            }
        };
        Self::drive(first, service, operation)
    }

    fn drive(state: State<S::Future, S>, service: S, operation: Operation) -> Self {
        let deadline = operation
            .deadline()
            .map(|at| Box::pin(tokio::time::sleep_until(at)));
        let run = Run {
            operation,
            service,
            body: read::Slot::empty(),
            first: None,
            buf: BytesMut::new(),
            trailers: None,
            cap: 0,
            last: None,
            trace: Trace::default(),
        };
        ResponseFuture {
            kind: Kind::Operation {
                driver: Box::pin(Driver {
                    state,
                    deadline,
                    run,
                }),
            },
        }
    }
}

/// What the driver does after a step.
// Short-lived return value: boxing the response would cost an allocation per step.
#[allow(clippy::large_enum_variant)]
enum Step<B: Body> {
    Ready(Result<Response<LroBody<B>>, BoxError>),
    Read(response::Parts),
    Send { delay: Duration },
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody, ResBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response<LroBody<ResBody>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            // Mapped in place: each `?` or rebinding of the response is a copy of its head.
            KindProj::PassThrough { future } => future.poll(cx).map(|result| match result {
                Ok(response) => Ok(response.map(LroBody::inner)),
                Err(e) => Err(e.into()),
            }),
            KindProj::Operation { driver } => driver.as_mut().poll(cx),
            KindProj::Refused { error } => Poll::Ready(Err(match error.take() {
                Some(error) => Box::new(error),
                None => "tower-lro: response future polled after completion".into(),
            })),
        }
    }
}

impl<S, ReqBody, ResBody> Future for Driver<S, ReqBody, ResBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response<LroBody<ResBody>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let run = this.run;
        loop {
            let calling = matches!(this.state.as_mut().project(), StateProj::Call { .. });
            if !calling {
                if let Some(deadline) = this.deadline.as_mut() {
                    if deadline.as_mut().poll(cx).is_ready() {
                        let reading = match this.state.as_mut().project() {
                            StateProj::Read { head } => Some(take_head(head)),
                            _ => None,
                        };
                        this.state.set(State::Done);
                        return Poll::Ready(deadline_passed(run, reading));
                    }
                }
            }
            let step = match this.state.as_mut().project() {
                StateProj::Call { future } => {
                    let result = ready!(future.poll(cx)).map_err(Into::into);
                    on_head(run, result)
                }
                StateProj::Ready { service } => {
                    // Polls run inside the operation's span, so layers below see it as parent.
                    let called = {
                        let _span = run.trace.enter(&run.operation);
                        match ready!(service.poll_ready(cx)) {
                            Ok(()) => Ok(service.call(run.operation.request())),
                            Err(e) => Err(e.into()),
                        }
                    };
                    match called {
                        Ok(future) => {
                            this.state.set(State::Poll { future });
                            continue;
                        }
                        Err(e) => on_head(run, Err(e)),
                    }
                }
                StateProj::Poll { future } => {
                    let result = {
                        let _span = run.trace.enter(&run.operation);
                        ready!(future.poll(cx))
                    };
                    on_head(run, result.map_err(Into::into))
                }
                StateProj::Read { head } => ready!(read(run, head, cx)),
                StateProj::Wait { sleep } => {
                    ready!(sleep.poll(cx));
                    Step::Send {
                        delay: Duration::ZERO,
                    }
                }
                StateProj::Done => {
                    return Poll::Ready(Err(
                        "tower-lro: response future polled after completion".into()
                    ))
                }
            };
            match step {
                Step::Ready(result) => {
                    this.state.set(State::Done);
                    return Poll::Ready(result);
                }
                Step::Read(head) => this.state.set(State::Read { head }),
                Step::Send { delay } if !delay.is_zero() => this.state.set(State::Wait {
                    sleep: tokio::time::sleep(delay),
                }),
                Step::Send { .. } => {
                    // Each request goes through its own clone, readied first.
                    this.state.set(State::Ready {
                        service: run.service.clone(),
                    });
                }
            }
        }
    }
}

/// Moves a head out of the state it was kept in, leaving an empty one (no allocation).
fn take_head(head: &mut response::Parts) -> response::Parts {
    std::mem::replace(head, Response::new(()).into_parts().0)
}

/// The deadline passed while a request, a wait or a body read (of `reading`) was under way.
fn deadline_passed<S, B: Body>(
    run: &mut Run<S, B>,
    reading: Option<response::Parts>,
) -> Result<Response<LroBody<B>>, BoxError> {
    let now = Instant::now();
    let next = match &reading {
        Some(head) => run
            .operation
            .on_deadline(Some((head, run.seen_bytes())), now),
        None => {
            let last = run.last.as_deref().map(|(head, body)| (head, &body[..]));
            run.operation.on_deadline(last, now)
        }
    };
    match (next, reading) {
        (Next::Fail(error), _) => Err(Box::new(error)),
        // Handed over as it came: the bytes read, then the rest.
        (_, Some(head)) => {
            let data = run.take_read();
            let body = match run.body.take() {
                Some(rest) => LroBody::prefixed(data, rest),
                None => LroBody::replay(data, None),
            };
            Ok(Response::from_parts(head, body))
        }
        (_, None) => Err("tower-lro: nothing to hand over at the deadline".into()),
    }
}

/// A response for the operation, stamped with the time it was read.
fn reply<'a>(head: &'a response::Parts, body: Seen<'a>) -> Reply<'a> {
    Reply {
        head,
        body,
        now: Instant::now(),
        wall: &SystemTime::now,
    }
}

/// Carries out the operation's decision about the response `head` (whose body `body` makes).
fn finish<S, B: Body>(
    run: &mut Run<S, B>,
    next: Next,
    mut head: response::Parts,
    body: impl FnOnce() -> LroBody<B>,
) -> Step<B> {
    run.trace.step(&run.operation, head.status, &next);
    match next {
        Next::PassThrough => Step::Ready(Ok(Response::from_parts(head, body()))),
        Next::Get { delay } => {
            run.keep_last(head);
            run.operation.report(delay);
            Step::Send { delay }
        }
        Next::Respond(respond) => {
            if let Some(status) = respond.status {
                head.status = status;
            }
            if let Some(headers) = respond.headers {
                head.headers = headers;
            }
            if respond.fresh {
                head.extensions = http::Extensions::new();
            }
            if let Some(name) = respond.remove {
                head.headers.remove(name);
            }
            head.extensions.insert(run.operation.info());
            let body = match respond.body {
                ResultBody::Keep => body(),
                ResultBody::Bytes(bytes) => LroBody::replay(bytes, None),
                ResultBody::Empty => LroBody::empty(),
            };
            Step::Ready(Ok(Response::from_parts(head, body)))
        }
        Next::Fail(error) => Step::Ready(Err(Box::new(error))),
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    type Inner = tower::util::BoxCloneService<Request<String>, Response<String>, BoxError>;

    /// Every waiting operation holds one driver: a field added to it is paid once per
    /// operation in flight (a million times over in BENCHMARKS.md's run). The rare parts
    /// (a deadline's last response, trailers, a location, the monitor during the final GET,
    /// Google's names, the caller's poll headers, progress hooks) are boxed.
    #[test]
    fn a_waiting_operation_holds_under_a_kibibyte_in_its_box() {
        let driver = std::mem::size_of::<Driver<Inner, String, String>>();
        assert!(driver <= 816, "Driver is {driver} bytes");
        let operation = std::mem::size_of::<Operation>();
        assert!(operation <= 528, "Operation is {operation} bytes");
    }

    /// A pass-through costs the inner future and a discriminant, nothing more.
    #[test]
    fn a_pass_through_future_is_the_inner_future_and_a_tag() {
        let inner = std::mem::size_of::<<Inner as Service<Request<String>>>::Future>();
        let ours = std::mem::size_of::<ResponseFuture<Inner, String, String>>();
        assert!(
            ours <= inner + 8,
            "{ours} bytes around a {inner}-byte future"
        );
    }
}
