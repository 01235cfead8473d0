//! nginx value syntax: times (`ngx_parse_time`), sizes (`ngx_parse_size`),
//! flags, and nginx versions for version-dependent defaults.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Parse an nginx time (`30`, `500ms`, `1m`, `1h 30m`, `2d`). A bare number
/// is seconds. Returns `None` for malformed values (nginx rejects them).
pub fn parse_time(s: &str) -> Option<Duration> {
    let mut total_ms: u64 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (mult, used) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.as_bytes().first() {
                Some(b's') | None | Some(b' ') => (1000, usize::from(rest.starts_with('s'))),
                Some(b'm') => (60_000, 1),
                Some(b'h') => (3_600_000, 1),
                Some(b'd') => (86_400_000, 1),
                Some(b'w') => (7 * 86_400_000, 1),
                Some(b'M') => (30 * 86_400_000, 1),
                Some(b'y') => (365 * 86_400_000, 1),
                _ => return None,
            }
        };
        total_ms = total_ms.checked_add(n.checked_mul(mult)?)?;
        rest = rest[used..].trim_start();
    }
    Some(Duration::from_millis(total_ms))
}

/// Parse an nginx size (`4k`, `8K`, `1m`, `1g`, `512`). Bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1024),
        b'm' | b'M' => (&s[..s.len() - 1], 1024 * 1024),
        b'g' | b'G' => (&s[..s.len() - 1], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// Parse an nginx flag (`on`/`off`).
pub fn parse_flag(s: &str) -> Option<bool> {
    match s {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    }
}

/// Format a byte count the way nginx configs write it (`4k`, `16k`, `1m`).
pub fn format_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{}m", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{}k", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

/// Format a duration the way nginx configs write it (`60s`, `500ms`).
pub fn format_time(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else {
        format!("{}s", ms / 1000)
    }
}

/// An nginx version, for defaults that changed over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NginxVersion(pub u32, pub u32, pub u32);

impl NginxVersion {
    /// 1.29.7: `proxy_http_version` defaults to 1.1, no `Connection: close`,
    /// and explicit upstream blocks get `keepalive 32 local`.
    pub const HTTP11_DEFAULT: NginxVersion = NginxVersion(1, 29, 7);
    /// 1.27.3: `proxy_ssl_protocols` defaults to TLSv1.2 TLSv1.3.
    pub const MODERN_SSL_DEFAULT: NginxVersion = NginxVersion(1, 27, 3);
    /// 1.19.10: upstream `keepalive_requests` default 100 → 1000.
    pub const KEEPALIVE_REQUESTS_1000: NginxVersion = NginxVersion(1, 19, 10);
}

impl FromStr for NginxVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().trim_start_matches("nginx/");
        let mut it = s.split('.').map(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>()
        });
        match (it.next(), it.next(), it.next()) {
            (Some(Ok(a)), Some(Ok(b)), c) => {
                Ok(NginxVersion(a, b, c.and_then(Result::ok).unwrap_or(0)))
            }
            _ => Err(format!(
                "not an nginx version: {s:?} (expected e.g. 1.22.1)"
            )),
        }
    }
}

impl fmt::Display for NginxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_time("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse_time("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_time("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_time("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_time("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_time("10x"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("99999999999999999999"), None);
    }

    #[test]
    fn sizes_and_versions() {
        assert_eq!(parse_size("4k"), Some(4096));
        assert_eq!(parse_size("8K"), Some(8192));
        assert_eq!(parse_size("1m"), Some(1 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("k"), None);
        assert_eq!(format_size(16384), "16k");
        assert_eq!("1.22.1".parse(), Ok(NginxVersion(1, 22, 1)));
        assert_eq!("nginx/1.29.7".parse(), Ok(NginxVersion(1, 29, 7)));
        assert!(NginxVersion(1, 22, 1) < NginxVersion::HTTP11_DEFAULT);
    }
}
