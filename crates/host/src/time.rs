//! Wall-clock times as milliseconds since the Unix epoch, and the kernel
//! clock facts needed to turn `/proc` tick counts into them: `btime` from
//! `/proc/stat` and the clock tick rate (`AT_CLKTCK` from
//! `/proc/self/auxv`, what `sysconf(_SC_CLK_TCK)` returns, read without
//! a libc call).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::error::ParseError;

/// A wall-clock instant in milliseconds since 1970-01-01 UTC. Serialized as
/// the integer; `Display` prints ISO 8601 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    /// Now, from the system clock.
    pub fn now() -> Self {
        UnixMillis::from_system_time(SystemTime::now())
    }

    /// Convert a `SystemTime` (e.g. a file's mtime).
    pub fn from_system_time(t: SystemTime) -> Self {
        match t.duration_since(UNIX_EPOCH) {
            Ok(d) => UnixMillis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            Err(e) => UnixMillis(-i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX)),
        }
    }

    /// Seconds plus milliseconds since the epoch; `None` when out of range.
    pub fn from_secs_millis(secs: i64, millis: i64) -> Option<Self> {
        secs.checked_mul(1000)?.checked_add(millis).map(UnixMillis)
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }
}

impl fmt::Display for UnixMillis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.as_secs();
        let ms = self.0.rem_euclid(1000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) to days since 1970-01-01 (inverse of
/// `civil_from_days`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds from the fraction digits after a decimal point (`"5"` →
/// 500, `"123456"` → 123).
pub(crate) fn frac_millis(frac: &str) -> Option<i64> {
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms = 0i64;
    for i in 0..3 {
        ms = ms * 10 + frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
    }
    Some(ms)
}

/// A local date and time without a zone, as PHP-FPM and nginx write them
/// in their logs. Comparable; convert with the host's UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LocalDateTime {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–60.
    pub second: u32,
}

impl LocalDateTime {
    /// The instant, given the zone's offset from UTC in seconds at that
    /// time (`+3600` for CET).
    pub fn to_unix(self, utc_offset_secs: i64) -> UnixMillis {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        let secs = days
            .saturating_mul(86_400)
            .saturating_add(
                i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second),
            )
            .saturating_sub(utc_offset_secs);
        UnixMillis(secs.saturating_mul(1000))
    }

    /// Parse `21-Nov-2026 15:30:36` (PHP-FPM's log format; a fractional
    /// second after the seconds is ignored).
    pub fn parse_fpm(s: &str) -> Option<Self> {
        let (date, time) = s.split_once(' ')?;
        let mut d = date.split('-');
        let day = d.next()?.parse().ok()?;
        let month = month_number(d.next()?)?;
        let year = d.next()?.parse().ok()?;
        let time = time.split('.').next()?;
        let mut t = time.split(':');
        let hour = t.next()?.parse().ok()?;
        let minute = t.next()?.parse().ok()?;
        let second = t.next()?.parse().ok()?;
        if d.next().is_some() || t.next().is_some() {
            return None;
        }
        let v = LocalDateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        v.is_valid().then_some(v)
    }

    fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// `Jan` … `Dec` to 1 … 12.
pub(crate) fn month_number(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|x| *x == m).map(|i| i as u32 + 1)
}

/// What turns kernel tick counts and boot-relative times into wall-clock
/// times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Clock {
    /// Boot time (`btime` in `/proc/stat`), whole seconds since the epoch.
    /// The kernel derives it from the current time minus uptime, so it can
    /// be off by about a second: compare derived times with that margin.
    pub boot_time: i64,
    /// Clock ticks per second for `/proc/PID/stat` times (`USER_HZ`,
    /// 100 on every mainstream architecture).
    pub ticks_per_sec: u64,
}

impl Clock {
    /// The wall-clock time of a `/proc/PID/stat` `starttime` (ticks since
    /// boot).
    pub fn from_ticks(&self, ticks: u64) -> UnixMillis {
        let hz = self.ticks_per_sec.max(1);
        let ms = i64::try_from(ticks.saturating_mul(1000) / hz).unwrap_or(i64::MAX);
        UnixMillis(self.boot_time.saturating_mul(1000).saturating_add(ms))
    }

