//! The chat widget as a visitor and a site owner meet it, in headless
//! Chromium against the real stack: a host page on a second loopback origin
//! (with a strict CSP: no `'wasm-unsafe-eval'`, nothing inline) embeds the
//! widget with one script tag; the visitor chats, an agent answers live, a
//! reload keeps the conversation, the launcher counts unread answers; a
//! second visitor cannot read the first one's session and is throttled on
//! their own; a page not on the site's list cannot frame the widget; the
//! phone layout is full screen; the dashboard shows the visitor's name and site.

use std::time::Duration;

use mochat_api::widget::{FRAME_PATH, ME_PATH};
use mochat_tests::host::{page_with_widget, strict_csp};
use mochat_tests::{Browser, Dialect, HostSite, Stack, at, route};
use serde_json::{Value, json};

/// Runs `script` (async: its last argument is the callback) and returns its value.
async fn run_async(b: &Browser, script: &str) -> Result<Value, String> {
    b.client
        .execute_async(script, vec![])
        .await
        .map_err(at("run a script in the page"))
}

/// Nothing shaped like a claw token in the frame's page or storage.
async fn assert_no_token_in_frame(b: &Browser) -> Result<(), String> {
    let seen = b
        .client
        .execute(
            "return document.documentElement.outerHTML + JSON.stringify(localStorage) + JSON.stringify(sessionStorage);",
            vec![],
        )
        .await
        .map_err(at("read the frame"))?;
    if seen.as_str().unwrap_or_default().contains("claw_") {
        return Err("a claw token reached the widget".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_visitor_chats_with_the_sites_agent_through_the_widget() {
    let host = HostSite::start(String::new(), String::new()).expect("host site");
    let foreign = HostSite::start(String::new(), String::new()).expect("foreign site");
    // No extra participants: the demo's helper would answer every message and
    // blur the unread count (widget_access.rs covers configured participants).
    let stack = Stack::demo_with("widget-e2e", |_| {
        let sites = json!({"acme": {
            "origins": [host.origin()], "title": "Acme Support", "color": "#0f766e"
        }});
        vec![("WIDGET_SITES".to_owned(), sites.to_string())]
    });
    let edge = stack.browser_origin();
    host.set_page(
        page_with_widget(&edge, "acme", "Acme shop"),
        strict_csp(&edge),
    );
    // A page not on the list: the loader, and a frame that lies about its host.
    foreign.set_page(
        page_with_widget(&edge, "acme", "Not Acme").replace(
            "</body>",
            &format!(
                "<iframe id=\"lying\" src=\"{edge}{FRAME_PATH}?site=acme&amp;host={}\"></iframe></body>",
                host.origin()
            ),
        ),
        strict_csp(&edge),
    );
    let operator = &stack.operator;

    let ada = Browser::start(1280, 860, false).await.expect("Chromium");
    let bob = Browser::start(1280, 860, true).await.expect("Chromium");
    let phone = Browser::start(360, 740, true).await.expect("Chromium");
    let outcome = async {
        // Ada opens the widget, says who she is, and writes.
        let a = &ada;
        a.client.goto(&host.origin()).await.map_err(at("open the host page"))?;
        a.widget_part("launcher").await.map_err(at("the launcher appears"))?;
        a.screenshot("widget-launcher").await.map_err(at("screenshot"))?;
        a.open_widget().await.map_err(at("open the widget"))?;
        a.wait_for("[data-testid=welcome]").await.map_err(at("welcome"))?;
        a.client.enter_parent_frame().await.map_err(at("back to the page"))?;
        a.client
            .execute("window.MoChat.identify({name: 'Ada Lovelace'});", vec![])
            .await
            .map_err(at("identify"))?;
        a.enter_widget().await.map_err(at("into the widget"))?;
        a.wait_js("document.querySelector('[data-testid=welcome]').textContent.includes('Ada Lovelace')")
            .await
            .map_err(at("the widget knows Ada's name"))?;
        a.send_message("Hello, is my order on its way?").await.map_err(at("send"))?;
        a.wait_message("Hello, is my order on its way?", Some("Ada Lovelace"))
            .await
            .map_err(at("Ada's message is shown as hers"))?;
        let shown = a.texts("[data-testid=content]").await.map_err(at("texts"))?;
        assert!(
            !shown.iter().any(|t| t.contains("(visitor):")),
            "the widget shows Ada's text as she typed it: {shown:?}"
        );

        // The session upstream: the site agent's, titled for Ada.
        let session = operator
            .sessions()
            .await
            .sessions
            .into_iter()
            .find(|s| s.title == "Acme Support · Ada Lovelace")
            .ok_or("Ada's session upstream")?;
        let sid = session.session_id.clone();
        let stored = operator.all_messages(&sid).await;
        assert_eq!(stored.len(), 1);
        // Upstream, the text carries the visitor's name for agents that
        // ignore meta; browsers get it without (checked below, exactly).
        assert_eq!(
            stored[0].content,
            "Ada Lovelace (visitor): Hello, is my order on its way?"
        );
        // The live dialect stores no meta (the worker keeps the visitor's mark).
        if Dialect::of_run() == Dialect::Rest {
            assert_eq!(
                stored[0].meta.get("visitor").map(|v| v["name"].clone()),
                Some(serde_json::json!("Ada Lovelace"))
            );
        }

        // An agent answers through the API: it appears live.
        operator.send(&sid, "Hi Ada! It ships tomorrow.").await;
        a.wait_message("It ships tomorrow.", None).await.map_err(at("the answer arrives live"))?;
        assert_no_token_in_frame(a).await?;
        a.client.enter_parent_frame().await.map_err(at("back to the page"))?;
        a.screenshot("widget-desktop-light").await.map_err(at("screenshot"))?;

        // A reload keeps the conversation.
        a.client.refresh().await.map_err(at("reload"))?;
        a.open_widget().await.map_err(at("open again"))?;
        a.wait_message("Hello, is my order on its way?", Some("Ada Lovelace"))
            .await
            .map_err(at("Ada's message after a reload"))?;
        a.wait_message("It ships tomorrow.", None).await.map_err(at("the answer after a reload"))?;

        // Closed panel: a new answer shows on the launcher's badge.
        a.click("[data-testid=widget-close]").await.map_err(at("close"))?;
        a.client.enter_parent_frame().await.map_err(at("back to the page"))?;
        operator.send(&sid, "Anything else?").await;
        let mut badge = String::new();
        for _ in 0..100 {
            badge = a.widget_part("unread").await.map_err(at("badge"))?.text().await.unwrap_or_default();
            if badge == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(badge, "1", "one unread answer on the launcher");

        // Bob: his own visitor; Ada's session is closed to him.
        let b = &bob;
        b.client.goto(&host.origin()).await.map_err(at("Bob opens the page"))?;
        b.open_widget().await.map_err(at("Bob opens the widget"))?;
        b.send_message("Hi, Bob here.").await.map_err(at("Bob sends"))?;
        b.wait_message("Hi, Bob here.", Some("Visitor")).await.map_err(at("Bob's message"))?;
        // Ada's messages, and Bob's own (his id filled in by the page).
        let other = route::messages(&sid, None).api_target();
        let own = route::messages("SESSION_ID", None).api_target();
        let probe = run_async(
            b,
            &format!(
                "const done = arguments[arguments.length - 1];
                 (async () => {{
                   const h = {{Authorization: 'Bearer ' + localStorage.getItem('mochat.visitor.acme')}};
                   const me = await (await fetch('{ME_PATH}', {{headers: h}})).json();
                   const other = await fetch('{other}', {{headers: h}});
                   const codes = [];
                   for (let i = 0; i < 30; i++) {{
                     const r = await fetch('{own}'.replace('SESSION_ID', me.sessionId), {{headers: h}});
                     codes.push(r.status);
                     if (r.status === 429) break;
                   }}
                   return {{other: other.status, codes}};
                 }})().then(done, e => done(String(e)));"
            ),
        )
        .await?;
        assert_eq!(probe["other"], 403, "Bob reading Ada's session: {probe}");
        assert_eq!(probe["codes"].as_array().and_then(|c| c.last()), Some(&json!(429)), "{probe}");
        // Over his sub-quota, Bob gets a countdown...
        b.send_message("Am I too fast?").await.map_err(at("Bob sends again"))?;
        b.wait_js("document.querySelector('[data-testid=rate-banner]')?.textContent.includes('You can send again in')")
            .await
            .map_err(at("Bob sees the countdown"))?;
        b.client.enter_parent_frame().await.map_err(at("back to the page"))?;
        b.screenshot("widget-rate-limited-dark").await.map_err(at("screenshot"))?;
        // ...while Ada still chats.
        a.open_widget().await.map_err(at("Ada opens again"))?;
        a.send_message("Thanks, that is all.").await.map_err(at("Ada sends"))?;
        a.wait_js("[...document.querySelectorAll('[data-testid=message]')].some(m => m.textContent.includes('Thanks, that is all.'))")
            .await
            .map_err(at("Ada's message goes through"))?;
        let shown = a.texts("[data-testid=content]").await.map_err(at("texts"))?;
        assert!(
            shown.iter().any(|t| t.trim() == "Hello, is my order on its way?")
                && !shown.iter().any(|t| t.contains("(visitor):")),
            "the history in the widget, as Ada typed it: {shown:?}"
        );
        let texts: Vec<String> = operator.all_messages(&sid).await.into_iter().map(|m| m.content).collect();
        assert!(
            texts.iter().any(|t| t == "Ada Lovelace (visitor): Thanks, that is all."),
            "{texts:?}"
        );
        a.client.enter_parent_frame().await.map_err(at("back to the page"))?;

        // A page not on the site's list: the widget does not load in it.
        a.client.goto(&foreign.origin()).await.map_err(at("open the foreign page"))?;
        a.open_widget().await.map_err(at("the frame element exists"))?;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let inside = a.client.find_all(fantoccini::Locator::Css("[data-testid=composer]")).await.map_err(at("look inside"))?;
        assert!(inside.is_empty(), "the widget loaded for a page not on the list");
        a.client.enter_parent_frame().await.map_err(at("back"))?;
        a.client
            .find(fantoccini::Locator::Css("#lying"))
            .await
            .map_err(at("the lying frame"))?
            .enter_frame()
            .await
            .map_err(at("into the lying frame"))?;
        let lying = a.client.find_all(fantoccini::Locator::Css("[data-testid=composer]")).await.map_err(at("look inside"))?;
        assert!(lying.is_empty(), "frame-ancestors let a foreign page frame the widget");
        a.client.enter_parent_frame().await.map_err(at("back"))?;

        // Phone: the chat covers the screen.
        let p = &phone;
        p.client.goto(&host.origin()).await.map_err(at("phone opens the page"))?;
        p.open_widget().await.map_err(at("phone opens the widget"))?;
        p.send_message("Typing on my phone").await.map_err(at("phone sends"))?;
        p.wait_message("Typing on my phone", Some("Visitor")).await.map_err(at("phone message"))?;
        p.client.enter_parent_frame().await.map_err(at("back"))?;
        let full = p
            .client
            .execute(
                "const r = document.querySelector('[data-mochat-widget]').shadowRoot.querySelector('.panel').getBoundingClientRect();
                 return r.left === 0 && r.top === 0 && r.width === innerWidth && r.height === innerHeight;",
                vec![],
            )
            .await
            .map_err(at("measure the panel"))?;
        assert_eq!(full, json!(true), "full screen on a phone");
        p.screenshot("widget-phone-dark").await.map_err(at("screenshot"))?;

        // The dashboard: the conversation under the visitor's name and site.
        a.sign_in(&edge, &stack.options.password).await?;
        a.click(&format!("[data-testid=session-item][data-id={sid}]")).await.map_err(at("open Ada's session"))?;
        a.wait_message("Hello, is my order on its way?", Some("Ada Lovelace"))
            .await
            .map_err(at("the dashboard names the visitor"))?;
        let shown = a.texts("[data-testid=content]").await.map_err(at("texts"))?;
        assert!(
            shown.iter().any(|t| t.trim() == "Hello, is my order on its way?")
                && !shown.iter().any(|t| t.contains("(visitor):")),
            "the dashboard shows the visitor's text without the name in front: {shown:?}"
        );
        let preview = a
            .texts(&format!("[data-testid=session-item][data-id={sid}] [data-testid=session-preview]"))
            .await
            .map_err(at("the list's preview"))?;
        assert_eq!(
            preview.iter().map(|t| t.trim()).collect::<Vec<_>>(),
            ["Ada Lovelace: Thanks, that is all."],
            "the list names the visitor, without the prefix"
        );
        let badges = a.texts("[data-testid=visitor-badge]").await.map_err(at("badges"))?;
        assert!(
            badges.iter().any(|t| t.to_lowercase().contains("visitor · acme support")),
            "{badges:?}"
        );
        // Beside it, the visitor's details.
        a.wait_js("document.querySelector('[data-testid=visitor-name]')?.textContent === 'Ada Lovelace'")
            .await
            .map_err(at("the visitor panel names her"))?;
        let site = a.texts("[data-testid=visitor-site]").await.map_err(at("the site"))?;
        assert_eq!(site, ["Acme Support (acme)"]);
        let first = a.texts("[data-testid=visitor-first-seen]").await.map_err(at("first seen"))?;
        assert!(first.iter().all(|t| !t.contains("not recorded")), "{first:?}");
        a.screenshot("dashboard-widget-conversation").await.map_err(at("screenshot"))?;
        Ok::<(), String>(())
    }
    .await;
    if outcome.is_err() {
        let _ = ada.screenshot("widget-failure-ada").await;
        let _ = bob.screenshot("widget-failure-bob").await;
        let _ = phone.screenshot("widget-failure-phone").await;
    }
    ada.close().await;
    bob.close().await;
    phone.close().await;
    if let Err(e) = outcome {
        panic!("{e}\nworker log:\n{}", stack.worker.output());
    }
}

/// The composer is there from the first frame: a message typed while the
/// widget still connects (a slow network: the visitor is not minted yet) is
/// shown as sending, then posted once the visitor is known, exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_typed_while_connecting_is_sent_once_connected() {
    const HOST: &str = "http://127.0.0.1:9";
    let stack = Stack::demo_with("widget-early", |_| {
        let sites =
            json!({"early": {"origins": [HOST], "title": "Early Support", "color": "#0f766e"}});
        vec![("WIDGET_SITES".to_owned(), sites.to_string())]
    });
    let b = Browser::start(412, 915, false).await.expect("Chromium");
    let outcome = async {
        b.client.goto(&format!("{}/favicon.svg", stack.browser_origin())).await.map_err(at("same origin"))?;
        // Every answer takes 1.5 s from here on.
        b.cdp("Network.enable", json!({})).await.map_err(at("network"))?;
        b.cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": false, "latency": 1500, "downloadThroughput": -1, "uploadThroughput": -1}),
        )
        .await
        .map_err(at("slow network"))?;
        let frame = format!("{}{FRAME_PATH}?site=early&host={HOST}", stack.browser_origin());
        b.client.goto(&frame).await.map_err(at("open the widget frame"))?;
        b.wait_for("[data-testid=composer]").await.map_err(at("the composer"))?;
        let connecting = b.texts("[data-testid=loading]").await.map_err(at("loading"))?;
        assert_eq!(connecting.len(), 1, "the visitor is not known yet");
        b.send_message("Typed before the chat connected").await.map_err(at("send"))?;
        b.wait_for("[data-testid=outgoing]").await.map_err(at("shown as sending"))?;
        b.wait_message("Typed before the chat connected", None)
            .await
            .map_err(at("posted once connected"))?;

        let operator = &stack.operator;
        let session = operator
            .sessions()
            .await
            .sessions
            .into_iter()
            .find(|s| s.title.starts_with("Early Support"))
            .ok_or("the visitor's session upstream")?;
        let stored = operator.all_messages(&session.session_id).await;
        let texts: Vec<&str> = stored
            .iter()
            .map(|m| m.content.split_once(" (visitor): ").map_or(m.content.as_str(), |(_, t)| t))
            .collect();
        assert_eq!(texts, ["Typed before the chat connected"], "posted exactly once");
        b.screenshot("widget-typed-while-connecting").await.map_err(at("screenshot"))?;
        Ok::<(), String>(())
    }
    .await;
    if outcome.is_err() {
        let _ = b.screenshot("widget-early-failure").await;
    }
    b.close().await;
    if let Err(e) = outcome {
        panic!("{e}\nworker log:\n{}", stack.worker.output());
    }
}
