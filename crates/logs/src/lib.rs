//! nginx error and access logs turned into typed upstream events: the
//! error-log line grammar, the message catalogue (message shape → kind →
//! root cause, status, explanation, fix), `log_format` compilation for access
//! logs, and aggregation by cause, upstream, location and minute.
//!
//! Not built yet: `badgateway logs` and `badgateway explain` say so and exit 2.
