//! Faults and abuse, bad input: every case of the corpus in `tests/corpus/`
//! (bodies, queries, ids, paths, headers, methods) sent to every one of the 16
//! API routes of the local server (with the demo operator's token) and of the
//! worker (signed in, same origin). Every answer is a 4xx in the error
//! envelope, or a 2xx where the input is actually valid (the allow-list in
//! [`allowed_2xx`] says why); never a 5xx, never a hang; and both servers
//! still answer a normal request afterwards.
//!
//! Requests go out over a raw HTTP/1.1 connection, so bodies, paths and
//! header bytes reach the server exactly as written in the corpus (no JSON
//! re-encoding, no client-side dot-segment resolution or percent-encoding).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use mochat_api::Route;
use mochat_tests::faults;
use mochat_tests::toolchain::scratch_dir;
use mochat_tests::{Dialect, Edge, LocalOptions, LocalServer, Mochat, WorkerOptions, WranglerDev};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every request must be answered within this.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Requests in flight at once (the machine has 2 cores).
const CONCURRENCY: usize = 4;
/// The contract's body limit.
const BODY_MAX: usize = 64 * 1024;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

// ---------------------------------------------------------------- the corpus

/// What a header case must do (see `tests/corpus/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderExpect {
    Reject,
    Ignore,
    Proto,
    RejectLocal,
    RejectWorker,
}

#[derive(Debug, Clone)]
enum Kind {
    Body(Vec<u8>),
    Query(String),
    Id(String),
    Path(String),
    Header(HeaderExpect, Vec<u8>),
    Method(String),
}

#[derive(Debug, Clone)]
struct Case {
    name: String,
    kind: Kind,
}

/// Expands `{16k}`, `{10k}`, `{token}` and the escapes `\r \n \t \\ \xHH`.
fn unescape(line: &str, token: &str) -> Vec<u8> {
    let line = line
        .replace("{16k}", &"a".repeat(16 * 1024))
        .replace("{10k}", &"i".repeat(10 * 1024))
        .replace("{token}", token);
    let bytes = line.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let escaped = match bytes[i + 1] {
                b'r' => Some((b'\r', 2)),
                b'n' => Some((b'\n', 2)),
                b't' => Some((b'\t', 2)),
                b'\\' => Some((b'\\', 2)),
                b'x' => std::str::from_utf8(bytes.get(i + 2..i + 4).unwrap_or(b""))
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .map(|b| (b, 4)),
                _ => None,
            };
            if let Some((b, len)) = escaped {
                out.push(b);
                i += len;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn lines(file: &str) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(corpus().join(file))
        .unwrap_or_else(|e| panic!("tests/corpus/{file}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, l)| (n + 1, l.to_owned()))
        .collect()
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("query, id, path and method cases are text")
}

fn load_corpus(token: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut bodies: Vec<PathBuf> = std::fs::read_dir(corpus().join("bodies"))
        .expect("tests/corpus/bodies")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    bodies.sort();
    for path in bodies {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        cases.push(Case {
            name: format!("body/{name}"),
            kind: Kind::Body(std::fs::read(&path).expect("a body file")),
        });
    }
    // Generated, not committed: one byte over the limit, and 1 MiB.
    let over = |size: usize| {
        let mut body = b"{\"content\":\"".to_vec();
        body.resize(size - 2, b'x');
        body.extend_from_slice(b"\"}");
        body
    };
    cases.push(Case {
        name: "body/generated-64KiB-plus-1".into(),
        kind: Kind::Body(over(BODY_MAX + 1)),
    });
    cases.push(Case {
        name: "body/generated-1MiB".into(),
        kind: Kind::Body(over(1024 * 1024)),
    });
    for (n, line) in lines("queries.txt") {
        cases.push(Case {
            name: format!("query/{n}:{}", short(&line)),
            kind: Kind::Query(text(unescape(&line, token))),
        });
    }
    for (n, line) in lines("ids.txt") {
        cases.push(Case {
            name: format!("id/{n}:{}", short(&line)),
            kind: Kind::Id(text(unescape(&line, token))),
        });
    }
    for (n, line) in lines("paths.txt") {
        cases.push(Case {
            name: format!("path/{n}:{}", short(&line)),
            kind: Kind::Path(text(unescape(&line, token))),
        });
    }
    for (n, line) in lines("headers.txt") {
        let (expect, header) = line.split_once('\t').expect("expectation<TAB>header");
        let expect = match expect {
            "reject" => HeaderExpect::Reject,
            "ignore" => HeaderExpect::Ignore,
            "proto" => HeaderExpect::Proto,
            "reject@local" => HeaderExpect::RejectLocal,
            "reject@worker" => HeaderExpect::RejectWorker,
            other => panic!("headers.txt:{n}: unknown expectation {other:?}"),
        };
        cases.push(Case {
            name: format!("header/{n}:{}", short(header)),
            kind: Kind::Header(expect, unescape(header, token)),
        });
    }
    for (n, line) in lines("methods.txt") {
        cases.push(Case {
            name: format!("method/{n}:{line}"),
            kind: Kind::Method(line),
        });
    }
    cases
}

/// A case's line, cut for the summary table.
fn short(line: &str) -> String {
    let mut s: String = line.chars().take(28).collect();
    if line.chars().count() > 28 {
        s.push('…');
    }
    s
}

// ------------------------------------------------------------ raw HTTP client

/// One request, written byte for byte.
struct Raw {
    method: String,
    target: Vec<u8>,
    headers: Vec<u8>,
    body: Option<Vec<u8>>,
}

#[derive(Debug)]
enum Outcome {
    Answer {
        status: u16,
        headers: String,
        body: Vec<u8>,
    },
    Hung,
    Transport(String),
}

/// Decodes a chunked body (best effort: stops at the first malformed chunk).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|s| *s > 0) else {
            break;
        };
        let start = end + 2;
        let Some(chunk) = data.get(start..start + size) else {
            out.extend_from_slice(&data[start.min(data.len())..]);
            break;
        };
        out.extend_from_slice(chunk);
        data = data.get(start + size + 2..).unwrap_or(&[]);
    }
    out
}

