//! HTTPS: the node's routes over TLS on `HttpsPort` (feature `tls`, docs/https.md).
//!
//! rustls with ring as its crypto (TLS 1.2 and 1.3, no client certificates, ALPN
//! `http/1.1`), driven by tokio-rustls on the node's one thread. The certificate chain and
//! key come from the PEM files `TlsCert` and `TlsKey` name. This file owns loading them
//! ([`load_config`], errors in [`TlsError`]), noticing when they change ([`Certs`]: a new
//! connection after a renewal gets the new pair, a broken new pair leaves the old one in use)
//! and the handshake ([`Tls`], an [`Acceptor`] for the accept loop the HTTP port runs too).
//!
//! A connection holds one of the port's slots from accept on, so the handshake is bounded by
//! [`HANDSHAKE_TIMEOUT`], and by `HttpHeaderTimeoutSecs` (the head timeout runs from accept). A client that speaks plain HTTP to this
//! port gets a plain `400` that says so; any other failed handshake is closed and logged at
//! debug.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;

use super::Acceptor;
use super::conn::Conn;
use crate::api::NodeState;
use crate::{log_debug, log_error, log_info};

/// Longest a client may take from connect to a finished handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate and key files are checked for a change (at the first accept
/// after this much time has passed since the last check).
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(60);
/// Environment variable overriding [`RELOAD_INTERVAL`], in seconds (0: at every accept); for
/// tests.
pub const RELOAD_ENV: &str = "LEITHER_TLS_RELOAD_SECS";
/// Largest PEM file read: a chain is a few KiB.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// The answer to plain HTTP on the HTTPS port (nginx says the same).
const REPLY_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 48\r\nConnection: close\r\n\r\nthis port speaks HTTPS: use https:// to reach it";

/// Why a certificate and key could not be loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read (missing, no permission, ...).
    Read {
        /// The file.
        path: PathBuf,
        /// Its setting in SystemVars.json (`TlsCert` or `TlsKey`).
        setting: &'static str,
        /// What the system said.
        error: std::io::Error,
    },
    /// A file is larger than a PEM certificate or key can be.
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its setting.
        setting: &'static str,
    },
    /// A file is not well-formed PEM.
    Pem {
        /// The file.
        path: PathBuf,
        /// Its setting.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The certificate file holds no `CERTIFICATE` section.
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no private key (PKCS#8, RSA or EC).
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the pair: the key does not belong to the certificate, or its type is
    /// not supported.
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        message: String,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Read {
                path,
                setting,
                error,
            } => write!(
                f,
                "cannot read {} ({setting} in SystemVars.json): {error}; fix {setting} or the file's permissions",
                path.display()
            ),
            TlsError::TooLarge { path, setting } => write!(
                f,
                "{} ({setting} in SystemVars.json) is larger than {} KiB: not a PEM file",
                path.display(),
                MAX_PEM_BYTES / 1024
            ),
            TlsError::Pem {
                path,
                setting,
                message,
            } => write!(
                f,
                "{} ({setting} in SystemVars.json) is not valid PEM: {message}",
                path.display()
            ),
            TlsError::NoCertificate { path } => write!(
                f,
                "{} (TlsCert in SystemVars.json) holds no certificate; name a PEM certificate chain such as certbot's fullchain.pem",
                path.display()
            ),
            TlsError::NoKey { path } => write!(
                f,
                "{} (TlsKey in SystemVars.json) holds no private key (PKCS#8, RSA or EC); name a PEM key such as certbot's privkey.pem",
                path.display()
            ),
            TlsError::Refused { cert, key, message } => write!(
                f,
                "the key {} does not fit the certificate {}: {message}; name the key made with this certificate",
                key.display(),
                cert.display()
            ),
        }
    }
}

impl std::error::Error for TlsError {}

/// Reads a PEM file, bounded.
fn read_pem(path: &Path, setting: &'static str) -> Result<Vec<u8>, TlsError> {
    let read = |error| TlsError::Read {
        path: path.to_path_buf(),
        setting,
        error,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_path_buf(),
            setting,
        });
    }
    std::fs::read(path).map_err(read)
}

/// The certificate chain in PEM text (leaf first).
pub fn parse_certs(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_path_buf(),
            setting: "TlsCert",
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in PEM text (PKCS#8, PKCS#1 RSA or SEC1 EC).
pub fn parse_key(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        e => TlsError::Pem {
            path: path.to_path_buf(),
            setting: "TlsKey",
            message: e.to_string(),
        },
    })
}

