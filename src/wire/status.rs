//! Status words, provisioningState and error objects of Azure JSON bodies.
//!
//! Bodies are read with hand-written serde visitors over borrowed strings: keys compare
//! case-insensitively (real services send `Error`/`Code`/`Message`), values of the wrong type
//! count as absent, and nothing is copied unless the JSON escapes it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// What a status word says about an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Succeeded,
    Failed,
    Canceled,
    Running,
}

impl State {
    /// Classifies a status or provisioningState word. Never substring-matches.
    pub(crate) fn of(word: &str) -> State {
        let w = word.trim();
        if w.eq_ignore_ascii_case("succeeded") || w.eq_ignore_ascii_case("completed") {
            State::Succeeded
        } else if w.eq_ignore_ascii_case("failed") {
            State::Failed
        } else if w.eq_ignore_ascii_case("canceled") || w.eq_ignore_ascii_case("cancelled") {
            State::Canceled
        } else {
            State::Running
        }
    }

    pub(crate) fn is_terminal(self) -> bool {
        self != State::Running
    }
}

/// The words a Location poll's top-level `status` may use to say "still running" (behaviour §3b).
pub(crate) fn is_running_word(word: &str) -> bool {
    ["notstarted", "running", "inprogress", "accepted"]
        .iter()
        .any(|w| word.trim().eq_ignore_ascii_case(w))
}

/// The service's error code and message.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ErrorDoc<'a> {
    pub(crate) code: Option<Cow<'a, str>>,
    pub(crate) message: Option<Cow<'a, str>>,
}

/// The parts of a JSON body the layer looks at.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct StatusDoc<'a> {
    /// Top-level `status`.
    pub(crate) status: Option<Cow<'a, str>>,
    /// `properties.provisioningState`, else a top-level `provisioningState`.
    pub(crate) provisioning_state: Option<Cow<'a, str>>,
    pub(crate) resource_location: Option<Cow<'a, str>>,
    pub(crate) percent_complete: Option<f64>,
    /// `error` (any case) when it is an object.
    pub(crate) error: Option<ErrorDoc<'a>>,
    /// Top-level `code` / `message` (any case).
    pub(crate) top: ErrorDoc<'a>,
    /// Dataverse's `backgroundOperationErrorCode` / `…Message` (any case).
    pub(crate) background: ErrorDoc<'a>,
}

impl<'a> StatusDoc<'a> {
    /// Parses a body. `Err` means it is not a JSON object (or not JSON at all).
    pub(crate) fn parse(body: &'a [u8]) -> Result<StatusDoc<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let mut doc = de.deserialize_any(DocVisitor)?;
        de.end()?;
        // An empty word says nothing: it counts as absent (behaviour, "Status words").
        let blank = |w: &Cow<'_, str>| w.trim().is_empty();
        if doc.status.as_ref().is_some_and(blank) {
            doc.status = None;
        }
        if doc.provisioning_state.as_ref().is_some_and(blank) {
            doc.provisioning_state = None;
        }
        Ok(doc)
    }

    /// The service's code and message: `error.code`/`error.message`, else top-level ones, else
    /// a Dataverse background operation's `backgroundOperationErrorCode`/`…Message`.
    pub(crate) fn code_and_message(&self) -> (Option<&str>, Option<&str>) {
        let says = |e: &&ErrorDoc<'_>| e.code.is_some() || e.message.is_some();
        let e = self
            .error
            .as_ref()
            .filter(says)
            .or(Some(&self.top).filter(says))
            .unwrap_or(&self.background);
        (e.code.as_deref(), e.message.as_deref())
    }
}

/// A JSON value that counts only when it is a string.
struct Word<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for Word<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WordVisitor { numbers: false })
    }
}

/// A JSON value that counts when it is a string or a number (error codes are sometimes numeric).
struct Code<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for Code<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WordVisitor { numbers: true })
            .map(|w| Code(w.0))
    }
}

struct WordVisitor {
    numbers: bool,
}

