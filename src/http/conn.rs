//! The one byte-stream type every HTTP connection is served over: a plain TCP connection, a
//! TLS one (`HttpsPort`, [`super::tls`]) or a request that came through the HTTP tunnel
//! ([`super::tunnel`], a libp2p stream).
//!
//! picoserve's router, the hot path ([`super::fast`]) and the connection guard
//! ([`super::guard`]) are generic over the stream they read and write; each stream type they
//! see compiles every route once more (the route tree, Lever's calls, the gateway, ...:
//! about 0.3 MiB of x86_64 code per copy, docs/performance.md "Three copies of the routes").
//! So the three transports meet here, in one enum, and everything above sees only
//! [`Conn`]. A read or write costs one `match` more; what each transport does (TLS records,
//! flushes, `close_notify` at shutdown, yamux frames) is its own, unchanged.
//!
//! The TLS and tunnel streams are boxed (rustls keeps its connection state inline, about a
//! kilobyte; a libp2p stream is 128 bytes on x86_64), so a plain connection's task does not
//! carry their room: `Conn` is a `TcpStream` and a tag. A new transport adds a variant here,
//! never a new stream type above.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A client's byte stream, whatever carried it.
pub enum Conn {
    /// Plain HTTP on `ServicePort`.
    Tcp(TcpStream),
    /// HTTPS on `HttpsPort`, after the handshake.
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    /// One request through the HTTP tunnel (a libp2p stream: futures' traits, not tokio's).
    #[cfg(feature = "net")]
    Tunnel(Box<libp2p::Stream>),
}

impl Conn {
    /// Whether the bytes are encrypted between the client and this node (TLS only: a tunnel
    /// is encrypted to the public node, which read the request in the clear).
    pub fn is_tls(&self) -> bool {
        match self {
            Conn::Tcp(_) => false,
            #[cfg(feature = "tls")]
            Conn::Tls(_) => true,
            #[cfg(feature = "net")]
            Conn::Tunnel(_) => false,
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            #[cfg(feature = "net")]
            Conn::Tunnel(s) => {
                let slice = buf.initialize_unfilled();
                match futures::AsyncRead::poll_read(Pin::new(s.as_mut()), cx, slice) {
                    Poll::Ready(Ok(n)) => {
                        // A reader that claims more than the slice it was given is broken;
                        // refuse it rather than let `advance` panic.
                        if n > buf.remaining() {
                            return Poll::Ready(Err(std::io::Error::other(
                                "the tunnel stream reported more bytes than it was given room for",
                            )));
                        }
                        buf.advance(n);
                        Poll::Ready(Ok(()))
                    }
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            #[cfg(feature = "net")]
            Conn::Tunnel(s) => futures::AsyncWrite::poll_write(Pin::new(s.as_mut()), cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            #[cfg(feature = "net")]
            Conn::Tunnel(s) => futures::AsyncWrite::poll_flush(Pin::new(s.as_mut()), cx),
        }
    }

    /// TCP: FIN. TLS: `close_notify`, then FIN. Tunnel: the stream's close.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            #[cfg(feature = "net")]
            Conn::Tunnel(s) => futures::AsyncWrite::poll_close(Pin::new(s.as_mut()), cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_plain_connection_does_not_carry_the_room_of_a_tls_one() {
        // The TLS and tunnel variants are boxed: a plain connection's task stays small.
        assert!(
            std::mem::size_of::<Conn>() <= 64,
            "Conn is {} bytes",
            std::mem::size_of::<Conn>()
        );
    }

    #[test]
    fn a_tcp_conn_reads_writes_and_shuts() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = tokio::spawn(async move {
                let mut c = TcpStream::connect(addr).await.unwrap();
                c.write_all(b"ping").await.unwrap();
                let mut back = Vec::new();
                c.read_to_end(&mut back).await.unwrap();
                back
            });
            let (s, _) = listener.accept().await.unwrap();
            let mut conn = Conn::Tcp(s);
            assert!(!conn.is_tls());
            let mut got = [0u8; 4];
            conn.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");
            conn.write_all(b"pong").await.unwrap();
            conn.flush().await.unwrap();
            conn.shutdown().await.unwrap();
            assert_eq!(client.await.unwrap(), b"pong");
        });
    }
}
