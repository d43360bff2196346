//! Faults and abuse, the worker's own defences: weak secrets refused, keys
//! kept apart, sign-in guessing limited per address (an IPv6 /64 counts as
//! one) and for everyone together, and a public health route that cannot be
//! used to make the worker call the upstream at will.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mochat_api::edge::{
    AGENTS_PATH, HEALTH_PATH, SESSION_PATH, SESSIONS_PATH, SHARED_SIGN_IN_FAILURES,
    SIGN_IN_FAILURES,
};
use mochat_api::widget::{FRAME_PATH, ME_PATH, VISITOR_PATH};
use mochat_tests::edge::now_secs;
use mochat_tests::faults::{Row, record};
use mochat_tests::toolchain::scratch_dir;
use mochat_tests::{Edge, WorkerOptions, WranglerDev};
use serde_json::json;

/// A worker whose upstream is a port nothing listens on: these cases never
/// need it (and health then says "unreachable").
fn worker(name: &str, edit: impl FnOnce(&mut WorkerOptions)) -> WranglerDev {
    let dir = scratch_dir(name);
    let nobody = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9);
    let mut options = WorkerOptions::for_test(
        format!("http://127.0.0.1:{nobody}/api"),
        "claw_security_test_token".to_owned(),
        &dir,
    );
    edit(&mut options);
    WranglerDev::start(&options).expect("wrangler dev starts")
}

