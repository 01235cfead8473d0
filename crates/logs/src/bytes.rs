//! Byte searches eight bytes at a time, for the short values of a log line
//! (addresses, names, quoted fields): there a call to `memchr` costs more
//! than the scan itself. Masks flag the lowest matching byte of a word
//! exactly (bytes above it may be flagged falsely, which a search for the
//! first match never looks at).

/// Every byte of a little-endian word set to `c`.
pub(crate) const fn splat(c: u8) -> u64 {
    u64::from_le_bytes([c; 8])
}

/// High bit set in the bytes of `w` equal to `c` (exact for the lowest
/// such byte; bytes above it may be flagged falsely).
#[inline(always)]
pub(crate) fn eq_mask(w: u64, c: u8) -> u64 {
    let x = w ^ splat(c);
    x.wrapping_sub(splat(1)) & !x & splat(0x80)
}

/// High bit set in the bytes of `w` below `n` (`n` <= 128; exact for the
/// lowest such byte, like [`eq_mask`]).
#[inline(always)]
pub(crate) fn below_mask(w: u64, n: u8) -> u64 {
    w.wrapping_sub(splat(n)) & !w & splat(0x80)
}

/// The index of the first byte of `b` that `mask` flags, eight bytes at a
/// time. `mask` must flag the lowest matching byte of a word exactly.
#[inline(always)]
pub(crate) fn first_special(b: &[u8], mask: impl Fn(u64) -> u64) -> Option<usize> {
    let mut i = 0;
    while let Some(w) = b.get(i..i + 8) {
        let m = mask(word(w));
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i == b.len() {
        return None;
    }
    if b.len() >= 8 {
        // The last word, overlapping bytes already looked at: those are
        // masked off (they matched nothing, so they flag nothing above).
        let start = b.len() - 8;
        let m = mask(word(&b[start..])) & (!0u64 << (8 * (i - start)));
        return (m != 0).then(|| start + (m.trailing_zeros() / 8) as usize);
    }
    // Shorter than a word: one byte at a time, read from the lowest byte's
    // flag (exact whatever the padding above it).
    (i..b.len()).find(|&j| mask(u64::from(b[j]) | !0xff) & 0x80 != 0)
}

/// The first eight bytes of `w` as a little-endian word.
#[inline(always)]
fn word(w: &[u8]) -> u64 {
    u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first `c` in `b`.
    fn find_byte(b: &[u8], c: u8) -> Option<usize> {
        first_special(b, |w| eq_mask(w, c))
    }

    #[test]
    fn find_byte_agrees_with_memchr() {
        let hay = b"ab\"cd,\x00\xff\x80\"\"xyz0123456789\"";
        for start in 0..hay.len() {
            for end in start..=hay.len() {
                let b = &hay[start..end];
                for c in [b'"', b',', 0, 0xff, 0x80, b'9', b'q'] {
                    assert_eq!(find_byte(b, c), memchr::memchr(c, b), "{b:?} {c}");
                }
            }
        }
    }
}