fn parse_answer(data: &[u8]) -> Option<Outcome> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let rest = &data[end + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    Some(Outcome::Answer {
        status,
        headers: head,
        body,
    })
}

/// Whether `data` holds a whole answer (headers, and the body its framing announces).
fn is_complete(data: &[u8], head_only: bool) -> bool {
    let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).unwrap_or("");
    if head_only || status.starts_with('1') || status == "204" || status == "304" {
        return true;
    }
    let body = &data[end + 4..];
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':').map(str::trim))
            .map(str::to_owned)
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return body.ends_with(b"0\r\n\r\n");
    }
    match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        Some(length) => body.len() >= length,
        None => false,
    }
}

async fn exchange(port: u16, raw: Raw) -> Outcome {
    let head_only = raw.method == "HEAD";
    let mut request = format!("{} ", raw.method).into_bytes();
    request.extend_from_slice(&raw.target);
    request.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n").as_bytes(),
    );
    request.extend_from_slice(&raw.headers);
    request.extend_from_slice(b"\r\n");
    let work = async {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut reader, mut writer) = stream.into_split();
        // Write and read at once: a server may answer (413) before reading a big body.
        let write = async move {
            let _ = writer.write_all(&request).await;
            if let Some(body) = &raw.body {
                let _ = writer.write_all(body).await;
            }
            let _ = writer.flush().await;
            writer
        };
        // Not every server closes at once after `Connection: close`: stop
        // reading when the answer is complete.
        let read = async move {
            let mut data = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let error = loop {
                match reader.read(&mut buf).await {
                    Ok(0) => break None,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                    Err(e) => break Some(e.to_string()),
                }
                if is_complete(&data, head_only) {
                    break None;
                }
            };
            (data, error)
        };
        let (_writer, (data, error)) = tokio::join!(write, read);
        match (parse_answer(&data), error) {
            (Some(answer), _) => Ok(answer),
            (None, Some(e)) => Err(format!("read: {e} after {} bytes", data.len())),
            (None, None) => Err(format!(
                "no HTTP answer: {:?}",
                String::from_utf8_lossy(&data[..data.len().min(200)])
            )),
        }
    };
    match tokio::time::timeout(TIMEOUT, work).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::Transport(e),
        Err(_) => Outcome::Hung,
    }
}

