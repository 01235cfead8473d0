//! Civil (wall-clock) time as nginx writes it, parsed by hand at fixed
//! positions because it is on every line.
//!
//! nginx's error log has local time without a zone and one-second
//! resolution (`2026/11/21 13:40:41`); `$time_local` in access logs is the
//! same local time with an offset (`21/Nov/2026:13:40:41 +0100`). Both are
//! kept as [`LocalTime`]: seconds on the local wall clock, so entries of
//! the two logs compare directly without any time-zone arithmetic.

use std::fmt;

use serde::{Serialize, Serializer};

/// Seconds since 1970-01-01 00:00:00 on the local wall clock (no zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LocalTime(pub i64);

impl LocalTime {
    /// Build from calendar fields; `None` when a field is out of range.
    pub fn from_fields(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<LocalTime> {
        if !(1..=12).contains(&mo)
            || d == 0
            || d > days_in_month(y, mo)
            || h > 23
            || mi > 59
            || s > 60
        {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some(LocalTime(
            days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s),
        ))
    }

    /// Calendar fields `(year, month, day, hour, minute, second)`.
    pub fn fields(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        // The remainders are < 86400, so the casts are lossless.
        let secs = secs as u32;
        (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
    }

    /// The minute this second falls in (`seconds / 60`, floored).
    pub fn minute(self) -> i64 {
        self.0.div_euclid(60)
    }

    /// The start of the minute `m` (as returned by [`LocalTime::minute`]).
    pub fn from_minute(m: i64) -> LocalTime {
        LocalTime(m.saturating_mul(60))
    }

    /// `YYYY-MM-DD HH:MM`, for timelines.
    pub fn minute_label(self) -> String {
        let (y, mo, d, h, mi, _) = self.fields();
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
    }

    /// The local wall-clock time now.
    pub fn now() -> LocalTime {
        let now = jiff::Zoned::now();
        let dt = now.datetime();
        LocalTime::from_fields(
            i64::from(dt.year()),
            u32::try_from(dt.month()).unwrap_or(1),
            u32::try_from(dt.day()).unwrap_or(1),
            u32::try_from(dt.hour()).unwrap_or(0),
            u32::try_from(dt.minute()).unwrap_or(0),
            u32::try_from(dt.second()).unwrap_or(0),
        )
        .unwrap_or_default()
    }

    /// The local wall-clock time of a Unix timestamp (for `$msec`).
    pub fn from_unix(secs: i64) -> LocalTime {
        let Ok(ts) = jiff::Timestamp::from_second(secs) else {
            return LocalTime(secs);
        };
        let offset = jiff::tz::TimeZone::system().to_offset(ts).seconds();
        LocalTime(secs + i64::from(offset))
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.fields();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
    }
}

impl Serialize for LocalTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[inline]
fn d2(b: &[u8], i: usize) -> Option<u32> {
    let (a, c) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (a < 10 && c < 10).then(|| u32::from(a) * 10 + u32::from(c))
}

#[inline]
fn d4(b: &[u8], i: usize) -> Option<i64> {
    Some(i64::from(d2(b, i)?) * 100 + i64::from(d2(b, i + 2)?))
}

/// `YYYY/MM/DD HH:MM:SS` at the start of `b` (the error-log timestamp).
#[inline]
pub fn parse_error_time(b: &[u8]) -> Option<LocalTime> {
    if b.len() < 19
        || b[4] != b'/'
        || b[7] != b'/'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    LocalTime::from_fields(
        d4(b, 0)?,
        d2(b, 5)?,
        d2(b, 8)?,
        d2(b, 11)?,
        d2(b, 14)?,
        d2(b, 17)?,
    )
}

/// Does `b` start like an error-log line (`YYYY/MM/DD HH:MM:SS [`)?
#[inline]
pub fn looks_like_error_line(b: &[u8]) -> bool {
    b.len() >= 21
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[19] == b' '
        && b[20] == b'['
        && b[..4].iter().all(u8::is_ascii_digit)
}

fn month(b: &[u8]) -> Option<u32> {
    const M: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    M.iter().position(|m| m[..] == b[..3]).map(|i| i as u32 + 1)
}

/// `$time_local`: `DD/Mon/YYYY:HH:MM:SS +ZZZZ` (the offset is ignored: the
/// wall-clock part is already local time). Returns the time and the
/// number of bytes consumed (26 with the offset, 20 without).
#[inline]
pub fn parse_time_local(b: &[u8]) -> Option<(LocalTime, usize)> {
    if b.len() < 20
        || b[2] != b'/'
        || b[6] != b'/'
        || b[11] != b':'
        || b[14] != b':'
        || b[17] != b':'
    {
        return None;
    }
    let t = LocalTime::from_fields(
        d4(b, 7)?,
        month(&b[3..6])?,
        d2(b, 0)?,
        d2(b, 12)?,
        d2(b, 15)?,
        d2(b, 18)?,
    )?;
    let used = if b.len() >= 26 && b[20] == b' ' && (b[21] == b'+' || b[21] == b'-') {
        26
    } else {
        20
    };
    Some((t, used))
}

/// `$time_iso8601`: `YYYY-MM-DDTHH:MM:SS` followed by an offset or `Z`
/// (ignored, as for `$time_local`). Also accepts a space for `T`.
pub fn parse_iso(b: &[u8]) -> Option<LocalTime> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    LocalTime::from_fields(
        d4(b, 0)?,
        d2(b, 5)?,
        d2(b, 8)?,
        d2(b, 11)?,
        d2(b, 14)?,
        d2(b, 17)?,
    )
}

/// `$msec` (`1793491200.123`): Unix seconds with milliseconds.
pub fn parse_msec(b: &[u8]) -> Option<LocalTime> {
    let int = b.split(|&c| c == b'.').next()?;
    if int.is_empty() || int.len() > 12 || !int.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs: i64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    Some(LocalTime::from_unix(secs))
}

/// Why a `--since`/`--until` value was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read {0:?} as a time: expected a duration back from now (90s, 30m, 2h, 1d) or a \
     timestamp (2026-11-21 13:40[:41], 2026/11/21 13:40:41, 21/Nov/2026:13:40:41)"
)]
pub struct WhenError(pub String);