async fn sign_in_from(edge: &Edge, password: &str, address: &str) -> mochat_tests::Answer {
    edge.send(
        "POST",
        SESSION_PATH,
        Some(&json!({ "password": password })),
        &[("CF-Connecting-IP", address)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_secrets_are_refused_with_a_message_naming_them() {
    let w = worker("security-weak", |o| {
        o.password = "hunter2".to_owned();
        o.session_secret = "sixteen-byte-key".to_owned();
        let sites = json!({"acme": {"origins": ["https://acme.example"], "title": "Acme"}});
        o.vars.push(("WIDGET_SITES".to_owned(), sites.to_string()));
    });
    let edge = Edge::new(w.origin());
    let mut attempts = 0;
    let mut check = |answer: mochat_tests::Answer, secret: &str| {
        attempts += 1;
        assert_eq!(answer.status, 500, "{}", answer.body);
        assert_eq!(answer.error_code().as_deref(), Some("INTERNAL"));
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(secret), "{message}");
        assert!(!message.contains("hunter2") && !message.contains("sixteen-byte-key"));
    };
    check(
        sign_in_from(&edge, "hunter2", "203.0.113.1").await,
        "DASHBOARD_PASSWORD",
    );
    check(edge.get(SESSION_PATH).await, "SESSION_SECRET");
    check(
        edge.post(VISITOR_PATH, &json!({"site": "acme"})).await,
        "SESSION_SECRET",
    );
    record(&Row {
        case: "weak DASHBOARD_PASSWORD / SESSION_SECRET refused (500 naming it)".into(),
        attempts,
        note: "7-character password, 16-byte secret: sign-in, session check, visitor mint".into(),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_signed_with_the_secret_itself_is_refused() {
    // Before the keys were derived, SESSION_SECRET signed cookies directly
    // (and visitor tokens too): such a cookie must not open a session now.
    use hmac::{Hmac, Mac};
    let w = worker("security-keys", |_| {});
    let secret = WorkerOptions::for_test(String::new(), String::new(), &scratch_dir("unused"))
        .session_secret;
    let payload = format!("v1.{}", now_secs() + 600);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(payload.as_bytes());
    let tag: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut edge = Edge::new(w.origin());
    edge.cookie = Some(format!("{payload}.{tag}"));
    let answer = edge.get(SESSION_PATH).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    // A cookie under the derived key does open one (so the 401 is the key's).
    edge.cookie = Some(mochat_tests::edge::forge_cookie(&secret, now_secs() + 600));
    assert_eq!(edge.get(SESSION_PATH).await.status, 200);
    record(&Row {
        case: "cookie MAC'd with SESSION_SECRET itself (not the derived key)".into(),
        attempts: 1,
        note: "refused 401; the HKDF cookie key's cookie accepted".into(),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_guessing_is_limited_per_64_and_for_everyone_together() {
    let w = worker("security-sign-in", |_| {});
    let edge = Edge::new(w.origin());
    let password = "correct horse battery staple";
    let mut attempts = 0u64;

    // One /64: five failures, then even the right password from another
    // address of the same /64 waits.
    for i in 0..SIGN_IN_FAILURES {
        let a = sign_in_from(&edge, "guess", &format!("2001:db8:1:2::{i:x}")).await;
        attempts += 1;
        assert_eq!(a.status, 401, "failure {i}: {}", a.body);
    }
    let same_64 = sign_in_from(&edge, password, "2001:db8:1:2:ffff:ffff:ffff:ffff").await;
    attempts += 1;
    assert_eq!(same_64.status, 429, "{}", same_64.body);
    assert!(same_64.header("retry-after").is_some());
    let next_64 = sign_in_from(&edge, password, "2001:db8:1:3::1").await;
    attempts += 1;
    assert_eq!(next_64.status, 204, "another /64 is not blocked");
    assert_eq!(
        sign_in_from(&edge, password, "198.51.100.7").await.status,
        204
    );
    attempts += 1;

    // Many /64s together: the shared budget ends the guessing for everyone.
    let mut failures = u64::from(SIGN_IN_FAILURES);
    let mut block = 0u32;
    while failures < u64::from(SHARED_SIGN_IN_FAILURES) {
        block += 1;
        for i in 0..SIGN_IN_FAILURES {
            if failures == u64::from(SHARED_SIGN_IN_FAILURES) {
                break;
            }
            let a = sign_in_from(&edge, "guess", &format!("2001:db8:2:{block:x}::{i:x}")).await;
            attempts += 1;
            assert_eq!(a.status, 401, "shared failure {failures}: {}", a.body);
            failures += 1;
        }
    }
    let fresh = sign_in_from(&edge, password, "2001:db8:ffff:1::1").await;
    attempts += 1;
    assert_eq!(fresh.status, 429, "{}", fresh.body);
    assert_eq!(fresh.error_code().as_deref(), Some("RATE_LIMITED"));
    let wait: u64 = fresh
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(wait > 60 * 50, "waits most of the hour, not {wait} s");
    assert!(
        fresh.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("many addresses")),
        "{}",
        fresh.body
    );
    record(&Row {
        case: "sign-in guessing from one IPv6 /64, then from many /64s".into(),
        attempts,
        note: format!(
            "{SIGN_IN_FAILURES} failures block the /64; {SHARED_SIGN_IN_FAILURES} from \
             {block} /64s stop every sign-in for up to an hour"
        ),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn health_does_not_call_the_upstream_on_every_request() {
    // A counting upstream that answers every request 404.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("bound").port();
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        counter.fetch_add(1, Ordering::SeqCst);
                        let reply = "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    let w = worker("security-health", |o| {
        o.upstream = format!("http://127.0.0.1:{port}/api");
    });
    let edge = Edge::new(w.origin());
    let first = edge.get(HEALTH_PATH).await;
    assert_eq!(first.status, 200);
    let after_one = hits.load(Ordering::SeqCst);
    for _ in 0..20 {
        assert_eq!(edge.get(HEALTH_PATH).await.json(), first.json());
    }
    let after_many = hits.load(Ordering::SeqCst);
    assert!(
        after_many <= after_one * 2,
        "21 health checks made {after_many} upstream requests (one made {after_one})"
    );
    record(&Row {
        case: format!("{HEALTH_PATH} asked 21 times in a row (public route)"),
        attempts: 21,
        note: format!(
            "{after_many} upstream requests in all ({after_one} for the first): kept 5 s"
        ),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session_wherever_its_cookie_went() {
    let w = worker("security-sign-out", |_| {});
    let password = "correct horse battery staple";
    let mut laptop = Edge::new(w.origin());
    let mut phone = Edge::new(w.origin());
    assert_eq!(laptop.sign_in(password).await, 204);
    assert_eq!(phone.sign_in(password).await, 204);
    assert_ne!(
        laptop.cookie, phone.cookie,
        "each sign-in is its own session"
    );

    // A copy of the laptop's cookie (stolen) dies when the laptop signs out.
    let mut thief = Edge::new(w.origin());
    thief.cookie = laptop.cookie.clone();
    assert_eq!(thief.get(SESSION_PATH).await.status, 200);
    let out = laptop.send("DELETE", SESSION_PATH, None, &[]).await;
    assert_eq!(out.status, 204, "{}", out.body);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    assert_eq!(thief.get(SESSION_PATH).await.status, 401);
    assert_eq!(thief.get(AGENTS_PATH).await.status, 401);
    assert_eq!(
        phone.get(SESSION_PATH).await.status,
        200,
        "the phone's session lives"
    );

    // Sign out everywhere: every session so far ends; a new sign-in works.
    let mut desk = Edge::new(w.origin());
    assert_eq!(desk.sign_in(password).await, 204);
    let all = phone.send("DELETE", SESSIONS_PATH, None, &[]).await;
    assert_eq!(all.status, 204, "{}", all.body);
    assert_eq!(desk.get(SESSION_PATH).await.status, 401);
    assert_eq!(phone.get(SESSION_PATH).await.status, 401);
    // (A session that began in the same second would end too: wait it out.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut again = Edge::new(w.origin());
    assert_eq!(again.sign_in(password).await, 204);
    assert_eq!(again.get(SESSION_PATH).await.status, 200);
    // Signing out everywhere takes a session, like every operator route.
    let anonymous = Edge::new(w.origin());
    assert_eq!(
        anonymous
            .send("DELETE", SESSIONS_PATH, None, &[])
            .await
            .status,
        401
    );
    record(&Row {
        case: "stolen cookie after sign-out; sessions after sign-out-everywhere".into(),
        attempts: 6,
        note: "refused 401 at once; the other device's session unaffected by a single sign-out"
            .into(),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_is_served_with_the_csp_the_build_wrote() {
    use base64::Engine;
    use sha2::Digest;
    let w = worker("security-csp", |_| {});
    let edge = Edge::new(w.origin());
    let page = edge.get("/").await;
    assert_eq!(page.status, 200);
    let served = page
        .header("content-security-policy")
        .expect("the dashboard has a CSP");
    let headers =
        std::fs::read_to_string(mochat_tests::toolchain::workspace_root().join("dist/_headers"))
            .expect("dist/_headers (cargo xtask build writes it)");
    let written = headers
        .lines()
        .find_map(|l| l.trim().strip_prefix("Content-Security-Policy: "))
        .expect("a CSP line");
    assert_eq!(served, written, "what runs is what the build wrote");
    // The worker serves `/`; the assets layer serves any other path of the
    // page (its single-page fallback) with `dist/_headers`: the same policy.
    let fallback = edge.get("/sessions/anything").await;
    assert_eq!(fallback.status, 200);
    assert_eq!(
        fallback.header("content-security-policy").as_deref(),
        Some(written)
    );
    assert!(
        !page.body.contains(mochat_api::avatars::META_NAME),
        "no opt-in, no list"
    );
    assert!(served.contains("img-src 'self' data:;"), "{served}");
    assert!(!served.contains("https:"), "no remote images: {served}");
    assert!(!served.contains("unsafe-inline"));
    // Every inline script of the served page is allowed by its hash, and only those.
    let mut hashes = Vec::new();
    let mut rest = page.body.as_str();
    while let Some(start) = rest.find("<script") {
        let open_end = start + rest[start..].find('>').expect("a tag");
        let tag = &rest[start..open_end];
        let close = open_end + rest[open_end..].find("</script>").expect("closed");
        if !tag.contains("src=") {
            let body = &rest[open_end + 1..close];
            let digest = sha2::Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &rest[close..];
    }
    assert!(!hashes.is_empty(), "Trunk's loader is inline");
    for hash in &hashes {
        assert!(served.contains(hash.as_str()), "{hash} in {served}");
    }
    assert_eq!(served.matches("'sha256-").count(), hashes.len());
    // The widget's demo page is not part of a release build.
    assert_ne!(
        edge.get("/widget-demo.html").await.body,
        std::fs::read_to_string(
            mochat_tests::toolchain::workspace_root().join("www/widget-demo.html")
        )
        .unwrap_or_default()
    );
    record(&Row {
        case: "the dashboard's CSP as served vs. as built".into(),
        attempts: 2,
        note: "identical; inline loader by hash only; images from own origin; no demo page".into(),
        ..Row::default()
    });
}

/// Remote avatars are an opt-in: the origins in `AVATAR_ORIGINS` and only
/// those go in the dashboard's and the widget's CSP and in the page for the
/// client; a malformed list stops the page with a message naming the var.
#[tokio::test(flavor = "multi_thread")]
async fn remote_avatars_load_only_from_the_origins_the_operator_lists() {
    let sites = json!({"acme": {"origins": ["https://acme.example"], "title": "Acme"}});
    let w = worker("security-avatars", |o| {
        o.vars.push(("WIDGET_SITES".to_owned(), sites.to_string()));
        o.vars.push((
            "AVATAR_ORIGINS".to_owned(),
            "https://avatars.example, https://cdn.example:8443/".to_owned(),
        ));
    });
    let edge = Edge::new(w.origin());
    let meta = format!(
        "<meta name=\"{}\" content=\"https://avatars.example https://cdn.example:8443\">",
        mochat_api::avatars::META_NAME
    );
    let img = "img-src 'self' data: https://avatars.example https://cdn.example:8443;";
    let frame = format!(
        "{}?site=acme&host=https://acme.example",
        mochat_api::widget::FRAME_PATH
    );
    for path in ["/", frame.as_str()] {
        let page = edge.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        let csp = page.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains(img), "{path}: {csp}");
        assert!(
            page.body.contains(&meta),
            "{path}: the client gets the same list"
        );
    }
    let bad = worker("security-avatars-bad", |o| {
        o.vars
            .push(("AVATAR_ORIGINS".to_owned(), "https:".to_owned()));
    });
    let refused = Edge::new(bad.origin()).get("/").await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    let message = refused.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("AVATAR_ORIGINS"), "{message}");
    assert!(
        !refused.body.contains("<script"),
        "no page with a CSP it was not meant to have"
    );
    record(&Row {
        case: "remote avatars: opted-in origins in CSP and page; a malformed list".into(),
        attempts: 3,
        note: "only the listed origins, in both pages; malformed: 500 naming AVATAR_ORIGINS".into(),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visitors_own_record_is_not_free_to_ask_for() {
    let w = worker("security-me", |o| {
        let sites = json!({"acme": {"origins": ["https://acme.example"], "title": "Acme"}});
        o.vars.push(("WIDGET_SITES".to_owned(), sites.to_string()));
    });
    let edge = Edge::new(w.origin());
    let minted = edge.post(VISITOR_PATH, &json!({"site": "acme"})).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.json()["token"].as_str().expect("a token").to_owned();
    let auth = format!("Bearer {token}");
    let mut admitted = 0;
    let mut attempts = 0;
    for i in 0..30 {
        attempts += 1;
        let (method, body) = if i % 2 == 0 {
            ("GET", None)
        } else {
            (
                "POST",
                Some(json!({"name": "Ada", "email": "ada@example.com"})),
            )
        };
        let a = edge
            .send(
                method,
                ME_PATH,
                body.as_ref(),
                &[("Authorization", auth.as_str())],
            )
            .await;
        match a.status {
            200 => admitted += 1,
            429 => {
                assert_eq!(a.error_code().as_deref(), Some("RATE_LIMITED"));
                assert!(a.header("retry-after").is_some());
                break;
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    assert_eq!(admitted, 20, "the visitor's 20 requests a minute, then 429");
    record(&Row {
        case: "a visitor asking for and setting their own record in a loop".into(),
        attempts,
        note: format!("GET/POST {ME_PATH} spend the visitor's 20 a minute; then 429"),
        ..Row::default()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_signs_out_everywhere_from_the_dashboard() {
    use mochat_tests::{Browser, Stack};
    let s = Stack::demo("security-sign-out-ui", &[]);
    let mut other_device = Edge::new(s.origin());
    assert_eq!(other_device.sign_in(&s.options.password).await, 204);
    let outcome = async {
        for (width, height, dark, name) in [
            (1280, 800, false, "sign-out-menu-desktop"),
            (390, 800, true, "sign-out-menu-phone-dark"),
        ] {
            let b = Browser::start(width, height, dark)
                .await
                .map_err(|e| e.to_string())?;
            b.sign_in(&s.browser_origin(), &s.options.password).await?;
            b.click("[data-testid=account-menu] summary")
                .await
                .map_err(|e| e.to_string())?;
            b.wait_for("[data-testid=sign-out-everywhere]")
                .await
                .map_err(|e| e.to_string())?;
            b.screenshot(name).await.map_err(|e| e.to_string())?;
            if width > 1000 {
                b.close().await;
                continue;
            }
            b.click("[data-testid=sign-out-everywhere]")
                .await
                .map_err(|e| e.to_string())?;
            b.wait_for("#password")
                .await
                .map_err(|e| format!("the sign-in form after signing out everywhere: {e}"))?;
            b.close().await;
        }
        Ok::<(), String>(())
    }
    .await;
    outcome.expect("the dashboard's sign-out menu");
    assert_eq!(
        other_device.get(SESSION_PATH).await.status,
        401,
        "the other device's session ended too"
    );
    record(&Row {
        case: "\"Sign out everywhere\" clicked in the dashboard".into(),
        attempts: 1,
        leaked: other_device.received_containing("claw_").len() as u64,
        note: "the browser shows sign-in; another device's session is refused 401".into(),
        ..Row::default()
    });
}

/// A page on another origin that keeps posting the bridge's messages with
/// `'*'`: to its parent (as if it were the widget), to every frame of its
/// parent (as if it were the host page), and to the widget's page it opens
/// in a window of its own (so it holds a reference to it); it records what
/// it receives, and whether the window opened.
fn hostile_page(widget_url: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ad</title></head>\
         <body><p>An ad.</p><script>\
         window.__got = [];\
         addEventListener('message', function (e) {{ __got.push(e.origin + ' ' + JSON.stringify(e.data)); }});\
         var popup = window.open('{widget_url}', 'mochat-popup');\
         window.__popup = !!popup;\
         var who = {{v: 1, type: 'mochat:identify', name: 'Mallory', email: 'mallory@evil.example'}};\
         setInterval(function () {{\
           try {{ parent.postMessage({{v: 1, type: 'mochat:unread', count: 42}}, '*');\
                 parent.postMessage({{v: 1, type: 'mochat:close'}}, '*'); }} catch (e) {{}}\
           for (var i = 0; i < parent.frames.length; i++) {{\
             try {{ parent.frames[i].postMessage(who, '*'); }} catch (e) {{}}\
           }}\
           try {{ if (popup) popup.postMessage(who, '*'); }} catch (e) {{}}\
         }}, 150);\
         </script></body></html>"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_widget_bridge_is_pinned_to_exact_origins_both_ways() {
    use mochat_tests::{Browser, HostSite, Stack};
    let host = HostSite::start(String::new(), String::new()).expect("host site");
    let second = HostSite::start(String::new(), String::new()).expect("the site's second origin");
    let hostile = HostSite::start(
        String::new(),
        "default-src 'none'; script-src 'unsafe-inline'".into(),
    )
    .expect("hostile site");
    let s = Stack::demo_with("security-bridge", |_| {
        let sites = json!({"acme": {"origins": [host.origin(), second.origin()], "title": "Acme"}});
        vec![("WIDGET_SITES".to_owned(), sites.to_string())]
    });
    let edge = s.browser_origin();
    hostile.set_page(
        hostile_page(&format!(
            "{edge}{FRAME_PATH}?site=acme&host={}",
            host.origin()
        )),
        "default-src 'none'; script-src 'unsafe-inline'".into(),
    );
    let csp = format!(
        "default-src 'none'; script-src 'unsafe-inline' {edge}; frame-src {edge} {}; style-src 'none'",
        hostile.origin()
    );
    // The shop: the widget, a listener of the loader's events, and an ad
    // frame from another origin.
    host.set_page(
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Shop</title></head>\
             <body><h1>Shop</h1><script>window.__events = [];\
             (function wait() {{ if (window.MoChat) {{\
               MoChat.on('unread', function (d) {{ __events.push('unread:' + d.count); }});\
               MoChat.on('close', function () {{ __events.push('close'); }});\
             }} else setTimeout(wait, 20); }})();</script>\
             <script src=\"{edge}/widget.js\" data-site=\"acme\" async></script>\
             <iframe id=\"ad\" title=\"ad\" src=\"{}/\"></iframe></body></html>",
            hostile.origin()
        ),
        csp.clone(),
    );
    // The site's other origin frames the widget as if it were the shop.
    second.set_page(
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Other</title></head>\
             <body><script>window.__got = [];\
             addEventListener('message', function (e) {{ __got.push(e.origin + ' ' + JSON.stringify(e.data)); }});\
             </script><iframe title=\"chat\" src=\"{edge}{FRAME_PATH}?site=acme&amp;host={}\"></iframe>\
             </body></html>",
            host.origin()
        ),
        csp,
    );
    let b = Browser::start(1280, 860, false).await.expect("Chromium");
    let at = |step: &'static str| move |e: fantoccini::error::CmdError| format!("{step}: {e}");
    let outcome = async {
        b.client
            .goto(&host.origin())
            .await
            .map_err(at("open the shop"))?;
        b.open_widget().await.map_err(at("open the widget"))?;
        b.wait_for("[data-testid=welcome]")
            .await
            .map_err(at("welcome"))?;
        // The ad keeps posting for two seconds.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let welcome = b
            .texts("[data-testid=welcome]")
            .await
            .map_err(at("welcome text"))?;
        if welcome.iter().any(|t| t.contains("Mallory")) {
            return Err(format!(
                "the widget took another origin's identify: {welcome:?}"
            ));
        }
        // The visitor's record as the worker keeps it: the widget in the
        // ad's window (same visitor, same storage) must not have renamed it.
        let record = b
            .client
            .execute(
                &format!(
                    "return fetch('{ME_PATH}', {{headers: {{Authorization: 'Bearer ' + \
                     localStorage.getItem('mochat.visitor.acme')}}}}).then(r => r.json())\
                     .then(j => j.name + ' <' + (j.email || '') + '>');"
                ),
                vec![],
            )
            .await
            .map_err(at("the visitor's record"))?;
        if record.to_string().contains("Mallory") {
            return Err(format!("another origin renamed the visitor: {record}"));
        }
        b.client
            .enter_parent_frame()
            .await
            .map_err(at("back to the shop"))?;
        b.wait_for("#ad")
            .await
            .map_err(at("the ad"))?
            .enter_frame()
            .await
            .map_err(at("into the ad"))?;
        let popup = b
            .client
            .execute("return window.__popup;", vec![])
            .await
            .map_err(at("the ad's window"))?;
        if popup != json!(true) {
            return Err("the ad could not open its window: the case proves nothing".into());
        }
        b.client
            .enter_parent_frame()
            .await
            .map_err(at("back to the shop"))?;
        let events = b
            .client
            .execute("return window.__events;", vec![])
            .await
            .map_err(at("the loader's events"))?;
        if events.to_string().contains("42") || events.to_string().contains("close") {
            return Err(format!("the loader took the ad's messages: {events}"));
        }
        let open = b
            .widget_part("launcher")
            .await
            .map_err(at("launcher"))?
            .attr("aria-expanded")
            .await
            .map_err(at("expanded"))?;
        if open.as_deref() != Some("true") {
            return Err("the ad closed the widget".into());
        }

        // The widget's frame now shows another origin's page (the shop can
        // navigate its frames): the loader must neither send it the visitor's
        // identity nor take its messages, though they come from the frame.
        b.client
            .execute(
                &format!(
                    "document.querySelector('[data-mochat-widget]').shadowRoot\
                     .querySelector('iframe').src = '{}/capture';",
                    hostile.origin()
                ),
                vec![],
            )
            .await
            .map_err(at("navigate the widget's frame"))?;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        b.client
            .execute(
                "window.MoChat.identify({name: 'Ada', email: 'ada@example.com'});",
                vec![],
            )
            .await
            .map_err(at("identify"))?;
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let events = b
            .client
            .execute("return window.__events;", vec![])
            .await
            .map_err(at("the loader's events"))?;
        if events.to_string().contains("42") {
            return Err(format!(
                "the loader took a message from its frame's new origin: {events}"
            ));
        }
        b.enter_widget().await.map_err(at("into the frame"))?;
        let got = b
            .client
            .execute("return window.__got;", vec![])
            .await
            .map_err(at("what the frame received"))?;
        if got.to_string().contains("ada@example.com") {
            return Err(format!(
                "the loader sent the identity to another origin: {got}"
            ));
        }
        b.client.enter_parent_frame().await.map_err(at("back"))?;

        // The site's other origin frames the widget saying the shop is its
        // host: the widget posts only to the shop's origin, so it hears nothing.
        b.client
            .goto(&second.origin())
            .await
            .map_err(at("open the other origin"))?;
        b.wait_for("iframe").await.map_err(at("its frame"))?;
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        let got = b
            .client
            .execute("return window.__got;", vec![])
            .await
            .map_err(at("what the page received"))?;
        if got.to_string().contains("mochat:") {
            return Err(format!(
                "the widget posted to an origin that is not its host: {got}"
            ));
        }
        Ok::<(), String>(())
    }
    .await;
    let _ = b.screenshot("security-bridge").await;
    b.close().await;
    outcome.expect("the bridge is pinned");
    record(&Row {
        case: "postMessage from another origin to the loader and the widget; frame navigated away"
            .into(),
        attempts: 4,
        note: "forged unread/close/identify ignored; identity not sent to the new origin; \
               nothing posted to a host other than the one named"
            .into(),
        ..Row::default()
    });
}
