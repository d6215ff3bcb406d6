//! Retry hints (behaviour §2) and the schedule used without one.

use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderName};

use crate::config_error::ConfigError;

/// Reads the first retry hint that parses to a positive delay: `retry-after-ms`,
/// `x-ms-retry-after-ms`, then `Retry-After` (seconds or an HTTP-date against `now`, which is
/// read only for a date).
///
/// Zero, negative, past and unparseable hints are no hint; a hint is never an error.
pub(crate) fn hint(headers: &HeaderMap, now: impl Fn() -> SystemTime) -> Option<Duration> {
    const MS: [HeaderName; 2] = [
        HeaderName::from_static("retry-after-ms"),
        HeaderName::from_static("x-ms-retry-after-ms"),
    ];
    for name in &MS {
        for value in headers.get_all(name) {
            if let Some(ms) = value.to_str().ok().and_then(parse_integer) {
                if ms > 0 {
                    return Some(Duration::from_millis(ms));
                }
            }
        }
    }
    for value in headers.get_all(http::header::RETRY_AFTER) {
        let Ok(text) = value.to_str() else { continue };
        if let Some(secs) = parse_integer(text) {
            if secs > 0 {
                return Some(Duration::from_secs(secs));
            }
        } else if let Ok(date) = httpdate::parse_http_date(text.trim()) {
            if let Ok(delay) = date.duration_since(now()) {
                if !delay.is_zero() {
                    return Some(delay);
                }
            }
        }
    }
    None
}

/// A non-negative decimal integer; one too large for 64 bits is unparseable, so no hint
/// (behaviour §2).
fn parse_integer(text: &str) -> Option<u64> {
    let digits = text.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The waits used when the server gives no hint: `initial`, multiplied by `factor` after each
/// unhinted wait, never above `ceiling`.
///
/// ```
/// use std::time::Duration;
/// use tower_lro::PollSchedule;
///
/// let fixed = PollSchedule::fixed(Duration::from_secs(5)).unwrap();
/// let backoff = PollSchedule::exponential(Duration::from_millis(500), 2, Duration::from_secs(20)).unwrap();
/// assert!(PollSchedule::fixed(Duration::ZERO).is_err());
/// # let _ = (fixed, backoff);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollSchedule {
    initial: Duration,
    factor: u32,
    ceiling: Duration,
    /// Up to this many millionths of each wait are cut at random (0: none).
    jitter_ppm: u32,
}

/// Parts per million in a whole.
const MILLION: u32 = 1_000_000;

impl Default for PollSchedule {
    /// 1 s, doubling, up to 30 s.
    fn default() -> Self {
        PollSchedule {
            initial: Duration::from_secs(1),
            factor: 2,
            ceiling: Duration::from_secs(30),
            jitter_ppm: 0,
        }
    }
}

impl PollSchedule {
    /// The same wait every time. A zero wait is refused: it would poll in a hot loop.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let every_two = tower_lro::PollSchedule::fixed(Duration::from_secs(2)).unwrap();
    /// # let _ = every_two;
    /// ```
    pub fn fixed(every: Duration) -> Result<Self, ConfigError> {
        Self::exponential(every, 1, every)
    }

    /// `initial`, multiplied by `factor` after each wait, capped at `ceiling`.
    ///
    /// Refused: a zero `initial` or `factor`, or a `ceiling` below `initial`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// use tower_lro::PollSchedule;
    /// let s = PollSchedule::exponential(Duration::from_secs(1), 2, Duration::from_secs(30)).unwrap();
    /// assert_eq!(s, PollSchedule::default());
    /// assert!(PollSchedule::exponential(Duration::from_secs(5), 2, Duration::from_secs(1)).is_err());
    /// ```
    pub fn exponential(
        initial: Duration,
        factor: u32,
        ceiling: Duration,
    ) -> Result<Self, ConfigError> {
        if initial.is_zero() {
            return Err(ConfigError::new(
                "the poll schedule's first wait must be above zero",
            ));
        }
        if factor == 0 {
            return Err(ConfigError::new(
                "the poll schedule's factor must be at least 1",
            ));
        }
        if ceiling < initial {
            return Err(ConfigError::new(
                "the poll schedule's ceiling is below its first wait",
            ));
        }
        Ok(PollSchedule {
            initial,
            factor,
            ceiling,
            jitter_ppm: 0,
        })
    }