    /// The wall-clock time of a kernel log timestamp (microseconds since
    /// boot). Suspended time is not counted by that clock, so on laptops
    /// this drifts early; on servers it is close.
    pub fn from_boot_micros(&self, usec: u64) -> UnixMillis {
        let ms = i64::try_from(usec / 1000).unwrap_or(i64::MAX);
        UnixMillis(self.boot_time.saturating_mul(1000).saturating_add(ms))
    }
}

/// `btime` from the text of `/proc/stat`.
pub fn parse_btime(text: &str) -> Result<i64, ParseError> {
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("btime ") {
            return rest
                .trim()
                .parse()
                .map_err(|_| ParseError::new(i + 1, "seconds after `btime`", line));
        }
    }
    Err(ParseError::new(0, "a `btime` line", ""))
}

/// `AT_CLKTCK` from the bytes of `/proc/self/auxv` (pairs of native-endian
/// machine words, terminated by `AT_NULL`). `None` if absent.
pub fn parse_auxv_clock_ticks(auxv: &[u8]) -> Option<u64> {
    const AT_NULL: u64 = 0;
    const AT_CLKTCK: u64 = 17;
    let word = std::mem::size_of::<usize>();
    let read = |b: &[u8]| -> u64 {
        let mut buf = [0u8; 8];
        if cfg!(target_endian = "little") {
            buf[..word].copy_from_slice(b);
            u64::from_le_bytes(buf)
        } else {
            buf[8 - word..].copy_from_slice(b);
            u64::from_be_bytes(buf)
        }
    };
    for pair in auxv.chunks_exact(2 * word) {
        let key = read(&pair[..word]);
        let val = read(&pair[word..]);
        match key {
            AT_NULL => return None,
            AT_CLKTCK => return Some(val),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_format_round_trips_dates() {
        assert_eq!(UnixMillis(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            UnixMillis(1_795_796_436_250).to_string(),
            "2026-11-27T16:20:36.250Z"
        );
        assert_eq!(UnixMillis(-1).to_string(), "1969-12-31T23:59:59.999Z");
        for days in [-800_000, -1, 0, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn fractions() {
        assert_eq!(frac_millis("5"), Some(500));
        assert_eq!(frac_millis("123456"), Some(123));
        assert_eq!(frac_millis(""), Some(0));
        assert_eq!(frac_millis("1x"), None);
    }

    #[test]
    fn fpm_local_times() {
        let t = LocalDateTime::parse_fpm("21-Nov-2026 15:30:36").unwrap();
        assert_eq!(t.to_string(), "2026-11-21 15:30:36");
        assert_eq!(t.to_unix(3600).to_string(), "2026-11-21T14:30:36.000Z");
        assert!(LocalDateTime::parse_fpm("21-Nov-2026 15:30:36.123456").is_some());
        assert!(LocalDateTime::parse_fpm("21-Foo-2026 15:30:36").is_none());
        assert!(LocalDateTime::parse_fpm("21-Nov-2026 25:30:36").is_none());
        assert!(LocalDateTime::parse_fpm("21-Nov-2026").is_none());
    }

    #[test]
    fn btime_and_ticks() {
        let stat = "cpu  1 2 3\nintr 5\nctxt 9\nbtime 1763737200\nprocesses 9\n";
        assert_eq!(parse_btime(stat), Ok(1_763_737_200));
        assert!(parse_btime("cpu 1\n").is_err());
        assert_eq!(parse_btime("btime x\n").unwrap_err().line, 1);
        let c = Clock {
            boot_time: 1000,
            ticks_per_sec: 100,
        };
        assert_eq!(c.from_ticks(250), UnixMillis(1_002_500));
        assert_eq!(c.from_boot_micros(1_500_000), UnixMillis(1_001_500));
    }

    #[test]
    fn real_auxv_has_clock_ticks() {
        let auxv = std::fs::read("/proc/self/auxv").unwrap();
        assert_eq!(parse_auxv_clock_ticks(&auxv), Some(100));
        assert_eq!(parse_auxv_clock_ticks(&[]), None);
        assert_eq!(parse_auxv_clock_ticks(&[1, 2, 3]), None);
    }
}