impl WordVisitor {
    fn number<'a>(&self, n: impl ToString) -> Word<'a> {
        Word(self.numbers.then(|| Cow::Owned(n.to_string())))
    }
}

impl<'de> Visitor<'de> for WordVisitor {
    type Value = Word<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Word(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Word(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Word(Some(Cow::Owned(v))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.number(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.number(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.number(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Word(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Word(None))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Word(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Word(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Word(None))
    }
}

/// A finite JSON number, or a string holding one; anything else counts as absent.
struct Number(Option<f64>);

impl<'de> de::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Number(Some(v).filter(|n| n.is_finite())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Number(Some(v as f64)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Number(
            v.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        ))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Number(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Number(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Number(None))
    }
}

/// A map key, borrowed unless the JSON escapes it (serde's `Cow<str>` always copies).
struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// Which known key (any case) a map key is.
fn key_is(key: &str, name: &str) -> bool {
    key.eq_ignore_ascii_case(name)
}

/// Keeps the first present value of a repeated key.
fn keep<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

/// Any JSON value other than an object gives `$none` (skipped, never an error).
macro_rules! skip_non_objects {
    ($none:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_seq(seq).map(|_| $none)
        }
        fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = StatusDoc<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = StatusDoc::default();
        let mut top_ps = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key_is(&key.0, "status") {
                keep(&mut doc.status, map.next_value::<Word>()?.0);
            } else if key_is(&key.0, "provisioningState") {
                keep(&mut top_ps, map.next_value::<Word>()?.0);
            } else if key_is(&key.0, "properties") {
                let props = map.next_value::<Properties>()?;
                keep(&mut doc.provisioning_state, props.0);
            } else if key_is(&key.0, "resourceLocation") {
                keep(&mut doc.resource_location, map.next_value::<Word>()?.0);
            } else if key_is(&key.0, "percentComplete") {
                keep(&mut doc.percent_complete, map.next_value::<Number>()?.0);
            } else if key_is(&key.0, "error") {
                keep(&mut doc.error, map.next_value::<ErrorObject>()?.0);
            } else if key_is(&key.0, "code") {
                keep(&mut doc.top.code, map.next_value::<Code>()?.0);
            } else if key_is(&key.0, "message") {
                keep(&mut doc.top.message, map.next_value::<Word>()?.0);
            } else if key_is(&key.0, "backgroundOperationErrorCode") {
                keep(&mut doc.background.code, map.next_value::<Code>()?.0);
            } else if key_is(&key.0, "backgroundOperationErrorMessage") {
                keep(&mut doc.background.message, map.next_value::<Word>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        keep(&mut doc.provisioning_state, top_ps);
        Ok(doc)
    }
}

/// `properties`, reduced to its provisioningState.
struct Properties<'a>(Option<Cow<'a, str>>);

impl<'de> de::Deserialize<'de> for Properties<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PropertiesVisitor)
    }
}

struct PropertiesVisitor;

impl<'de> Visitor<'de> for PropertiesVisitor {
    type Value = Properties<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ps = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key_is(&key.0, "provisioningState") {
                keep(&mut ps, map.next_value::<Word>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Properties(ps))
    }
    skip_non_objects!(Properties(None));
}

/// An `error` object, reduced to its code and message (any key case).
struct ErrorObject<'a>(Option<ErrorDoc<'a>>);

impl<'de> de::Deserialize<'de> for ErrorObject<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ErrorVisitor)
    }
}

struct ErrorVisitor;

impl<'de> Visitor<'de> for ErrorVisitor {
    type Value = ErrorObject<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = ErrorDoc::default();
        while let Some(key) = map.next_key::<Key>()? {
            if key_is(&key.0, "code") {
                keep(&mut doc.code, map.next_value::<Code>()?.0);
            } else if key_is(&key.0, "message") {
                keep(&mut doc.message, map.next_value::<Word>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(ErrorObject(Some(doc)))
    }
    skip_non_objects!(ErrorObject(None));
}

#[cfg(test)]
mod tests;
