//! The nginx variables the access-log analysis understands. Any other
//! variable in a `log_format` is parsed past and ignored.

macro_rules! vars {
    ($( $v:ident => [$($name:literal),+], )*) => {
        /// A variable whose value the analysis reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Var {
            $( #[doc = concat!("`$", $($name, " ",)+ "`")] $v, )*
            /// Any other variable (parsed past, not read).
            Other,
        }

        impl Var {
            /// Number of known variables (the size of a record's slot array).
            pub const COUNT: usize = [$(Var::$v),*].len();

            /// The variable for a name (without `$`).
            pub fn from_name(name: &str) -> Var {
                match name {
                    $( $($name)|+ => Var::$v, )*
                    _ => Var::Other,
                }
            }

            /// The slot index, `None` for [`Var::Other`].
            pub fn slot(self) -> Option<usize> {
                (self != Var::Other).then_some(self as usize)
            }
        }
    };
}

vars! {
    RemoteAddr => ["remote_addr", "realip_remote_addr", "binary_remote_addr_text"],
    RemoteUser => ["remote_user"],
    TimeLocal => ["time_local"],
    TimeIso8601 => ["time_iso8601"],
    Msec => ["msec"],
    Request => ["request"],
    RequestMethod => ["request_method"],
    RequestUri => ["request_uri"],
    Uri => ["uri", "document_uri"],
    Status => ["status"],
    BodyBytesSent => ["body_bytes_sent"],
    BytesSent => ["bytes_sent"],
    Referer => ["http_referer"],
    UserAgent => ["http_user_agent"],
    Host => ["host", "http_host"],
    ServerName => ["server_name"],
    RequestTime => ["request_time"],
    RequestLength => ["request_length"],
    UpstreamAddr => ["upstream_addr"],
    UpstreamStatus => ["upstream_status"],
    UpstreamResponseTime => ["upstream_response_time"],
    UpstreamConnectTime => ["upstream_connect_time"],
    UpstreamHeaderTime => ["upstream_header_time"],
    UpstreamResponseLength => ["upstream_response_length"],
    UpstreamBytesReceived => ["upstream_bytes_received"],
    UpstreamCacheStatus => ["upstream_cache_status"],
    ProxyUpstreamName => ["proxy_upstream_name"],
    RequestId => ["request_id", "req_id"],
}

impl Var {
    /// Variables whose value lists one item per upstream attempt
    /// (`a, b : c`).
    pub fn is_multi(self) -> bool {
        matches!(
            self,
            Var::UpstreamAddr
                | Var::UpstreamStatus
                | Var::UpstreamResponseTime
                | Var::UpstreamConnectTime
                | Var::UpstreamHeaderTime
                | Var::UpstreamResponseLength
                | Var::UpstreamBytesReceived
        )
    }
}
