//! Throwaway test certificates made by the `openssl` CLI in a caller's
//! (temporary) directory: a self-signed leaf for the lab's TLS backend, or a
//! small CA plus a leaf it signed. Keys are unencrypted P-256 and live only as
//! long as that directory; nothing here touches the host's trust store.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The name the lab's TLS backend presents (a reserved `.invalid` name, so
/// no public CA can ever vouch for it).
pub const LAB_TLS_NAME: &str = "badgateway-lab.invalid";

/// Files written by [`self_signed`] or [`ca_and_leaf`].
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The leaf certificate (PEM).
    pub cert: PathBuf,
    /// The leaf's private key (PEM, unencrypted).
    pub key: PathBuf,
    /// The CA certificate that signed the leaf (`None` when self-signed).
    pub ca: Option<PathBuf>,
}

/// Whether the `openssl` CLI runs.
pub fn find_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// For tests: `true` when openssl is usable; otherwise panics under
/// `CI=true` and prints a skip notice elsewhere.
pub fn require_openssl() -> bool {
    if find_openssl() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("openssl is required under CI=true but was not found (install Debian's openssl)");
    }
    eprintln!("skipping: openssl not installed (run ./scripts/install-deps)");
    false
}

fn openssl(dir: &Path, args: &[&str]) -> io::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("running openssl {}: {e}", args[0])))?;
    if out.status.success() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "openssl {} failed in {} ({}): {}",
        args.join(" "),
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Key options shared by every `openssl req` here: a fresh unencrypted P-256 key.
const NEW_EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// `subjectAltName` for `name` and 127.0.0.1.
fn san(name: &str) -> String {
    format!("subjectAltName=DNS:{name},IP:127.0.0.1")
}

/// A self-signed certificate for `name` (CN and SAN) and IP 127.0.0.1, valid
/// for a few days, as `dir/self.pem` and `dir/self.key`. It is an end-entity
/// certificate (`CA:FALSE`), so a client that trusts exactly it accepts it.
pub fn self_signed(dir: &Path, name: &str) -> io::Result<CertFiles> {
    let subj = format!("/CN={name}");
    let san = san(name);
    let mut args = vec!["req", "-x509"];
    args.extend(NEW_EC_KEY);
    args.extend([
        "-keyout",
        "self.key",
        "-out",
        "self.pem",
        "-days",
        "3",
        "-subj",
        &subj,
        "-addext",
        &san,
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    openssl(dir, &args)?;
    Ok(CertFiles {
        cert: dir.join("self.pem"),
        key: dir.join("self.key"),
        ca: None,
    })
}

/// A CA (`CN=Test CA`, `dir/ca.pem`) and a leaf it signed for `name` and
/// 127.0.0.1 (`dir/leaf.pem`, `dir/leaf.key`).
pub fn ca_and_leaf(dir: &Path, name: &str) -> io::Result<CertFiles> {
    let mut ca = vec!["req", "-x509"];
    ca.extend(NEW_EC_KEY);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "3",
        "-subj",
        "/CN=Test CA",
    ]);
    openssl(dir, &ca)?;
    let subj = format!("/CN={name}");
    let mut csr = vec!["req"];
    csr.extend(NEW_EC_KEY);
    csr.extend(["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", &subj]);
    openssl(dir, &csr)?;
    std::fs::write(
        dir.join("ext.cnf"),
        format!(
            "{}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            san(name)
        ),
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    )?;
    Ok(CertFiles {
        cert: dir.join("leaf.pem"),
        key: dir.join("leaf.key"),
        ca: Some(dir.join("ca.pem")),
    })
}