/// Read a `--since`/`--until` value: a duration back from `now` (`90s`,
/// `30m`, `2h`, `1d`, `1w`) or a local timestamp in any of the forms nginx
/// writes (or `YYYY-MM-DD HH:MM`).
pub fn parse_when(s: &str, now: LocalTime) -> Result<LocalTime, WhenError> {
    let t = s.trim();
    let err = || WhenError(s.to_owned());
    if let Some(unit) = t.chars().last().filter(char::is_ascii_alphabetic) {
        let num = &t[..t.len() - 1];
        if !num.is_empty() && num.bytes().all(|c| c.is_ascii_digit()) {
            let n: i64 = num.parse().map_err(|_| err())?;
            let mult = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(err()),
            };
            return Ok(LocalTime(now.0 - n.checked_mul(mult).ok_or_else(err)?));
        }
    }
    let b = t.as_bytes();
    if let Some(x) = parse_error_time(b).or_else(|| parse_iso(b)) {
        return Ok(x);
    }
    if let Some((x, _)) = parse_time_local(b) {
        return Ok(x);
    }
    // Minute precision: 2026-11-21 13:40 / 2026-11-21T13:40 / 2026/11/21 13:40
    let date_sep = |b: &[u8]| (b[4] == b'-' && b[7] == b'-') || (b[4] == b'/' && b[7] == b'/');
    if b.len() == 16
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
        && date_sep(b)
        && let (Some(y), Some(mo), Some(d), Some(h), Some(mi)) =
            (d4(b, 0), d2(b, 5), d2(b, 8), d2(b, 11), d2(b, 14))
    {
        return LocalTime::from_fields(y, mo, d, h, mi, 0).ok_or_else(err);
    }
    // A date alone: midnight.
    if b.len() == 10
        && date_sep(b)
        && let (Some(y), Some(mo), Some(d)) = (d4(b, 0), d2(b, 5), d2(b, 8))
    {
        return LocalTime::from_fields(y, mo, d, 0, 0, 0).ok_or_else(err);
    }
    Err(err())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_time_round_trips() {
        let t = parse_error_time(b"2026/11/21 13:40:41 [error]").unwrap();
        assert_eq!(t.to_string(), "2026-11-21T13:40:41");
        assert_eq!(t.fields(), (2026, 11, 21, 13, 40, 41));
        assert_eq!(
            parse_error_time(b"2026/11/01 00:00:00").unwrap().0,
            1_793_491_200
        );
        assert!(parse_error_time(b"2026/13/01 00:00:00").is_none());
        assert!(parse_error_time(b"2026/02/30 00:00:00").is_none());
        assert!(parse_error_time(b"2026/1x/01 00:00:00").is_none());
        assert!(parse_error_time(b"short").is_none());
    }

    #[test]
    fn time_local_and_iso() {
        let (t, n) = parse_time_local(b"21/Nov/2026:13:40:41 +0100] \"GET").unwrap();
        assert_eq!(n, 26);
        assert_eq!(t, parse_error_time(b"2026/11/21 13:40:41").unwrap());
        assert_eq!(parse_iso(b"2026-11-21T13:40:41+01:00"), Some(t));
        assert!(parse_time_local(b"21/Foo/2026:13:40:41 +0100").is_none());
    }

    #[test]
    fn civil_days_are_exact_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let t = LocalTime(days * 86_400 + 3_723);
            let (y, mo, d, h, mi, s) = t.fields();
            assert_eq!(LocalTime::from_fields(y, mo, d, h, mi, s), Some(t));
        }
    }

    #[test]
    fn when_values() {
        let now = parse_error_time(b"2026/11/21 13:40:41").unwrap();
        assert_eq!(
            parse_when("1h", now).unwrap().to_string(),
            "2026-11-21T12:40:41"
        );
        assert_eq!(parse_when("90s", now).unwrap().0, now.0 - 90);
        assert_eq!(
            parse_when("2026-11-21 13:00", now).unwrap().to_string(),
            "2026-11-21T13:00:00"
        );
        assert_eq!(
            parse_when("2026/11/21 13:00:05", now).unwrap().to_string(),
            "2026-11-21T13:00:05"
        );
        assert_eq!(
            parse_when("2026-11-20", now).unwrap().to_string(),
            "2026-11-20T00:00:00"
        );
        assert!(parse_when("yesterday", now).is_err());
        assert!(parse_when("5x", now).is_err());
        assert!(parse_when("", now).is_err());
    }
}
