//! Static analysis of a loaded nginx configuration for 502/504-prone
//! mistakes. Each lint has a stable code, a severity, the SPEC cause it
//! invites, a `file:line`, an explanation and a concrete fix.
//!
//! Not built yet: `badgateway config` says so and exits 2.
