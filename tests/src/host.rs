//! A stranger's web site for the widget tests: a tiny HTTP server on its own
//! loopback port (so its own origin) that answers every GET with one HTML
//! page and the page's CSP.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The page and its CSP.
type Page = Arc<Mutex<(String, String)>>;

/// A running host site; it stops when dropped.
pub struct HostSite {
    pub port: u16,
    page: Page,
    stop: Arc<AtomicBool>,
}

impl HostSite {
    /// Serves `html` with `Content-Security-Policy: csp` on 127.0.0.1, a free port.
    pub fn start(html: String, csp: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let page: Page = Arc::new(Mutex::new((html, csp)));
        let (flag, shared) = (Arc::clone(&stop), Arc::clone(&page));
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (html, csp) = shared.lock().map(|p| p.clone()).unwrap_or_default();
                        std::thread::spawn(move || serve(stream, &html, &csp));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Self { port, page, stop })
    }

    /// Serves another page from now on (e.g. once the edge's origin is known).
    pub fn set_page(&self, html: String, csp: String) {
        if let Ok(mut p) = self.page.lock() {
            *p = (html, csp);
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, html: &str, csp: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    // The request line and headers; the body (none for GET) is not read.
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line == "\r\n" || line == "\n" {
            break;
        }
        line.clear();
    }
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Security-Policy: {csp}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
        html.len()
    );
    let mut stream = &stream;
    let _ = stream.write_all(answer.as_bytes());
}

/// A host page that embeds the widget of `site` from `edge` with one script tag.
pub fn page_with_widget(edge: &str, site: &str, title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head><body><h1>{title}</h1>\
         <p>A shop page with the MoChat widget in the corner.</p>\
         <script src=\"{edge}/widget.js\" data-site=\"{site}\" data-color=\"#0f766e\" async></script>\
         </body></html>"
    )
}

/// A strict host CSP: scripts and frames only from the edge, no
/// `'wasm-unsafe-eval'`, no inline anything.
pub fn strict_csp(edge: &str) -> String {
    format!(
        "default-src 'none'; script-src {edge}; frame-src {edge}; style-src 'none'; img-src 'none'"
    )
}
