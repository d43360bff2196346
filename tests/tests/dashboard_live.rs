//! The dashboard stays live: a session watched through a crash and restart of
//! the local server shows every message exactly once, in order; and the
//! layout holds at phone width, light and dark.

use std::time::Duration;

use mochat_api::Route;
use mochat_api::requests::RegisterResponse;
use mochat_tests::{Browser, Mochat, Stack};
use serde_json::json;

fn at<E: std::fmt::Display>(step: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{step}: {e}")
}

/// The message ids the page shows, in order.
async fn shown_ids(b: &Browser) -> Result<Vec<String>, String> {
    b.attrs("[data-testid=message]", "data-id")
        .await
        .map_err(at("read ids"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watched_session_survives_a_server_crash_without_loss_or_repeats() {
    let Stack {
        mut local,
        worker,
        options,
        operator,
    } = Stack::demo("dashboard-restart", &[]);

    // Another agent in a fresh session with the operator.
    let anonymous = Mochat::new(local.base(), String::new());
    let reg: RegisterResponse = anonymous
        .call(
            Route::Register,
            "",
            Some(&json!({"name": "Sender", "username": "sender"})),
        )
        .await;
    let sender = Mochat::new(local.base(), reg.claw_token);
    let session: mochat_api::Session = operator
        .call(
            Route::CreateSession,
            "",
            Some(&json!({"participants": [reg.bot_user_id], "title": "Crash drill"})),
        )
        .await;
    let sid = session.session_id.clone();

    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");
    let outcome = async {
        let b = &browser;
        b.sign_in(&worker.origin(), &options.password).await?;
        b.click(&format!("[data-testid=session-item][data-id={sid}]"))
            .await
            .map_err(at("open session"))?;
        b.wait_for("[data-testid=empty]")
            .await
            .map_err(at("empty session shows"))?;
        for i in 1..=5 {
            sender.send(&sid, &format!("before crash {i}")).await;
        }
        b.wait_js("document.querySelectorAll('[data-testid=message]').length === 5")
            .await
            .map_err(at("five live messages"))?;
        local.kill9();
        tokio::time::sleep(Duration::from_secs(2)).await;
        local.restart().map_err(at("restart"))?;
        for i in 1..=5 {
            sender.send(&sid, &format!("after restart {i}")).await;
        }
        b.wait_js("document.querySelectorAll('[data-testid=message]').length >= 10")
            .await
            .map_err(at("ten messages after the restart"))?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let shown = shown_ids(b).await?;
        b.screenshot("restart").await.map_err(at("screenshot"))?;
        Ok::<_, String>(shown)
    }
    .await;
    browser.close().await;
    let shown = outcome
        .unwrap_or_else(|e| panic!("{e}\n{}", mochat_tests::process::tail(&worker.output())));
    let upstream: Vec<String> = operator
        .all_messages(&sid)
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(upstream.len(), 10);
    assert_eq!(
        shown, upstream,
        "the page shows every message once, in order"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_width_light_and_dark_without_horizontal_scroll() {
    // Keep the whole stack alive: `..` in a pattern would drop the local server.
    let s = Stack::demo("dashboard-phone", &[]);
    let (worker, options) = (&s.worker, &s.options);
    for dark in [false, true] {
        let theme = if dark { "dark" } else { "light" };
        let browser = Browser::start(360, 780, dark)
            .await
            .expect("headless Chromium starts");
        let outcome = async {
            let b = &browser;
            b.sign_in(&worker.origin(), &options.password).await?;
            let fits = "document.documentElement.scrollWidth <= window.innerWidth";
            b.wait_js(fits).await.map_err(at("list fits the phone"))?;
            b.screenshot(&format!("phone-list-{theme}"))
                .await
                .map_err(at("screenshot"))?;
            b.click("[data-testid=session-item]")
                .await
                .map_err(at("open a session"))?;
            b.wait_for("[data-testid=message]")
                .await
                .map_err(at("messages"))?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            b.wait_js(fits)
                .await
                .map_err(at("session fits the phone"))?;
            b.wait_js(
                "!!document.querySelector('[data-testid=composer]').getBoundingClientRect().width",
            )
            .await
            .map_err(at("composer visible"))?;
            b.screenshot(&format!("phone-session-{theme}"))
                .await
                .map_err(at("screenshot"))?;
            Ok::<_, String>(())
        }
        .await;
        browser.close().await;
        outcome.unwrap_or_else(|e| panic!("{theme}: {e}"));
    }
}
