//! TLS to the upstream the way nginx does it: no SNI unless
//! `proxy_ssl_server_name on`, and no certificate verification unless
//! `proxy_ssl_verify on` — so the handshake never fails on the certificate,
//! but the verification result (against `proxy_ssl_trusted_certificate` or
//! the system store, for `proxy_ssl_name`) is recorded with the
//! certificate's subject, SANs and validity.
//!
//! rustls speaks only TLS 1.2 and 1.3: a peer that offers only older TLS is
//! reported explicitly (`legacy_only`), since nginx with OpenSSL might
//! still talk to it depending on `proxy_ssl_protocols`.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::sniff::{self, Speaks};
use crate::tls_wire;
use crate::x509::{self, CertFacts};

/// Where trust anchors come from when none are configured.
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Shared TLS setup for many probes: crypto provider and trust anchors.
#[derive(Debug, Clone)]
pub struct TlsContext {
    provider: Arc<CryptoProvider>,
    verifier: Option<Arc<WebPkiServerVerifier>>,
    /// Where the trust anchors came from.
    pub anchors: String,
    /// Why no verifier could be built, if so.
    pub anchors_error: Option<String>,
}

impl TlsContext {
    /// Load trust anchors from `trusted` (a PEM bundle, like
    /// `proxy_ssl_trusted_certificate`) or the system bundle.
    pub fn new(trusted: Option<&Path>) -> TlsContext {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let path = trusted.unwrap_or(Path::new(SYSTEM_BUNDLE));
        let anchors = path.display().to_string();
        let mut roots = RootCertStore::empty();
        let mut error = None;
        match CertificateDer::pem_file_iter(path) {
            Ok(iter) => {
                for cert in iter.flatten() {
                    let _ = roots.add(cert);
                }
            }
            Err(e) => error = Some(format!("cannot read {anchors}: {e}")),
        }
        let verifier = if roots.is_empty() {
            error.get_or_insert_with(|| format!("no certificates in {anchors}"));
            None
        } else {
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| error = Some(e.to_string()))
                .ok()
        };
        TlsContext {
            provider,
            verifier,
            anchors,
            anchors_error: error,
        }
    }
}

/// The verification result (recorded, never enforced, like nginx's
/// default `proxy_ssl_verify off`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Whether the chain verifies for `name`.
    pub ok: bool,
    /// The name checked (`proxy_ssl_name`).
    pub name: String,
    /// A short kind: `unknown-issuer`, `expired`, `not-valid-for-name`, …
    pub error_kind: Option<&'static str>,
    /// The verifier's message.
    pub error: Option<String>,
}

/// Facts from one TLS handshake.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TlsFacts {
    /// The SNI sent, `None` when no SNI was sent (nginx's default).
    pub sni: Option<String>,
    /// ALPN protocols offered.
    pub alpn_offered: Vec<String>,
    /// Whether the handshake completed.
    pub ok: bool,
    /// Negotiated version (`TLSv1.3`).
    pub version: Option<String>,
    /// Negotiated cipher suite.
    pub cipher: Option<String>,
    /// Negotiated ALPN protocol.
    pub alpn: Option<String>,
    /// The server's end-entity certificate.
    pub cert: Option<CertFacts>,
    /// Days until the certificate's notAfter (negative: expired).
    pub days_left: Option<i64>,
    /// Certificates the server sent.
    pub chain_len: usize,
    /// Verification result for `proxy_ssl_name`.
    pub verification: Option<Verification>,
    /// Failure kind: `alert`, `legacy-tls`, `not-tls`, `closed`, `reset`,
    /// `timeout`, `error`.
    pub error_kind: Option<&'static str>,
    /// Failure detail.
    pub error: Option<String>,
    /// Alert received from the peer (`handshake_failure`, `unrecognized_name`).
    pub alert: Option<&'static str>,
    /// The peer seems to offer only TLS older than 1.2.
    pub legacy_only: bool,
    /// What the peer's first bytes were, when it did not answer with TLS.
    pub peer_speaks: Option<Speaks>,
    /// The peer's first bytes (hex).
    pub first_bytes: String,
    /// The peer's first bytes, raw (not serialised; `first_bytes` is).
    #[serde(skip)]
    pub first_raw: Vec<u8>,
    /// Handshake time in milliseconds.
    pub ms: f64,
}

#[derive(Debug, Default)]
struct Seen {
    cert: Option<CertFacts>,
    chain_len: usize,
    verification: Option<Verification>,
}

#[derive(Debug)]
struct Recorder {
    provider: Arc<CryptoProvider>,
    inner: Option<Arc<WebPkiServerVerifier>>,
    anchors_error: Option<String>,
    seen: Arc<Mutex<Seen>>,
}

fn cert_error_kind(e: &rustls::Error) -> &'static str {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "unknown-issuer",
            C::Expired | C::ExpiredContext { .. } => "expired",
            C::NotValidYet | C::NotValidYetContext { .. } => "not-valid-yet",
            C::NotValidForName | C::NotValidForNameContext { .. } => "not-valid-for-name",
            C::BadSignature => "bad-signature",
            C::Revoked => "revoked",
            C::BadEncoding => "bad-encoding",
            _ => "invalid-certificate",
        },
        _ => "error",
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let name = server_name.to_str().into_owned();
        let verification = match &self.inner {
            Some(v) => match v.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(_) => Verification {
                    ok: true,
                    name,
                    error_kind: None,
                    error: None,
                },
                Err(e) => Verification {
                    ok: false,
                    name,
                    error_kind: Some(cert_error_kind(&e)),
                    error: Some(e.to_string()),
                },
            },
            None => Verification {
                ok: false,
                name,
                error_kind: Some("no-trust-anchors"),
                error: self.anchors_error.clone(),
            },
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.cert = x509::parse(end_entity.as_ref());
            seen.chain_len = 1 + intermediates.len();
            seen.verification = Some(verification);
        }
        // nginx's default: proxy_ssl_verify off. Record, never refuse.
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A stream wrapper that keeps the first bytes the peer sent.
#[derive(Debug)]
pub struct Tap<S> {
    inner: S,
    /// The first bytes read (up to 1024).
    pub seen: Vec<u8>,
}