/// The server configuration for a certificate chain and key in PEM text: ring, TLS 1.2 and
/// 1.3, no client authentication, ALPN `http/1.1`. Sans-io; the paths only name the files in
/// errors.
pub fn config_from_pem(
    cert_pem: &[u8],
    cert: &Path,
    key_pem: &[u8],
    key: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = parse_certs(cert_pem, cert)?;
    let private = parse_key(key_pem, key)?;
    let refused = |e: rustls::Error| TlsError::Refused {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        message: e.to_string(),
    };
    let mut config = ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(refused)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// ring's provider without what a server that asks for no client certificate never uses,
/// so link-time optimisation drops it: the signature verification algorithms (they check a
/// peer's certificate; ours is only signed with), and key exchange on P-384 (every client
/// offers X25519 or P-256). All cipher suites of TLS 1.3 and 1.2 stay.
fn provider() -> rustls::crypto::CryptoProvider {
    use rustls::crypto::ring::{default_provider, kx_group};
    rustls::crypto::CryptoProvider {
        kx_groups: vec![kx_group::X25519, kx_group::SECP256R1],
        signature_verification_algorithms: rustls::crypto::WebPkiSupportedAlgorithms {
            all: &[],
            mapping: &[],
        },
        ..default_provider()
    }
}

/// Reads the certificate chain and key files and makes the server configuration.
pub fn load_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_pem = read_pem(cert, "TlsCert")?;
    let key_pem = read_pem(key, "TlsKey")?;
    config_from_pem(&cert_pem, cert, &key_pem, key)
}

/// What identifies a version of a file: modification time and length (`None`: unreadable).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    // metadata follows symlinks: certbot's live/ links move to new archive/ files.
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The certificate and key in use, reloaded when their files change.
pub struct Certs {
    cert: PathBuf,
    key: PathBuf,
    config: RefCell<Arc<ServerConfig>>,
    /// The stamps of the pair last tried (loaded, or refused and logged), so a broken pair
    /// is reported once, and tried again only when a file changes again.
    seen: Cell<[Stamp; 2]>,
    next_check: Cell<Instant>,
    interval: Duration,
}

impl Certs {
    /// Loads the pair; checks for a change every `interval` from then on.
    pub fn load(cert: PathBuf, key: PathBuf, interval: Duration) -> Result<Certs, TlsError> {
        // Stamps before reading: a change in between is seen (and reloaded) at the next check.
        let seen = [stamp(&cert), stamp(&key)];
        let config = load_config(&cert, &key)?;
        Ok(Certs {
            cert,
            key,
            config: RefCell::new(config),
            seen: Cell::new(seen),
            next_check: Cell::new(Instant::now() + interval),
            interval,
        })
    }

    /// The configuration for a new connection, after reloading the files if they changed and
    /// the check is due.
    pub fn current(&self) -> Arc<ServerConfig> {
        let now = Instant::now();
        if now >= self.next_check.get() {
            self.next_check.set(now + self.interval);
            self.reload_if_changed();
        }
        self.config.borrow().clone()
    }

    /// Loads the files again if their stamps changed; true when a new pair is in use.
    pub fn reload_if_changed(&self) -> bool {
        let now = [stamp(&self.cert), stamp(&self.key)];
        if now == self.seen.get() {
            return false;
        }
        self.seen.set(now);
        match load_config(&self.cert, &self.key) {
            Ok(config) => {
                *self.config.borrow_mut() = config;
                log_info!("HTTPS: new certificate loaded from {}", self.cert.display());
                true
            }
            Err(e) => {
                // certbot may be half way through a renewal: the next change is tried again.
                log_error!("HTTPS: {e}; new connections keep the certificate loaded before");
                false
            }
        }
    }
}

/// The reload interval: [`RELOAD_ENV`] when set to a number of seconds, else
/// [`RELOAD_INTERVAL`].
pub fn reload_interval() -> Duration {
    std::env::var(RELOAD_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(RELOAD_INTERVAL)
}

/// HTTPS connections: a TLS handshake with the current certificate first.
pub struct Tls(pub Rc<Certs>);

impl Acceptor for Tls {
    const SECURE: bool = true;

    fn open(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
    ) -> impl Future<Output = Option<Conn>> + 'static {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.0.current());
        async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(acceptor, stream)).await {
                Ok(Ok(s)) => Some(Conn::Tls(Box::new(s))),
                Ok(Err(e)) => {
                    log_debug!("HTTPS: no TLS with {peer}: {e}");
                    None
                }
                Err(_) => {
                    log_debug!(
                        "HTTPS: handshake with {peer} took longer than {} s: closed",
                        HANDSHAKE_TIMEOUT.as_secs()
                    );
                    None
                }
            }
        }
    }

    fn refuse(&self, _stream: &TcpStream, _reason: &str) {
        // Closing is the only answer a TLS client can read before a handshake.
    }
}

