//! A TCP proxy between the browser and the worker that a test breaks on
//! purpose: it cuts every open connection, goes down (refusing new ones),
//! or loses the answer to one request after the worker has handled it. It
//! also keeps every byte the browser received; `Accept-Encoding` is renamed
//! on the way in, so answers arrive uncompressed and can be searched.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Default)]
struct Shared {
    /// Requests whose head contains this lose their answer (once).
    lose: Mutex<Option<String>>,
    /// Every byte sent to the browser.
    received: Mutex<Vec<u8>>,
    down: AtomicBool,
    lost: AtomicUsize,
    connections: AtomicUsize,
}

/// A running proxy on 127.0.0.1; it stops when dropped.
pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Shared>,
    cut: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free port and forwards to `target_port` on 127.0.0.1
    /// (inside a Tokio runtime).
    pub fn start(target_port: u16) -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let port = std_listener.local_addr()?.port();
        let listener = TcpListener::from_std(std_listener)?;
        let shared = Arc::new(Shared::default());
        let (cut, _) = watch::channel(0u64);
        let (s, c) = (Arc::clone(&shared), cut.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if s.down.load(Ordering::SeqCst) {
                    continue; // dropped: the browser sees the connection closed
                }
                s.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(client, target_port, Arc::clone(&s), c.subscribe()));
            }
        });
        Ok(Self {
            port,
            shared,
            cut,
            task,
        })
    }

    /// `http://127.0.0.1:<port>`: what the browser opens.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Closes every open connection (both sides) at once.
    pub fn cut_all(&self) {
        self.cut.send_modify(|g| *g += 1);
    }

    /// Down: open connections are cut and new ones closed; up again with `false`.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
        if down {
            self.cut_all();
        }
    }

    /// The next request whose head contains `needle` is forwarded, but its
    /// answer is dropped (the connection closes) as soon as it starts.
    pub fn lose_next_answer(&self, needle: &str) {
        if let Ok(mut l) = self.shared.lose.lock() {
            *l = Some(needle.to_owned());
        }
    }

    /// How many answers were lost on purpose.
    pub fn lost(&self) -> usize {
        self.shared.lost.load(Ordering::SeqCst)
    }

    /// How many connections the browser opened.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many bytes the browser received.
    pub fn received_bytes(&self) -> usize {
        self.shared.received.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// How often `needle` occurs in what the browser received.
    pub fn received_count(&self, needle: &str) -> usize {
        let Ok(r) = self.shared.received.lock() else {
            return 0;
        };
        let n = needle.as_bytes();
        r.windows(n.len()).filter(|w| *w == n).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.cut_all();
        self.task.abort();
    }
}

/// Renames `Accept-Encoding:` (same length, so nothing else moves).
fn neutralise_accept_encoding(chunk: &mut [u8]) {
    const NAME: &[u8] = b"\r\naccept-encoding:";
    const RENAMED: &[u8] = b"\r\nX-Ignored-Encod:";
    let mut i = 0;
    while i + NAME.len() <= chunk.len() {
        if chunk[i..i + NAME.len()].eq_ignore_ascii_case(NAME) {
            chunk[i..i + NAME.len()].copy_from_slice(RENAMED);
            i += NAME.len();
        } else {
            i += 1;
        }
    }
}

async fn relay(client: TcpStream, target: u16, shared: Arc<Shared>, mut cut: watch::Receiver<u64>) {
    let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = upstream.into_split();
    let armed = AtomicBool::new(false);
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = cr.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let chunk = &mut buf[..n];
            neutralise_accept_encoding(chunk);
            if let Ok(mut lose) = shared.lose.lock()
                && let Some(needle) = lose.as_deref()
                && chunk.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                *lose = None;
                armed.store(true, Ordering::SeqCst);
            }
            if uw.write_all(chunk).await.is_err() {
                break;
            }
        }
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = ur.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if armed.swap(false, Ordering::SeqCst) {
                shared.lost.fetch_add(1, Ordering::SeqCst);
                return; // the answer is lost: the browser sees the connection close
            }
            if let Ok(mut r) = shared.received.lock() {
                r.extend_from_slice(&buf[..n]);
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    tokio::select! {
        _ = down => {}
        _ = async { up.await; std::future::pending::<()>().await } => {}
        _ = cut.changed() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_is_renamed_in_place() {
        let mut head = b"GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, br\r\n\r\n".to_vec();
        let len = head.len();
        neutralise_accept_encoding(&mut head);
        assert_eq!(head.len(), len);
        let text = String::from_utf8(head).unwrap();
        assert!(text.contains("\r\nX-Ignored-Encod: gzip, br\r\n"), "{text}");
        assert!(!text.to_ascii_lowercase().contains("accept-encoding"));
    }
}
