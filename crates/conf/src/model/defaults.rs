//! nginx's built-in defaults for the directives the analysis reads, taken
//! from the modules' merge functions (see the shared catalogue §4). The
//! `*_buffer_size` defaults are one memory page: 4k on x86-64 Linux.

use super::values::NginxVersion;

/// The default value of `name` (first argument form), for `version` when
/// it matters (`None` = unknown: the pre-1.29.7 defaults most installed
/// nginx versions use).
pub fn default_value(name: &str, version: Option<NginxVersion>) -> Option<&'static str> {
    let modern = version.is_some_and(|v| v >= NginxVersion::HTTP11_DEFAULT);
    let (prefix, key) = name.split_once('_')?;
    let upstream_module = matches!(
        prefix,
        "proxy" | "fastcgi" | "uwsgi" | "scgi" | "grpc" | "memcached"
    );
    if upstream_module {
        let v = match key {
            "connect_timeout" | "send_timeout" | "read_timeout" => "60s",
            "buffer_size" => "4k",
            "buffering" | "request_buffering" => "on",
            "next_upstream" => "error",
            "next_upstream_tries" | "next_upstream_timeout" => "0",
            "intercept_errors" | "ignore_client_abort" | "socket_keepalive" => "off",
            "ssl_server_name" | "ssl_verify" => "off",
            "ssl_verify_depth" => "1",
            "http_version" if prefix == "proxy" => {
                if modern {
                    "1.1"
                } else {
                    "1.0"
                }
            }
            "keep_conn" if prefix == "fastcgi" => "off",
            _ => return None,
        };
        return Some(v);
    }
    match name {
        "worker_connections" => Some("512"),
        "worker_processes" => Some("1"),
        "keepalive_timeout" => Some("75s"),
        "client_header_buffer_size" => Some("1k"),
        "large_client_header_buffers" => Some("4"),
        "resolver_timeout" => Some("30s"),
        _ => None,
    }
}

/// Whether nginx sends `Connection: close` to HTTP upstreams by default
/// (true before 1.29.7), which defeats upstream keepalive.
pub fn proxy_sends_connection_close(version: Option<NginxVersion>) -> bool {
    version.is_none_or(|v| v < NginxVersion::HTTP11_DEFAULT)
}
