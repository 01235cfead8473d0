//! Stable root-cause codes (the SPEC's table) and finding severities.
//!
//! Every component that attributes an upstream failure — the log catalogue, the
//! config linter, the diagnosis engine, the `watch` agent — speaks in these
//! codes. They appear verbatim in JSON output and in Prometheus labels, so a
//! code is never renamed; new codes may be added at the end.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! causes {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, $plain:literal; )*) => {
        /// The root cause of an upstream failure, as named in the SPEC.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Cause {
            $( $(#[$doc])* #[serde(rename = $code)] $variant, )*
        }

        impl Cause {
            /// Every cause, in SPEC order.
            pub const ALL: &'static [Cause] = &[$(Cause::$variant),*];

            /// The stable kebab-case code (`socket-permission`).
            pub const fn code(self) -> &'static str {
                match self { $(Cause::$variant => $code),* }
            }

            /// A short phrase for a person ("PHP-FPM socket permissions").
            pub const fn plain(self) -> &'static str {
                match self { $(Cause::$variant => $plain),* }
            }
        }

        impl FromStr for Cause {
            type Err = UnknownCause;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok(Cause::$variant),)*
                    _ => Err(UnknownCause(s.to_owned())),
                }
            }
        }
    };
}

causes! {
    /// Nothing listens at the configured TCP address.
    UpstreamDown => "upstream-down", "backend is down (nothing listens)";
    /// Nothing at the configured address, but a plausible backend elsewhere.
    AddressMismatch => "address-mismatch", "nginx points at the wrong address";
    /// The unix socket path does not exist.
    SocketMissing => "socket-missing", "unix socket does not exist";
    /// The unix socket exists but the worker user cannot connect.
    SocketPermission => "socket-permission", "worker user may not connect to the unix socket";
    /// TCP connect refused by local policy (SELinux, AppArmor).
    PolicyDenied => "policy-denied", "connection blocked by security policy";
    /// No route, host or network unreachable, firewall REJECT.
    NetworkUnreachable => "network-unreachable", "backend network unreachable";
    /// SYN unanswered: firewall DROP, host down, backlog full.
    ConnectTimeout => "connect-timeout", "connection to backend timed out";
    /// The backend accepts too slowly (backlog full, pm.max_children).
    BackendOverloaded => "backend-overloaded", "backend overloaded";
    /// Every server of the group is taken out by the config itself.
    ServersMarkedDown => "servers-marked-down", "all servers marked down in config";
    /// Name resolution failed, or variables without a resolver.
    DnsFailure => "dns-failure", "upstream name could not be resolved";
    /// The backend accepted, then died mid-request.
    BackendCrash => "backend-crash", "backend crashed mid-request";
    /// Premature close on reused keepalive connections.
    KeepaliveRace => "keepalive-race", "stale keepalive connections";
    /// Response headers exceed the proxy buffer.
    HeaderTooBig => "header-too-big", "upstream response headers too big";
    /// nginx and the backend speak different protocols.
    ProtocolMismatch => "protocol-mismatch", "protocol mismatch with backend";
    /// TLS handshake with an HTTPS upstream fails.
    TlsError => "tls-error", "TLS handshake to backend fails";
    /// Right protocol, broken response.
    InvalidResponse => "invalid-response", "backend sends an invalid response";
    /// The backend is too slow (504).
    UpstreamTimeout => "upstream-timeout", "backend too slow (timeout)";
    /// nginx runs out of file descriptors.
    FdExhaustion => "fd-exhaustion", "nginx out of file descriptors";
    /// `worker_connections are not enough`.
    WorkerConnections => "worker-connections", "worker_connections exhausted";
    /// Ephemeral ports exhausted.
    PortExhaustion => "port-exhaustion", "ephemeral ports exhausted";
    /// The backend itself produced the 5xx.
    BackendReturnedError => "backend-returned-error", "backend itself returned the error";
    /// nginx serves a cached error response.
    CachedError => "cached-error", "error served from nginx cache";
    /// The running nginx does not run the config on disk.
    StaleConfig => "stale-config", "running nginx uses an old config";
    /// Recognised as an upstream failure but not attributable.
    Unknown => "unknown", "unattributed upstream failure";
}

#[allow(clippy::derivable_impls)] // the enum comes from a macro table
impl Default for Cause {
    fn default() -> Self {
        Cause::Unknown
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A string that is not a SPEC cause code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCause(pub String);

impl fmt::Display for UnknownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown cause code {:?}", self.0)
    }
}

impl std::error::Error for UnknownCause {}

/// How serious a finding is. Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a problem by itself.
    Info,
    /// A latent risk: may cause 502/504 under some conditions.
    Warning,
    /// Causing (or certain to cause) user-visible failures.
    Critical,
}

impl Severity {
    /// The lowercase name used in output (`warning`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?} (expected info, warning or critical)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_spec_spelling() {
        for &c in Cause::ALL {
            assert_eq!(c.code().parse::<Cause>().unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.code()));
            assert_eq!(serde_json::from_str::<Cause>(&json).unwrap(), c);
        }
        assert_eq!(Cause::ALL.len(), 24);
        assert_eq!(Cause::SocketPermission.code(), "socket-permission");
    }

    #[test]
    fn severity_orders() {
        assert!(Severity::Critical > Severity::Warning);
        assert!(Severity::Warning > Severity::Info);
    }
}