    /// Shortens each of these waits by a random part of up to `fraction` of it, so that
    /// thousands of operations started together do not poll in lockstep. Server hints are never
    /// jittered: the server asked for that wait. Refused: a fraction that is not in `0.0..=1.0`.
    /// No jittered wait is shorter than 1 ms. `LroLayerBuilder::jitter_seed` makes the draws
    /// repeatable in tests.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_lro::PollSchedule;
    /// let spread = PollSchedule::default().with_jitter(0.5).unwrap();
    /// # let _ = spread;
    /// assert!(PollSchedule::default().with_jitter(1.5).is_err());
    /// assert!(PollSchedule::default().with_jitter(f64::NAN).is_err());
    /// ```
    pub fn with_jitter(mut self, fraction: f64) -> Result<Self, ConfigError> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(ConfigError::new(
                "the poll schedule's jitter must be a fraction from 0.0 to 1.0",
            ));
        }
        // In range, so the product is a whole number of millionths that fits a u32.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ppm = (fraction * f64::from(MILLION)).round() as u32;
        self.jitter_ppm = ppm.min(MILLION);
        Ok(self)
    }

    /// True when waits are jittered.
    pub(crate) fn is_jittered(&self) -> bool {
        self.jitter_ppm > 0
    }

    /// The longest wait the schedule makes (its ceiling).
    pub(crate) fn ceiling(&self) -> Duration {
        self.ceiling
    }

    /// The wait after `n` earlier unhinted waits, shortened by the jitter drawn from `rng`.
    pub(crate) fn wait(&self, n: u32, rng: &mut Jitter) -> Duration {
        let mut d = self.initial;
        for _ in 0..n {
            if d >= self.ceiling {
                break;
            }
            d = d.saturating_mul(self.factor);
        }
        let d = d.min(self.ceiling);
        if self.jitter_ppm == 0 {
            return d;
        }
        // cut = d × jitter × u, with u a uniform 32-bit fraction; in u128 nanoseconds.
        let u = u128::from(rng.next() >> 32);
        let cut = d
            .as_nanos()
            .saturating_mul(u128::from(self.jitter_ppm))
            .saturating_mul(u)
            .checked_shr(32)
            .and_then(|c| c.checked_div(u128::from(MILLION)))
            .unwrap_or_default();
        let cut = Duration::from_nanos(u64::try_from(cut).unwrap_or(u64::MAX));
        d.saturating_sub(cut).max(Duration::from_millis(1))
    }
}

