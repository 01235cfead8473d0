//! Substring search with searchers built once per call site: `memmem::find`
//! would build a new searcher on every call, which dominates on short log
//! lines.

/// `find!(haystack, b"needle")`: first occurrence.
macro_rules! find {
    ($hay:expr, $needle:literal) => {{
        static F: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new($needle));
        F.find($hay)
    }};
}

/// `rfind!(haystack, b"needle")`: last occurrence.
macro_rules! rfind {
    ($hay:expr, $needle:literal) => {{
        static F: std::sync::LazyLock<memchr::memmem::FinderRev<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::FinderRev::new($needle));
        F.rfind($hay)
    }};
}

pub(crate) use {find, rfind};
