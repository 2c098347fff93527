//! A listener that can go down and come back on the same port, for the
//! `Fault::Down` outage: while down, the socket is closed (connections are
//! refused) and connections opened before the outage are cut.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// A request to take the listener down or bring it back up.
pub(crate) enum Switch {
    Down(oneshot::Sender<io::Result<()>>),
    Up(oneshot::Sender<io::Result<()>>),
}

/// The listening side; `axum::serve` accepts from it.
pub(crate) struct OutageListener {
    inner: Option<TcpListener>,
    addr: SocketAddr,
    epoch: Arc<AtomicU64>,
    switches: mpsc::UnboundedReceiver<Switch>,
    // Keeps `switches` open for as long as the listener lives.
    _own_switch: mpsc::UnboundedSender<Switch>,
}

/// Controls an [`OutageListener`] from the emulator handle.
#[derive(Clone)]
pub(crate) struct OutageSwitch {
    switches: mpsc::UnboundedSender<Switch>,
}

impl OutageSwitch {
    async fn flip(&self, make: fn(oneshot::Sender<io::Result<()>>) -> Switch) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.switches
            .send(make(tx))
            .map_err(|_| io::Error::other("server stopped"))?;
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("server stopped")))
    }

    /// Closes the socket and cuts open connections.
    pub(crate) async fn down(&self) -> io::Result<()> {
        self.flip(Switch::Down).await
    }

    /// Listens again on the same address.
    pub(crate) async fn up(&self) -> io::Result<()> {
        self.flip(Switch::Up).await
    }
}

impl OutageListener {
    /// Wraps a bound listener.
    pub(crate) fn new(listener: TcpListener) -> io::Result<(Self, OutageSwitch)> {
        let addr = listener.local_addr()?;
        let (tx, switches) = mpsc::unbounded_channel();
        Ok((
            Self {
                inner: Some(listener),
                addr,
                epoch: Arc::new(AtomicU64::new(0)),
                switches,
                _own_switch: tx.clone(),
            },
            OutageSwitch { switches: tx },
        ))
    }

    async fn rebind(&self) -> io::Result<TcpListener> {
        let mut last = None;
        for _ in 0..50 {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => return Ok(listener),
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(last.unwrap_or_else(|| io::Error::other("could not rebind")))
    }

    async fn apply(&mut self, switch: Switch) {
        match switch {
            Switch::Down(done) => {
                self.inner = None;
                self.epoch.fetch_add(1, Ordering::SeqCst);
                let _ = done.send(Ok(()));
            }
            Switch::Up(done) => {
                let result = if self.inner.is_some() {
                    Ok(())
                } else {
                    self.rebind().await.map(|l| self.inner = Some(l))
                };
                let _ = done.send(result);
            }
        }
    }
}

impl axum::serve::Listener for OutageListener {
    type Io = CuttableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let next = match &self.inner {
                Some(listener) => tokio::select! {
                    accepted = listener.accept() => Next::Accepted(accepted),
                    switch = self.switches.recv() => Next::Switch(switch),
                },
                None => Next::Switch(self.switches.recv().await),
            };
            match next {
                Next::Accepted(Ok((stream, addr))) => {
                    let stream = CuttableStream {
                        inner: stream,
                        epoch: Arc::clone(&self.epoch),
                        born: self.epoch.load(Ordering::SeqCst),
                    };
                    return (stream, addr);
                }
                Next::Accepted(Err(error)) => {
                    tracing::debug!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Next::Switch(Some(switch)) => self.apply(switch).await,
                // Unreachable: the listener keeps a sender of its own.
                Next::Switch(None) => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

enum Next {
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Switch(Option<Switch>),
}

/// A connection that reads as closed once an outage began after it opened.
pub(crate) struct CuttableStream {
    inner: TcpStream,
    epoch: Arc<AtomicU64>,
    born: u64,
}

impl CuttableStream {
    fn cut(&self) -> bool {
        self.epoch.load(Ordering::SeqCst) != self.born
    }
}

impl AsyncRead for CuttableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
