//! Accepting connections within the server's connection caps: each connection holds a slot
//! from the moment it is accepted until it closes (a TLS one from before its handshake).
//! When none is left the server stops accepting, so that new connections wait in the
//! kernel's backlog instead of taking memory and file descriptors; and a connection from an
//! address that already holds its share is closed at once.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The connection slots: one per open connection, and no more than `per_address` from one
/// source address (an IPv6 address by its /64), so that one host cannot take them all.
#[derive(Clone)]
pub(crate) struct Cap {
    slots: Arc<Semaphore>,
    per_address: usize,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Cap {
    pub(crate) fn new(max: usize, per_address: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
            per_address: per_address.max(1),
            by_address: Arc::default(),
        }
    }

    /// Accepts the next connection within the caps: waits for a free slot, and closes at
    /// once a connection from an address that holds its share.
    pub(crate) async fn accept(&self, tcp: &TcpListener) -> (TcpStream, SocketAddr, Slot) {
        // The semaphore is never closed; if it were, nothing would be accepted any more
        // rather than one connection too many.
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return std::future::pending().await;
        };
        loop {
            let (stream, peer) = accept_tcp(tcp).await;
            let address = crate::handlers::source(peer.ip());
            let Ok(mut counts) = self.by_address.lock() else {
                continue;
            };
            let count = counts.entry(address).or_default();
            if *count >= self.per_address {
                drop(counts);
                tracing::debug!(%peer, "connection refused: its address holds its share");
                continue; // dropping the stream closes it
            }
            *count += 1;
            return (
                stream,
                peer,
                Slot {
                    _permit: permit,
                    address,
                    by_address: self.by_address.clone(),
                },
            );
        }
    }
}

/// One connection's place within the caps, given back when dropped.
pub(crate) struct Slot {
    _permit: OwnedSemaphorePermit,
    address: IpAddr,
    by_address: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.by_address.lock()
            && let Some(count) = counts.get_mut(&self.address)
        {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// Accepts one TCP connection, waiting instead of spinning when accepting fails (out of
/// file descriptors and the like).
async fn accept_tcp(tcp: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match tcp.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A connection and its slot, given back when it is dropped.
pub struct Counted<T> {
    io: T,
    _slot: Slot,
}

impl<T> Counted<T> {
    pub(crate) fn new(io: T, slot: Slot) -> Self {
        Self { io, _slot: slot }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Plain TCP within the cap.
pub(crate) struct CappedTcp {
    tcp: TcpListener,
    cap: Cap,
}

impl CappedTcp {
    pub(crate) fn new(tcp: TcpListener, cap: Cap) -> Self {
        Self { tcp, cap }
    }
}

impl axum::serve::Listener for CappedTcp {
    type Io = Counted<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer, slot) = self.cap.accept(&self.tcp).await;
        (Counted::new(stream, slot), peer)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The address a connection came from, as handlers see it (the registration limits are
/// kept per source address).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);
