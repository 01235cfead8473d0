//! A minimal DER reader for the certificate facts a probe shows: subject,
//! issuer, subject alternative names, and validity. It reads only what it
//! needs and never trusts lengths; anything malformed yields `None`. (A full
//! X.509 crate would add a dozen crates to the build for four fields.)

use serde::Serialize;

/// Facts from an end-entity certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertFacts {
    /// Subject as `CN=…, O=…` (peer-controlled text).
    pub subject: String,
    /// Issuer in the same form.
    pub issuer: String,
    /// DNS names and IP addresses from subjectAltName.
    pub sans: Vec<String>,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// notAfter as Unix seconds.
    pub not_after_unix: i64,
    /// notBefore as Unix seconds.
    pub not_before_unix: i64,
    /// Whether subject equals issuer (self-signed or a root).
    pub self_issued: bool,
}

struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Read one TLV; returns it and the rest.
fn tlv(buf: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *buf.first()?;
    let first = *buf.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for &b in buf.get(2..2 + n)? {
            len = (len << 8) | usize::from(b);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((
        Tlv {
            tag,
            body: buf.get(hdr..end)?,
        },
        &buf[end..],
    ))
}

fn expect(buf: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, rest) = tlv(buf)?;
    (t.tag == tag).then_some((t.body, rest))
}

const SEQ: u8 = 0x30;

/// Parse a DER certificate.
pub fn parse(der: &[u8]) -> Option<CertFacts> {
    let (cert, _) = expect(der, SEQ)?;
    let (tbs, _) = expect(cert, SEQ)?;
    let mut rest = tbs;
    // [0] EXPLICIT version, optional.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.1;
    }
    rest = tlv(rest)?.1; // serialNumber
    rest = expect(rest, SEQ)?.1; // signature algorithm
    let (issuer, r) = expect(rest, SEQ)?;
    let (validity, r) = expect(r, SEQ)?;
    let (subject, r) = expect(r, SEQ)?;
    let mut rest = expect(r, SEQ)?.1; // subjectPublicKeyInfo
    let (nb, v) = tlv(validity)?;
    let (na, _) = tlv(v)?;
    let not_before_unix = time(nb.tag, nb.body)?;
    let not_after_unix = time(na.tag, na.body)?;
    let mut sans = Vec::new();
    while let Some((t, r)) = tlv(rest) {
        rest = r;
        if t.tag == 0xa3 {
            let (exts, _) = expect(t.body, SEQ)?;
            sans = subject_alt_names(exts).unwrap_or_default();
        }
    }
    let subject_s = name(subject).unwrap_or_default();
    let issuer_s = name(issuer).unwrap_or_default();
    Some(CertFacts {
        self_issued: subject == issuer,
        subject: subject_s,
        issuer: issuer_s,
        sans,
        not_before: rfc3339(not_before_unix),
        not_after: rfc3339(not_after_unix),
        not_after_unix,
        not_before_unix,
    })
}

fn name(mut rdns: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !rdns.is_empty() {
        let (set, r) = expect(rdns, 0x31)?;
        rdns = r;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (atv, r) = expect(atvs, SEQ)?;
            atvs = r;
            let (oid, r) = expect(atv, 0x06)?;
            let (val, _) = tlv(r)?;
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x06] => "C",
                [0x55, 0x04, 0x07] => "L",
                [0x55, 0x04, 0x08] => "ST",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                _ => continue,
            };
            parts.push(format!("{key}={}", String::from_utf8_lossy(val.body)));
        }
    }
    Some(parts.join(", "))
}

fn subject_alt_names(mut exts: &[u8]) -> Option<Vec<String>> {
    while !exts.is_empty() {
        let (ext, r) = expect(exts, SEQ)?;
        exts = r;
        let (oid, mut r) = expect(ext, 0x06)?;
        if oid != [0x55, 0x1d, 0x11] {
            continue;
        }
        if r.first() == Some(&0x01) {
            r = tlv(r)?.1; // critical
        }
        let (octets, _) = expect(r, 0x04)?;
        let (mut names, _) = expect(octets, SEQ)?;
        let mut out = Vec::new();
        while !names.is_empty() {
            let (gn, r) = tlv(names)?;
            names = r;
            match (gn.tag, gn.body.len()) {
                (0x82, _) => out.push(String::from_utf8_lossy(gn.body).into_owned()),
                (0x87, 4) => {
                    let b = gn.body;
                    out.push(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
                }
                (0x87, 16) => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(gn.body);
                    out.push(std::net::Ipv6Addr::from(a).to_string());
                }
                _ => {}
            }
        }
        return Some(out);
    }
    Some(Vec::new())
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) to
/// Unix seconds.
fn time(tag: u8, body: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(body).ok()?.strip_suffix('Z')?;
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (year, off) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy = num(0..2)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        (0x18, 14) => (num(0..4)?, 4),
        _ => return None,
    };
    let month = num(off..off + 2)?;
    let day = num(off + 2..off + 4)?;
    let (h, m, sec) = (
        num(off + 4..off + 6)?,
        num(off + 6..off + 8)?,
        num(off + 8..off + 10)?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 for a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds to `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(86400);
    let secs = t.rem_euclid(86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        let t = time(0x18, b"20261121153000Z").unwrap();
        assert_eq!(rfc3339(t), "2026-11-21T15:30:00Z");
        let t = time(0x17, b"491231235959Z").unwrap();
        assert_eq!(rfc3339(t), "2049-12-31T23:59:59Z");
        assert_eq!(time(0x17, b"990230000000Z").map(|_| ()), Some(()));
        assert!(time(0x17, b"99133000000Z").is_none());
    }

    #[test]
    fn garbage_is_none() {
        assert!(parse(b"").is_none());
        assert!(parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(parse(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_none());
    }
}
