//! Contract §3: reading a poll response of each monitor kind, and the final GET's answer.

use http::response;
use serde::de::IgnoredAny;

use super::{detect, is_transient, Next, Operation, Reply, Seen, Verb};
use crate::error::ErrorKind;
use crate::info::MonitorKind;
use crate::wire::status::{is_running_word, State, StatusDoc};
use crate::wire::url::Target;

impl Operation {
    pub(super) fn on_poll(&mut self, reply: Reply<'_>) -> Next {
        if is_transient(reply.head.status) {
            return self.retry(reply, ErrorKind::PollFailed);
        }
        self.transient_in_row = 0;
        match self.monitor {
            MonitorKind::Location => self.on_location(reply),
            MonitorKind::ProvisioningState => self.on_resource(reply),
            _ => self.on_status_monitor(reply),
        }
    }

    pub(super) fn on_final(&mut self, reply: Reply<'_>) -> Next {
        let head = reply.head;
        if head.status.is_success() {
            return Next::Return { status: None };
        }
        if is_transient(head.status) {
            return self.retry(reply, ErrorKind::FinalGetFailed);
        }
        Next::Fail(self.response_error(ErrorKind::FinalGetFailed, reply))
    }

    /// §3a: Azure-AsyncOperation / Operation-Location.
    fn on_status_monitor(&mut self, reply: Reply<'_>) -> Next {
        let Reply { head, body, .. } = reply;
        let status = head.status;
        if !status.is_success() {
            return Next::Fail(self.response_error(ErrorKind::PollFailed, reply));
        }
        if !matches!(status.as_u16(), 200..=202) {
            return Next::Fail(
                self.response_error(ErrorKind::MissingStatus, reply)
                    .with_detail(format!("a status monitor answered {status}")),
            );
        }
        let bytes = match body {
            Seen::Partial(_) => {
                let detail = format!("over {} bytes", self.config.body_cap);
                return Next::Fail(
                    self.response_error(ErrorKind::BodyTooLarge, reply)
                        .with_detail(detail),
                );
            }
            Seen::Whole(b) => b,
            Seen::Unread => &[],
        };
        let doc = match StatusDoc::parse(bytes) {
            Ok(doc) => doc,
            Err(_) => {
                // serde_json skips over ignored strings without checking their UTF-8.
                let is_json = std::str::from_utf8(bytes).is_ok()
                    && serde_json::from_slice::<IgnoredAny>(bytes).is_ok();
                let kind = if bytes.iter().all(u8::is_ascii_whitespace) || is_json {
                    ErrorKind::MissingStatus
                } else {
                    ErrorKind::InvalidStatusBody
                };
                return Next::Fail(self.response_error(kind, reply));
            }
        };
        // A refreshed monitor URL replaces the old one (relative to the URL that answered);
        // an unusable one is ignored.
        self.note_location(&head.headers);
        if let Some(Some((kind, target))) = detect::status_monitor(&self.target.uri, &head.headers)
        {
            self.monitor = kind;
            let target = self.for_request(target);
            self.set_target(target);
        }
        let Some(word) = doc.status.as_deref() else {
            return Next::Fail(
                self.response_error(ErrorKind::MissingStatus, reply)
                    .with_detail("no string `status` in the body"),
            );
        };
        self.note(Some(word), &doc);
        match State::of(word) {
            State::Running => self.poll(reply),
            State::Succeeded => self.succeeded(Some(&doc), reply),
            state => self.ended(state, reply),
        }
    }

    /// §3b: the Location URL answers 202 until it answers with the result.
    fn on_location(&mut self, reply: Reply<'_>) -> Next {
        let Reply { head, body, .. } = reply;
        let status = head.status;
        if status.as_u16() == 202 {
            self.refresh_location(head);
            if let Some(doc) = body.whole().and_then(|b| StatusDoc::parse(b).ok()) {
                let word = doc.status.as_deref().or(doc.provisioning_state.as_deref());
                self.note(word, &doc);
            }
            return self.poll(reply);
        }
        if status.is_success() {
            let doc = body
                .whole()
                .and_then(|b| StatusDoc::parse(b).ok())
                .unwrap_or_default();
            let state = if let Some(ps) = doc.provisioning_state.as_deref() {
                self.note(Some(ps), &doc);
                State::of(ps)
            } else if let Some(st) = doc.status.as_deref() {
                let state = State::of(st);
                if state.is_terminal() || is_running_word(st) {
                    self.note(Some(st), &doc);
                    state
                } else {
                    // A resource property called `status`, not an operation state.
                    State::Succeeded
                }
            } else {
                State::Succeeded
            };
            return match state {
                State::Succeeded => Next::Return { status: None },
                State::Running => {
                    self.refresh_location(head);
                    self.poll(reply)
                }
                state => self.ended(state, reply),
            };
        }
        if status.as_u16() == 404
            && self.verb == Verb::Delete
            && (self.config.any_404_after_delete || self.target.same_path(&self.orig))
        {
            self.gone_on_404 = true;
            return Next::ReturnNoContent;
        }
        // The Location answers what the operation would have answered synchronously.
        Next::Fail(self.response_error(ErrorKind::OperationFailed, reply))
    }

    /// A Location poll follows only `Location`, relative to the URL that answered.
    fn refresh_location(&mut self, head: &response::Parts) {
        if let Some(target) =
            Target::first_in(&self.target.uri, &head.headers, http::header::LOCATION)
        {
            let target = self.for_request(target);
            self.set_target(target);
        }
    }

    /// §3c: the original URL's provisioningState.
    fn on_resource(&mut self, reply: Reply<'_>) -> Next {
        let Reply { head, body, .. } = reply;
        let status = head.status.as_u16();
        match status {
            202 => self.poll(reply),
            200 | 201 => {
                let doc = body
                    .whole()
                    .and_then(|b| StatusDoc::parse(b).ok())
                    .unwrap_or_default();
                let Some(ps) = doc.provisioning_state.as_deref() else {
                    return Next::Return { status: None };
                };
                self.note(Some(ps), &doc);
                match State::of(ps) {
                    State::Succeeded => Next::Return { status: None },
                    State::Running => self.poll(reply),
                    state => self.ended(state, reply),
                }
            }
            _ if head.status.is_success() => Next::Return { status: None },
            _ => Next::Fail(self.response_error(ErrorKind::PollFailed, reply)),
        }
    }
}
