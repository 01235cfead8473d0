//! A byte string that keeps short values inline. Almost every word of an
//! nginx config (directive names, ports, sizes, short paths) fits in 22
//! bytes, so a large config is parsed with few heap allocations; longer
//! ones are shared, not copied, when a word is cloned.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

const INLINE: usize = 22;

/// An immutable byte string; derefs to `[u8]`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(Repr);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Inline(u8, [u8; INLINE]),
    Heap(Arc<[u8]>),
}

impl Bytes {
    /// Copy `b`.
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Bytes(Repr::Inline(b.len() as u8, buf))
        } else {
            Bytes(Repr::Heap(b.into()))
        }
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, buf) => &buf[..*len as usize],
            Repr::Heap(b) => b,
        }
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= INLINE {
            Bytes::new(&v)
        } else {
            Bytes(Repr::Heap(v.into()))
        }
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Self {
        Bytes::new(b)
    }
}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[u8]> for Bytes {
    fn eq(&self, other: &&[u8]) -> bool {
        **self == **other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Bytes {
    fn eq(&self, other: &&[u8; N]) -> bool {
        **self == other[..]
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{:?}", String::from_utf8_lossy(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_and_heap_behave_alike() {
        let short = Bytes::new(b"proxy_pass");
        let long = Bytes::from(vec![b'x'; 100]);
        assert_eq!(&*short, b"proxy_pass");
        assert_eq!(long.len(), 100);
        assert!(short == b"proxy_pass");
        assert_eq!(Bytes::new(&[b'a'; 22]).len(), 22);
        assert_eq!(Bytes::new(&[b'a'; 23]).len(), 23);
        assert_eq!(Bytes::new(b""), Bytes::from(Vec::new()));
        assert!(std::mem::size_of::<Bytes>() <= 24);
    }
}