impl<S> Tap<S> {
    /// Wrap `inner`.
    pub fn new(inner: S) -> Tap<S> {
        Tap {
            inner,
            seen: Vec::new(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let room = 1024usize.saturating_sub(self.seen.len());
            let new = &buf.filled()[before..];
            let take = new.len().min(room);
            let chunk = new[..take].to_vec();
            self.seen.extend_from_slice(&chunk);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Handshake with `name` (checked against the certificate; sent as SNI only
/// when `sni` is true and it is not an IP address), offering `alpn`.
pub async fn handshake<S>(
    ctx: &TlsContext,
    stream: S,
    name: &str,
    sni: bool,
    alpn: &[&[u8]],
    timeout: Duration,
) -> (TlsFacts, Option<TlsStream<Tap<S>>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let recorder = Recorder {
        provider: ctx.provider.clone(),
        inner: ctx.verifier.clone(),
        anchors_error: ctx.anchors_error.clone(),
        seen: seen.clone(),
    };
    let mut facts = TlsFacts {
        alpn_offered: alpn
            .iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        ..TlsFacts::default()
    };
    let config = match ClientConfig::builder_with_provider(ctx.provider.clone())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => {
            let mut c = b
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(recorder))
                .with_no_client_auth();
            c.enable_sni = sni;
            c.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
            c
        }
        Err(e) => {
            facts.error_kind = Some("error");
            facts.error = Some(e.to_string());
            return (facts, None);
        }
    };
    let server_name = match ServerName::try_from(name.to_owned()) {
        Ok(n) => n,
        Err(_) => ServerName::try_from("invalid.name").expect("static name is valid"),
    };
    if sni && matches!(server_name, ServerName::DnsName(_)) {
        facts.sni = Some(name.to_owned());
    }
    let connector = TlsConnector::from(Arc::new(config));
    let handshake = connector
        .connect(server_name, Tap::new(stream))
        .into_fallible();
    let result = tokio::time::timeout(timeout, handshake).await;
    facts.ms = crate::connect::ms_since(start);
    if let Ok(seen) = seen.lock() {
        facts.cert = seen.cert.clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        facts.days_left = seen
            .cert
            .as_ref()
            .map(|c| (c.not_after_unix - now).div_euclid(86400));
        facts.chain_len = seen.chain_len;
        facts.verification = seen.verification.clone();
    }
    match result {
        Ok(Ok(tls)) => {
            let (io, conn) = tls.get_ref();
            facts.first_bytes = sniff::hex_prefix(&io.seen, 16);
            facts.ok = true;
            facts.version = conn
                .protocol_version()
                .map(|v| tls_wire::version_name(u16::from(v)).to_owned());
            facts.cipher = conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()));
            facts.alpn = conn
                .alpn_protocol()
                .map(|a| String::from_utf8_lossy(a).into_owned());
            (facts, Some(tls))
        }
        Ok(Err((e, tap))) => {
            classify_failure(&mut facts, &e);
            explain_peer_bytes(&mut facts, &tap.seen);
            (facts, None)
        }
        Err(_) => {
            facts.error_kind = Some("timeout");
            facts.error = Some("no handshake answer before the timeout".into());
            (facts, None)
        }
    }
}

fn classify_failure(facts: &mut TlsFacts, e: &io::Error) {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    facts.error = Some(e.to_string());
    facts.error_kind = Some(match inner {
        Some(rustls::Error::AlertReceived(desc)) => {
            let code = u8::from(*desc);
            facts.alert = Some(tls_wire::alert_name(code));
            if code == 70 {
                facts.legacy_only = true;
            }
            "alert"
        }
        Some(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13,
        )) => {
            facts.legacy_only = true;
            "legacy-tls"
        }
        Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
            "not-tls"
        }
        Some(_) => "error",
        None if e.kind() == io::ErrorKind::InvalidData => "not-tls",
        None => match e.kind() {
            io::ErrorKind::UnexpectedEof => "closed",
            io::ErrorKind::ConnectionReset => "reset",
            _ => "error",
        },
    });
}

/// Fill in what the peer's raw first bytes say about a failed handshake.
fn explain_peer_bytes(facts: &mut TlsFacts, first: &[u8]) {
    facts.first_bytes = sniff::hex_prefix(first, 16);
    facts.first_raw = first.to_vec();
    if first.is_empty() {
        return;
    }
    if let Some(rec) = tls_wire::first_record(first) {
        if let Some(v) = rec.server_hello_version
            && v < 0x0303
        {
            facts.legacy_only = true;
        }
        if let Some((_, desc)) = rec.alert {
            facts.alert.get_or_insert(tls_wire::alert_name(desc));
        }
        return;
    }
    facts.peer_speaks = Some(sniff::classify_bytes(first));
    if facts.error_kind == Some("error") || facts.error_kind == Some("closed") {
        facts.error_kind = Some("not-tls");
    }
}