/// A TLS ClientHello starts with a handshake record (content type 22).
const HANDSHAKE_RECORD: u8 = 0x16;

async fn handshake(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: TcpStream,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    if first[0] != HANDSHAKE_RECORD {
        if first[0].is_ascii_uppercase() {
            answer_plain_http(stream).await;
            return Err(std::io::Error::other(
                "plain HTTP sent to the HTTPS port (answered 400)",
            ));
        }
        return Err(std::io::Error::other("not a TLS handshake"));
    }
    acceptor.accept(stream).await
}

/// Answers a plain-HTTP request with [`REPLY_400`] and closes gracefully: the request is read
/// first and the close waits (briefly) for the client's, so the kernel sends the answer and
/// a FIN instead of resetting a connection with unread data.
async fn answer_plain_http(mut stream: TcpStream) {
    let mut buf = [0u8; 2048];
    let _ = stream.read(&mut buf).await;
    if stream.write_all(REPLY_400).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Binds `HttpsPort` and loads the certificate and key, at start. `Ok(None)`: HTTPS is not
/// configured. `Err`: why HTTPS is off (the node goes on with plain HTTP). Call on the
/// runtime.
pub fn bind(state: &NodeState) -> Result<Option<(TcpListener, Rc<Certs>)>, String> {
    let (port, addr, files) = {
        let v = state.vars.borrow();
        (
            v.https_port,
            v.listen_addr.clone(),
            v.tls_files(&state.home),
        )
    };
    let Some((cert, key)) = files else {
        if port != 0 {
            return Err(format!(
                "HttpsPort is {port} but TlsCert and TlsKey do not both name a file; set them in SystemVars.json"
            ));
        }
        return Ok(None);
    };
    let certs = Certs::load(cert, key, reload_interval()).map_err(|e| e.to_string())?;
    let text = format!("{addr}:{port}");
    let l = std::net::TcpListener::bind(&text).map_err(|e| {
        format!("cannot listen on {text}: {e}; change HttpsPort in SystemVars.json")
    })?;
    crate::limits::deepen_backlog(&l);
    l.set_nonblocking(true)
        .map_err(|e| format!("HTTPS listener: {e}"))?;
    let local = l.local_addr().map_err(|e| format!("HTTPS listener: {e}"))?;
    let l = TcpListener::from_std(l).map_err(|e| format!("HTTPS listener: {e}"))?;
    log_info!(
        "HTTPS listening on {local} (certificate {})",
        certs.cert.display()
    );
    Ok(Some((l, Rc::new(certs))))
}

/// Serves the node's routes over TLS on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Rc<NodeState>,
    shutdown: watch::Receiver<bool>,
    certs: Rc<Certs>,
) {
    super::serve_on(listener, state, shutdown, Tls(certs)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_PEM: &[u8] = b"hello";

    #[test]
    fn empty_or_foreign_files_are_named_in_errors() {
        let p = Path::new("/x/fullchain.pem");
        let e = parse_certs(NOT_PEM, p).unwrap_err();
        assert!(matches!(e, TlsError::NoCertificate { .. }), "{e}");
        assert!(e.to_string().contains("/x/fullchain.pem"));
        assert!(e.to_string().contains("TlsCert"));
        let k = Path::new("/x/privkey.pem");
        let e = parse_key(NOT_PEM, k).unwrap_err();
        assert!(matches!(e, TlsError::NoKey { .. }), "{e}");
        assert!(e.to_string().contains("TlsKey"));
        // A certificate where the key should be: no key in it.
        let cert_only = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_key(cert_only, k),
            Err(TlsError::NoKey { .. })
        ));
        assert_eq!(parse_certs(cert_only, p).unwrap().len(), 1);
    }

    #[test]
    fn broken_pem_is_an_error_not_a_panic() {
        let p = Path::new("c.pem");
        let truncated = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        assert!(matches!(
            parse_certs(truncated, p),
            Err(TlsError::Pem { .. })
        ));
        let bad64 = b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
        assert!(parse_key(bad64, p).is_err());
        // Garbage DER in well-formed PEM: rustls refuses it, with both files named.
        let cert = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let key = b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        let e = config_from_pem(cert, p, key, Path::new("k.pem")).unwrap_err();
        assert!(matches!(e, TlsError::Refused { .. }), "{e}");
        assert!(e.to_string().contains("k.pem"));
    }

    #[test]
    fn a_missing_file_says_which_and_what_to_do() {
        let e = load_config(
            Path::new("/nonexistent/leither/cert.pem"),
            Path::new("/nonexistent/leither/key.pem"),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("/nonexistent/leither/cert.pem"), "{msg}");
        assert!(msg.contains("TlsCert"), "{msg}");
    }
}