/// Draws for jittered waits (SplitMix64: fast, well spread, no cryptographic strength needed).
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn seeded(seed: u64) -> Jitter {
        Jitter(seed)
    }

    /// A seed no other operation of this process is likely to share.
    pub(crate) fn fresh_seed() -> u64 {
        use std::hash::{BuildHasher, Hasher};
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn header_order_and_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = headers(&[
            ("retry-after", "7"),
            ("x-ms-retry-after-ms", "300"),
            ("retry-after-ms", "250"),
        ]);
        assert_eq!(hint(&h, || now), Some(Duration::from_millis(250)));
        let h = headers(&[("retry-after", "7"), ("x-ms-retry-after-ms", "300")]);
        assert_eq!(hint(&h, || now), Some(Duration::from_millis(300)));
        let h = headers(&[("retry-after", " 7 ")]);
        assert_eq!(hint(&h, || now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            hint(&headers(&[("retry-after", &date)]), || now),
            Some(Duration::from_secs(42))
        );
    }

    #[test]
    fn useless_hints_are_no_hint() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        for bad in ["0", "-3", "1.5", "/bar", "", "soon", past.as_str()] {
            assert_eq!(
                hint(&headers(&[("retry-after", bad)]), || now),
                None,
                "{bad:?}"
            );
        }
        // A useless first hint falls through to the next header.
        let h = headers(&[("retry-after-ms", "0"), ("retry-after", "3")]);
        assert_eq!(hint(&h, || now), Some(Duration::from_secs(3)));
        // Too large for 64 bits: no hint, so the next header (or the schedule) decides.
        let h = headers(&[("retry-after", "99999999999999999999999")]);
        assert_eq!(hint(&h, || now), None);
        let h = headers(&[
            ("retry-after-ms", "18446744073709551616"),
            ("retry-after", "4"),
        ]);
        assert_eq!(hint(&h, || now), Some(Duration::from_secs(4)));
        let h = headers(&[("retry-after", "18446744073709551615")]);
        assert_eq!(hint(&h, || now), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn schedule_doubles_to_its_ceiling() {
        let s = PollSchedule::default();
        let rng = &mut Jitter::seeded(0);
        let waits: Vec<u64> = (0..8).map(|n| s.wait(n, rng).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(s.wait(u32::MAX, rng), Duration::from_secs(30));
        let f = PollSchedule::fixed(Duration::from_millis(10)).unwrap();
        assert_eq!(f.wait(5, rng), Duration::from_millis(10));
        assert!(
            PollSchedule::exponential(Duration::from_secs(1), 0, Duration::from_secs(2)).is_err()
        );
    }

    #[test]
    fn jitter_spreads_waits_within_bounds_and_repeats_under_a_seed() {
        let s = PollSchedule::default().with_jitter(0.5).unwrap();
        let draws = |seed| {
            let mut rng = Jitter::seeded(seed);
            (0..200).map(|_| s.wait(5, &mut rng)).collect::<Vec<_>>()
        };
        let waits = draws(42);
        assert_eq!(waits, draws(42), "the same seed, the same waits");
        assert_ne!(waits, draws(43));
        assert!(waits
            .iter()
            .all(|w| *w > Duration::from_secs(15) && *w <= Duration::from_secs(30)));
        let spread = waits
            .iter()
            .max()
            .unwrap()
            .saturating_sub(*waits.iter().min().unwrap());
        assert!(
            spread > Duration::from_secs(10),
            "spread over the range: {spread:?}"
        );
        let full = PollSchedule::fixed(Duration::from_millis(2))
            .unwrap()
            .with_jitter(1.0)
            .unwrap();
        let mut rng = Jitter::seeded(1);
        assert!((0..1000).all(|_| full.wait(0, &mut rng) >= Duration::from_millis(1)));
    }

    proptest::proptest! {
        #[test]
        fn any_header_value_is_a_hint_or_none(text in "\\PC{0,40}") {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&text) {
                h.insert("retry-after", v.clone());
                h.insert("retry-after-ms", v);
            }
            let hint = hint(&h, || SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
            proptest::prop_assert!(hint.is_none_or(|d| !d.is_zero()));
        }

        #[test]
        fn positive_integers_are_exact(n in 1u64..1_000_000_000, ws in " {0,3}") {
            let h = headers(&[("retry-after", &format!("{ws}{n}{ws}"))]);
            proptest::prop_assert_eq!(hint(&h, SystemTime::now), Some(Duration::from_secs(n)));
            let h = headers(&[("x-ms-retry-after-ms", &n.to_string())]);
            proptest::prop_assert_eq!(hint(&h, SystemTime::now), Some(Duration::from_millis(n)));
        }

        #[test]
        fn schedule_stays_within_bounds(initial in 1u64..10_000, factor in 1u32..10, extra in 0u64..100_000, n in 0u32..1000) {
            let s = PollSchedule::exponential(
                Duration::from_millis(initial), factor, Duration::from_millis(initial + extra)).unwrap();
            let w = s.wait(n, &mut Jitter::seeded(7));
            proptest::prop_assert!(w >= Duration::from_millis(initial) && w <= Duration::from_millis(initial + extra));
        }
    }
}