// ---------------------------------------------------------- targets and routes

/// A server under test.
struct Target {
    name: &'static str,
    port: u16,
    worker: bool,
    /// Headers every request carries (the token, or the cookie and Origin).
    defaults: Vec<(String, String)>,
}

/// One of the 16 routes, made concrete with the demo's ids.
struct RouteUse {
    method: &'static str,
    pattern: &'static str,
    route: Route,
    path: String,
}

fn routes(sid: &str, close_sid: &str, pid: &str) -> Vec<RouteUse> {
    Route::TABLE
        .iter()
        .map(|(method, pattern)| {
            // Closing is idempotent but final: it gets its own session.
            let session = if pattern.ends_with("/close") {
                close_sid
            } else {
                sid
            };
            let path = format!(
                "/api{}",
                pattern
                    .replace(":sessionId", session)
                    .replace(":panelId", pid)
            );
            let route = Route::parse_api(method.as_str(), &path).expect("a table route parses");
            RouteUse {
                method: method.as_str(),
                pattern,
                route,
                path,
            }
        })
        .collect()
}

fn reads_query(route: &Route) -> &'static [&'static str] {
    match route {
        Route::ListSessions { .. }
        | Route::ListSessionMessages { .. }
        | Route::ListPanelMessages { .. } => &["limit", "before"],
        Route::WatchSession { .. } => &["timeout", "limit", "cursor"],
        _ => &[],
    }
}

/// The query's keys, if every piece is well percent-encoded.
fn query_keys(query: &str) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let key = piece.split_once('=').map_or(piece, |(k, _)| k);
        let value = piece.split_once('=').map_or("", |(_, v)| v);
        for part in [key, value] {
            let b = part.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    let hex = b.get(i + 1..i + 3)?;
                    u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                    i += 2;
                }
                i += 1;
            }
        }
        keys.push(key.to_owned());
    }
    Some(keys)
}

/// Why a 2xx is the right answer to `case` on `route`, if it is: the input is
/// valid, or the route does not read the part of the request the case spoils.
fn allowed_2xx(case: &Case, route: &RouteUse, target: &Target) -> Option<&'static str> {
    match &case.kind {
        Kind::Body(_) if !route.route.has_body() => {
            Some("this call takes no body; a body it does not read is ignored")
        }
        Kind::Body(_) => {
            let message = matches!(
                route.route,
                Route::SendSessionMessage { .. } | Route::SendPanelMessage { .. }
            );
            let name = case.name.as_str();
            if message && name.ends_with("/escaped-control-chars-content.json") {
                Some("escaped control characters are valid JSON and valid message text")
            } else if message && name.ends_with("/huge-number-2pow64-in-meta.json") {
                Some("2^64 in meta is a valid JSON number (meta is free-form)")
            } else {
                None
            }
        }
        Kind::Query(query) => {
            let reads = reads_query(&route.route);
            if reads.is_empty() {
                return Some("this call reads no query parameters");
            }
            match query_keys(query) {
                Some(keys) if !keys.iter().any(|k| reads.contains(&k.as_str())) => {
                    Some("the query names no parameter this call reads")
                }
                _ if matches!(route.route, Route::WatchSession { .. })
                    && (query == "limit=101" || query == "limit=%31%30%31") =>
                {
                    Some("101 is within the watch's limit range 1..=1000")
                }
                _ => None,
            }
        }
        Kind::Id(_) => None,
        Kind::Path(template) => {
            // Outside /api/ the worker's assets answer with the dashboard (SPA).
            let outside = template.starts_with("//") || template.starts_with("/API");
            (target.worker && outside)
                .then_some("not under /api/: the dashboard's single-page-app fallback answers")
        }
        Kind::Header(expect, _) => match (expect, target.worker) {
            (HeaderExpect::Reject, _)
            | (HeaderExpect::RejectLocal, false)
            | (HeaderExpect::RejectWorker, true) => None,
            (HeaderExpect::RejectLocal, true) => {
                Some("the worker never forwards a browser's claw token header")
            }
            (HeaderExpect::RejectWorker, false) => {
                Some("X-MoChat-Agent is the worker's header; the local server ignores it")
            }
            (HeaderExpect::Ignore | HeaderExpect::Proto, _) => {
                Some("a header this call does not read is ignored")
            }
        },
        Kind::Method(method) => Route::parse_api(method, &route.path)
            .is_ok()
            .then_some("this method names another real call on the same path"),
    }
}

