//! Serving HTTP/1.1 connections with hyper itself: axum's `serve` sets no timer, so a client
//! that sent its request headers slowly could hold its connection for as long as it liked.
//! Here each connection has a header-read timeout, WebSocket upgrades, the peer's address
//! for the handlers, and a graceful shutdown that finishes the requests in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use futures_util::FutureExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::Peer;

/// Serves `router` on every connection `listener` accepts until `shutdown` resolves, then
/// waits for the connections' requests in flight.
pub(crate) async fn serve<L>(
    mut listener: L,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    // Connections watch `stop` to start their graceful shutdown, and hold `running` until
    // they end.
    let (stop, stopping) = watch::channel(());
    let (running, connections) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = router
            .clone()
            .map_request(move |request: Request<Incoming>| {
                let mut request = request.map(Body::new);
                request.extensions_mut().insert(ConnectInfo(Peer(peer)));
                request
            });
        let service = TowerToHyperService::new(service);
        let (mut stopping, connections) = (stopping.clone(), connections.clone());
        tokio::spawn(async move {
            let mut builder = http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let connection = builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let mut stop_asked = std::pin::pin!(stopping.changed().fuse());
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!(%peer, error = %e, "connection ended");
                        }
                        break;
                    }
                    _ = &mut stop_asked => connection.as_mut().graceful_shutdown(),
                }
            }
            drop(connections);
        });
    }
    drop(listener);
    drop(connections);
    let _ = stop.send(());
    running.closed().await;
    Ok(())
}
