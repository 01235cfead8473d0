//! Probes of upstream backends, seen the way an nginx worker sees them:
//! resolution, connect with the raw errno, TLS, and what protocol the peer
//! actually speaks. Every probe is bounded by a timeout.
//!
//! Not built yet: `badgateway probe` says so and exits 2.