/// Why an answer is outside the API's rules altogether, if it is: the
/// request never reached the worker's code (any answer but a 5xx or a hang
/// is then fine), or the runtime refused a method it does not implement
/// with the 501 that RFC 9110 §9.1 prescribes, before the worker ran.
fn exempt(case: &Case, target: &Target, status: u16) -> Option<&'static str> {
    if !target.worker {
        return None;
    }
    match &case.kind {
        Kind::Path(t) if status < 500 && !(t.starts_with("{path}") || t.starts_with("/api/")) => {
            Some("not under /api/: the static-asset layer answers (SPA, redirect, 405)")
        }
        Kind::Method(m)
            if status == 501
                && ![
                    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
                ]
                .contains(&m.as_str()) =>
        {
            Some("workerd answers 501 to a method it does not know, before the worker runs")
        }
        _ => None,
    }
}

/// Whether a 4xx may come without the envelope: HEAD answers carry no body,
/// and the HTTP layer refuses malformed headers before any handler runs.
fn envelope_optional(case: &Case) -> bool {
    matches!(&case.kind, Kind::Method(m) if m == "HEAD")
        || matches!(&case.kind, Kind::Header(HeaderExpect::Proto, _))
}

fn build(case: &Case, route: &RouteUse, target: &Target) -> Raw {
    let mut method = route.method.to_owned();
    let mut target_path = route.path.clone().into_bytes();
    let mut case_headers: Vec<u8> = Vec::new();
    let mut body = None;
    match &case.kind {
        Kind::Body(bytes) => body = Some(bytes.clone()),
        Kind::Query(query) => target_path.extend_from_slice(format!("?{query}").as_bytes()),
        Kind::Id(id) => {
            let path = if route.pattern.contains(':') {
                let at = route.pattern.find(':').unwrap_or(0);
                let tail = route.pattern[at..].split_once('/').map(|(_, t)| t);
                let head = &route.pattern[..at];
                match tail {
                    Some(tail) => format!("/api{head}{id}/{tail}"),
                    None => format!("/api{head}{id}"),
                }
            } else {
                format!("{}/{id}", route.path)
            };
            target_path = path.into_bytes();
        }
        Kind::Path(template) => target_path = template.replace("{path}", &route.path).into_bytes(),
        Kind::Header(_, header) => {
            case_headers.extend_from_slice(header);
            case_headers.extend_from_slice(b"\r\n");
        }
        Kind::Method(m) => method = m.clone(),
    }
    let lower = String::from_utf8_lossy(&case_headers).to_ascii_lowercase();
    let mut headers = Vec::new();
    for (name, value) in &target.defaults {
        if !lower.contains(&format!("{}:", name.to_ascii_lowercase())) {
            headers.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    headers.extend_from_slice(&case_headers);
    if let Some(body) = &body {
        if !lower.contains("content-type:") {
            headers.extend_from_slice(b"Content-Type: application/json\r\n");
        }
        headers.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    } else if method == "POST" || method == "DELETE" || method == "PUT" || method == "PATCH" {
        headers.extend_from_slice(b"Content-Length: 0\r\n");
    }
    Raw {
        method,
        target: target_path,
        headers,
        body,
    }
}

// ------------------------------------------------------------------ verdicts

#[derive(Debug, Default, Clone)]
struct Row {
    attempts: usize,
    c4xx: usize,
    c2xx: usize,
    c5xx: usize,
    hung: usize,
    exempt: usize,
    other: usize,
}

fn is_envelope(body: &[u8]) -> bool {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &value["error"];
    error["code"].as_str().is_some_and(|c| !c.is_empty())
        && error["message"].as_str().is_some_and(|m| !m.is_empty())
}

/// Counts the outcome in `row`; a failure's description, if it is one.
fn judge(
    case: &Case,
    route: &RouteUse,
    target: &Target,
    outcome: &Outcome,
    row: &mut Row,
) -> Option<String> {
    row.attempts += 1;
    let what = format!(
        "[{}] {} {} {}",
        target.name, case.name, route.method, route.pattern
    );
    match outcome {
        Outcome::Hung => {
            row.hung += 1;
            Some(format!("{what}: no answer within {TIMEOUT:?}"))
        }
        Outcome::Transport(e) => {
            row.other += 1;
            Some(format!("{what}: transport error: {e}"))
        }
        Outcome::Answer { status, .. } if exempt(case, target, *status).is_some() => {
            row.exempt += 1;
            None
        }
        Outcome::Answer {
            status,
            headers,
            body,
        } => {
            let shown = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            match status {
                400..=499 => {
                    row.c4xx += 1;
                    (!is_envelope(body) && !envelope_optional(case)).then(|| {
                        format!(
                            "{what}: {status} without the error envelope: {headers:?} {shown:?}"
                        )
                    })
                }
                200..=299 => match allowed_2xx(case, route, target) {
                    Some(_) => {
                        row.c2xx += 1;
                        None
                    }
                    None => {
                        row.other += 1;
                        Some(format!("{what}: {status} for bad input: {shown}"))
                    }
                },
                500..=599 => {
                    row.c5xx += 1;
                    Some(format!("{what}: {status}: {shown}"))
                }
                _ => {
                    row.other += 1;
                    Some(format!("{what}: unexpected {status}: {headers:?} {shown}"))
                }
            }
        }
    }
}

/// Sends every case to every route of `target`; the rows by case, and the failures.
async fn run_corpus(
    target: &Target,
    cases: &[Case],
    routes: &[RouteUse],
) -> (BTreeMap<String, Row>, Vec<String>) {
    let jobs = cases
        .iter()
        .flat_map(|case| routes.iter().map(move |route| (case, route)))
        .map(|(case, route)| async move {
            let outcome = exchange(target.port, build(case, route, target)).await;
            (case, route, outcome)
        });
    let results: Vec<_> = futures::stream::iter(jobs)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut failures = Vec::new();
    for (case, route, outcome) in &results {
        let row = rows.entry(case.name.clone()).or_default();
        if let Some(failure) = judge(case, route, target, outcome, row) {
            failures.push(failure);
        }
    }
    (rows, failures)
}

/// Prints the rows and their total; returns the total.
fn print_table(target: &str, rows: &BTreeMap<String, Row>, took: Duration) -> Row {
    println!("\n== {target}: {} cases in {took:.1?}", rows.len());
    println!(
        "{:<48} {:>8} {:>5} {:>13} {:>5} {:>5} {:>6} {:>6}",
        "case", "attempts", "4xx", "2xx(allowed)", "5xx", "hung", "exempt", "other"
    );
    let mut total = Row::default();
    for (name, r) in rows {
        println!(
            "{:<48} {:>8} {:>5} {:>13} {:>5} {:>5} {:>6} {:>6}",
            name, r.attempts, r.c4xx, r.c2xx, r.c5xx, r.hung, r.exempt, r.other
        );
        total.attempts += r.attempts;
        total.c4xx += r.c4xx;
        total.c2xx += r.c2xx;
        total.c5xx += r.c5xx;
        total.hung += r.hung;
        total.exempt += r.exempt;
        total.other += r.other;
    }
    println!(
        "{:<48} {:>8} {:>5} {:>13} {:>5} {:>5} {:>6} {:>6}",
        "TOTAL",
        total.attempts,
        total.c4xx,
        total.c2xx,
        total.c5xx,
        total.hung,
        total.exempt,
        total.other
    );
    total
}

/// A normal call still works: the session list answers 200 with sessions.
async fn still_answers(target: &Target) {
    let raw = Raw {
        method: "GET".into(),
        target: mochat_tests::route::sessions(Some(5))
            .api_target()
            .into_bytes(),
        headers: target
            .defaults
            .iter()
            .flat_map(|(n, v)| format!("{n}: {v}\r\n").into_bytes())
            .collect(),
        body: None,
    };
    match exchange(target.port, raw).await {
        Outcome::Answer {
            status: 200, body, ..
        } => {
            let page: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert!(page["sessions"].is_array(), "[{}] {page}", target.name);
        }
        other => panic!(
            "[{}] a normal request after the corpus: {other:?}",
            target.name
        ),
    }
}

fn no_panics(name: &str, log: &str) {
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("panicked") || l.contains("RuntimeError") || l.contains("Uncaught"))
        .collect();
    assert!(
        bad.is_empty(),
        "{name} logged failures:\n{}",
        bad.join("\n")
    );
}

fn write_report(dir: &Path, name: &str, failures: &[String]) {
    let _ = std::fs::write(
        dir.join(format!("{name}-failures.txt")),
        failures.join("\n"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_on_every_route_is_a_4xx_envelope() {
    let dir = scratch_dir("faults-input");
    let local = LocalServer::start(LocalOptions {
        demo: true,
        rate_limit: None,
        ..LocalOptions::in_dir(&dir)
    })
    .expect("local MoChat server starts");
    let token = local.demo_token().expect("demo token");
    let operator = Mochat::new(local.base(), token.clone());
    let sid = operator.sessions().await.sessions[0].session_id.clone();
    let pid = operator.group().await.panels[0].panel_id.clone();
    let close_target: mochat_api::Session = operator
        .call(
            Route::CreateSession,
            Some(&json!({"participants": [], "title": "faults: the close route's target"})),
        )
        .await;
    let routes = routes(&sid, &close_target.session_id, &pid);
    assert_eq!(routes.len(), 16);
    let cases = load_corpus(&token);

    let mut options = WorkerOptions::for_demo(&local, &dir);
    options
        .vars
        .push(("RATE_LIMIT".to_owned(), "1000000".to_owned()));
    let worker = WranglerDev::start(&options).expect("wrangler dev starts");
    let mut edge = Edge::new(worker.origin());
    assert_eq!(edge.sign_in(&options.password).await, 204);
    let cookie = edge.cookie.clone().expect("a session cookie");

    // The corpus is of the reference's routes: the local server's own part
    // runs in the REST run (a live-only server answers none of them).
    let local_target = (Dialect::of_run() == Dialect::Rest).then(|| Target {
        name: "local",
        port: local.port,
        worker: false,
        defaults: vec![(mochat_api::limits::CLAW_TOKEN_HEADER.into(), token.clone())],
    });
    let targets: Vec<Target> = local_target
        .into_iter()
        .chain([Target {
            name: "worker",
            port: worker.port,
            worker: true,
            defaults: vec![
                ("Cookie".into(), format!("mochat_session={cookie}")),
                ("Origin".into(), worker.origin()),
            ],
        }])
        .collect();
    let mut all_failures = Vec::new();
    for target in &targets {
        let started = Instant::now();
        let (rows, failures) = run_corpus(target, &cases, &routes).await;
        let total = print_table(target.name, &rows, started.elapsed());
        faults::record(&faults::Row {
            case: format!("bad input corpus on every route ({})", target.name),
            attempts: total.attempts as u64,
            server_errors: total.c5xx as u64,
            hung: total.hung as u64,
            note: format!(
                "{} cases x 16 routes: {} 4xx envelopes, {} allowed 2xx, {} exempt, {} other",
                rows.len(),
                total.c4xx,
                total.c2xx,
                total.exempt,
                total.other
            ),
            ..faults::Row::default()
        });
        write_report(&dir, target.name, &failures);
        still_answers(target).await;
        all_failures.extend(failures);
    }
    assert!(!operator.sessions().await.sessions.is_empty());
    no_panics("mochat-local", &local.output());
    no_panics("wrangler", &worker.output());
    assert!(
        all_failures.is_empty(),
        "{} failures (all in {}):\n{}",
        all_failures.len(),
        dir.display(),
        all_failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
