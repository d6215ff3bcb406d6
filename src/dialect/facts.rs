//! What the rules know and update about one operation, shared by every dialect: its URLs, the
//! monitor, the last status words, and the dialect's own state.

use std::borrow::Cow;

use http::Uri;

use super::{known_word, DialectState, Rules, SeenLocation, Verb};
use crate::info::MonitorKind;
use crate::wire::status::StatusDoc;
use crate::wire::url::Target;

/// What the rules know and update about one operation.
#[derive(Debug)]
pub(crate) struct Facts {
    pub(crate) verb: Verb,
    /// The original request's URL.
    pub(crate) orig: Target,
    pub(crate) monitor: MonitorKind,
    /// The monitor's URL while `target` is the result's (the final GET); before that the
    /// target is the monitor. Boxed: every waiting operation holds the field.
    monitor_kept: Option<Box<Uri>>,
    pub(crate) target: Target,
    pub(crate) location: SeenLocation,
    // Common words borrowed, not allocated: every waiting operation holds one.
    pub(crate) status_word: Option<Cow<'static, str>>,
    pub(crate) percent_complete: Option<f64>,
    pub(crate) gone_on_404: bool,
    /// What chose the dialect, for `LroInfo`.
    pub(crate) matched_by: &'static str,
    /// The request asked `Prefer: respond-async` (what OData's rules key on).
    pub(crate) asks_async: bool,
    /// The dialect's own facts, whole.
    pub(crate) state: DialectState,
}

impl Facts {
    pub(crate) fn new(verb: Verb, orig: Target) -> Facts {
        Facts {
            verb,
            target: orig.clone(),
            monitor_kept: None,
            orig,
            monitor: MonitorKind::ProvisioningState,
            location: None,
            status_word: None,
            percent_complete: None,
            gone_on_404: false,
            matched_by: "",
            asks_async: false,
            state: DialectState::None,
        }
    }

    /// Remembers what a status body said, for progress and the extension; the word is copied
    /// only when it changes.
    pub(crate) fn note(&mut self, word: Option<&str>, doc: &StatusDoc<'_>) {
        if let Some(word) = word {
            if self.status_word.as_deref() != Some(word) {
                self.status_word = Some(known_word(word));
            }
        }
        if doc.percent_complete.is_some() {
            self.percent_complete = doc.percent_complete;
        }
    }

    /// Remembers a `percentComplete`-like value when it is a finite number (any other JSON
    /// counts as absent).
    pub(crate) fn note_percent(&mut self, value: Option<&serde_json::Value>) {
        if let Some(percent) = value.and_then(serde_json::Value::as_f64) {
            if percent.is_finite() {
                self.percent_complete = Some(percent);
            }
        }
    }

    /// Remembers the latest `Location`, or its unusable value. A relative value resolves
    /// against the URL that answered it (`self.target`).
    pub(crate) fn note_location(&mut self, headers: &http::HeaderMap, rules: &Rules) {
        let Some(value) = headers.get(http::header::LOCATION) else {
            return;
        };
        let seen = Target::first_in(&self.target.uri, headers, http::header::LOCATION)
            .map(|t| self.for_request(t, rules))
            .ok_or_else(|| String::from_utf8_lossy(value.as_bytes()).into_owned());
        match self.location.as_mut() {
            Some(kept) => **kept = seen,
            None => self.location = Some(Box::new(seen)),
        }
    }

    /// Watches the operation through `kind` at `target` from now on.
    pub(crate) fn watch(&mut self, kind: MonitorKind, target: Target, rules: &Rules) {
        let target = self.for_request(target, rules);
        self.monitor = kind;
        self.monitor_kept = None;
        self.target = target;
    }

    /// The monitor's URL (where the next request goes, until the final GET).
    pub(crate) fn monitor_uri(&self) -> &Uri {
        self.monitor_kept.as_deref().unwrap_or(&self.target.uri)
    }

    /// Aims the next request at `target`: a new monitor, or (`result`) the result, the monitor
    /// kept for `LroInfo`, progress and errors.
    pub(crate) fn aim(&mut self, target: Target, result: bool) {
        if !result {
            self.monitor_kept = None;
        } else if self.monitor_kept.is_none() {
            let monitor = std::mem::replace(&mut self.target, target);
            self.monitor_kept = Some(Box::new(monitor.uri));
            return;
        }
        self.target = target;
    }

    /// Applies the api-version option to a monitor or result URL.
    pub(crate) fn for_request(&self, target: Target, rules: &Rules) -> Target {
        if rules.add_api_version {
            target.with_api_version_of(&self.orig.uri)
        } else {
            target
        }
    }
}
