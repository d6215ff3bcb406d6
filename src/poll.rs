//! `LroPoll`: the marker on every request the layer makes, for the layers below it.

/// Marks every request the layer makes (polls and the final GET), in the request extensions,
/// so that layers below can tell them apart.
///
/// Credentials follow each request's own origin (behaviour §3): `credentials_allowed()` is
/// true for a request to the caller's origin (also after a poll elsewhere) and to an origin
/// allowed `with_credentials()`, false for other allowed origins and Graph's drive monitors.
/// An auth layer below may add credentials only where it is true; since a layer in between
/// can drop extensions (a retry policy's `clone_request`), put a
/// [`CredentialScopeLayer`](crate::CredentialScopeLayer) below the auth layer as well: it
/// decides from the request's origin, which cannot be lost.
///
/// ```
/// fn add_token<B>(req: &mut http::Request<B>) {
///     let allowed = req
///         .extensions()
///         .get::<tower_lro::LroPoll>()
///         .is_none_or(|poll| poll.credentials_allowed());
///     if allowed {
///         req.headers_mut().insert("authorization", http::HeaderValue::from_static("Bearer t"));
///     }
/// }
/// # add_token(&mut http::Request::new(()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LroPoll {
    pub(crate) attempt: u32,
    pub(crate) same_origin: bool,
    pub(crate) credentials_allowed: bool,
    pub(crate) final_get: bool,
}

impl LroPoll {
    /// The marker of poll number `attempt` on the original origin, credentials allowed: for
    /// unit tests of layers that key on it.
    ///
    /// ```
    /// use tower_lro::LroPoll;
    /// let poll = LroPoll::new(3);
    /// assert!(poll.same_origin() && poll.credentials_allowed() && !poll.final_get());
    /// let foreign = LroPoll::new(1).on_other_origin(false);
    /// assert!(!foreign.same_origin() && !foreign.credentials_allowed());
    /// assert!(LroPoll::new(2).as_final_get().final_get());
    /// ```
    pub fn new(attempt: u32) -> Self {
        LroPoll {
            attempt,
            same_origin: true,
            credentials_allowed: true,
            final_get: false,
        }
    }

    /// The same request to an allow-listed other origin, with or without credentials.
    ///
    /// ```
    /// let p = tower_lro::LroPoll::new(1).on_other_origin(true);
    /// assert!(p.credentials_allowed());
    /// ```
    pub fn on_other_origin(mut self, credentials_allowed: bool) -> Self {
        self.same_origin = false;
        self.credentials_allowed = credentials_allowed;
        self
    }

    /// The same request after credentials were stripped earlier in the operation.
    ///
    /// ```
    /// assert!(!tower_lro::LroPoll::new(4).without_credentials().credentials_allowed());
    /// ```
    pub fn without_credentials(mut self) -> Self {
        self.credentials_allowed = false;
        self
    }

    /// The same marker on the GET of the final result.
    ///
    /// ```
    /// assert!(tower_lro::LroPoll::new(2).as_final_get().final_get());
    /// ```
    pub fn as_final_get(mut self) -> Self {
        self.final_get = true;
        self
    }

    /// Poll requests made so far, this one included (the final GET does not count).
    ///
    /// ```
    /// # fn f(p: &tower_lro::LroPoll) { let _n: u32 = p.attempt(); }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// True when the URL is on the original request's origin.
    ///
    /// ```
    /// # fn f(p: &tower_lro::LroPoll) { let _s: bool = p.same_origin(); }
    /// ```
    pub fn same_origin(&self) -> bool {
        self.same_origin
    }

    /// True when credentials may go with this request (same origin, or an allowed origin
    /// admitted with credentials, and no credentials were stripped earlier in the operation).
    ///
    /// ```
    /// # fn f(p: &tower_lro::LroPoll) { let _c: bool = p.credentials_allowed(); }
    /// ```
    pub fn credentials_allowed(&self) -> bool {
        self.credentials_allowed
    }

    /// True for the GET of the final result.
    ///
    /// ```
    /// # fn f(p: &tower_lro::LroPoll) { let _f: bool = p.final_get(); }
    /// ```
    pub fn final_get(&self) -> bool {
        self.final_get
    }
}
