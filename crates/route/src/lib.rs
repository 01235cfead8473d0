//! Request routing as nginx does it: which `server` block (listen address,
//! `default_server`, exact/wildcard/regex `server_name`) and which `location`
//! (`=`, `^~`, longest prefix, regexes in order, nested and named locations) a
//! request matches, and the exact upstream request it becomes after
//! `proxy_pass` URI rewriting.
//!
//! Not built yet: `badgateway route` says so and exits 2.
