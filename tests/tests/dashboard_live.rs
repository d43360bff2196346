//! The dashboard's live list, as a user sees it: a session another agent
//! opens appears by itself, messages posted into a session that is not open
//! show as its unread count (and in the title) within seconds, the open
//! session's messages and the operator's own sends never count, and the
//! counts survive a reload.

use std::time::{Duration, Instant};

use mochat_api::requests::RegisterResponse;
use mochat_api::{Route, Session};
use mochat_tests::{Browser, Mochat, Stack, at, route};
use serde_json::json;

/// The unread count shown for `sid` (0 when none is shown).
fn unread_js(sid: &str, n: u32) -> String {
    format!(
        "(() => {{ const u = document.querySelector('[data-testid=session-item][data-id={sid}] [data-testid=unread]'); \
         return {n} === 0 ? !u : (u && u.textContent.trim() === '{n}'); }})()"
    )
}

/// Holds every answer to the list's first page (no `before`) in the page for
/// [`LIST_LATE`] after it arrived.
fn late_list_js() -> String {
    let list = route::sessions(None).api_target();
    format!(
        "(() => {{ const real = window.fetch; \
         window.fetch = function (input, init) {{ \
           const url = new URL(typeof input === 'string' ? input : input.url, location.href); \
           const answer = real.call(this, input, init); \
           return url.pathname === {list:?} && !url.searchParams.has('before') \
             ? answer.then(r => new Promise(ok => setTimeout(() => ok(r), {ms}))) : answer; \
         }}; }})()",
        ms = LIST_LATE.as_millis()
    )
}

/// How late the list's first page arrives.
const LIST_LATE: Duration = Duration::from_millis(2500);

#[tokio::test(flavor = "multi_thread")]
async fn new_messages_elsewhere_show_as_unread_counts_that_survive_a_reload() {
    let s = Stack::demo("dashboard-live", &[]);
    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");
    let outcome = scenario(&browser, &s).await;
    s.finish(browser, "dashboard-live", outcome).await;
}

async fn scenario(b: &Browser, s: &Stack) -> Result<(), String> {
    let operator_id = s
        .local
        .dev_var("DEFAULT_AGENT_ID")
        .ok_or("the demo names its operator")?;
    // The list's first page arrives late (the worker has answered it, so its
    // live feed already reports those sessions as changed): the counts must
    // not take the sessions the list is about to show for new ones.
    b.before_every_page(&late_list_js())
        .await
        .map_err(at("slow the list's first page"))?;
    b.sign_in(&s.browser_origin(), &s.options.password).await?;

    // Another agent opens a session with the operator, outside the worker: it
    // appears in the list by itself.
    let reg: RegisterResponse = Mochat::new(s.local.base(), String::new())
        .call(
            Route::Register,
            Some(&json!({"name": "Courier", "username": "courier"})),
        )
        .await;
    let courier = Mochat::new(s.local.base(), reg.claw_token);
    let theirs: Session = courier
        .call(
            Route::CreateSession,
            Some(&json!({"participants": [operator_id], "title": "From the courier"})),
        )
        .await;
    let sid = theirs.session_id.clone();
    b.wait_for(&format!("[data-testid=session-item][data-id={sid}]"))
        .await
        .map_err(at("a session opened elsewhere appears in the list"))?;

    // Two messages posted into it, upstream: its count within 3 s, and the title.
    let posted = Instant::now();
    courier.send(&sid, "first from the courier").await;
    b.wait_js(&unread_js(&sid, 1))
        .await
        .map_err(at("one unread"))?;
    let first = posted.elapsed();
    courier.send(&sid, "second from the courier").await;
    b.wait_js(&unread_js(&sid, 2))
        .await
        .map_err(at("two unread"))?;
    println!("unread count shown {first:?} after the message was posted upstream");
    assert!(
        first <= Duration::from_secs(3),
        "the unread count took {first:?}"
    );
    if let Err(e) = b.wait_js("document.title === '(2) MoChat'").await {
        let title = b.client.title().await.unwrap_or_default();
        return Err(format!(
            "the title counts them: {e}; the title is {title:?}"
        ));
    }

    // The open session: the helper's answers and the operator's own sends never count.
    let helper_session = s
        .operator
        .sessions()
        .await
        .sessions
        .into_iter()
        .find(|x| x.title == "Ask the helper")
        .ok_or("the demo's helper session")?
        .session_id;
    b.click(&format!(
        "[data-testid=session-item][data-id={helper_session}]"
    ))
    .await
    .map_err(at("open the helper's session"))?;
    b.send_message("a question while the session is open")
        .await
        .map_err(at("send"))?;
    b.wait_message("a question while the session is open", None)
        .await
        .map_err(at("the own send is shown"))?;
    b.wait_message("Helper here", Some("Helper"))
        .await
        .map_err(at("the helper answers live"))?;
    s.operator
        .send(&helper_session, "the operator, from another client")
        .await;
    b.wait_message("the operator, from another client", None)
        .await
        .map_err(at("an own message from elsewhere arrives"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.wait_js(&unread_js(&helper_session, 0))
        .await
        .map_err(at("the open session has nothing unread"))?;
    b.wait_js(&unread_js(&sid, 2))
        .await
        .map_err(at("the other session still has 2"))?;
    b.screenshot("dashboard-live-unread")
        .await
        .map_err(at("screenshot"))?;

    // A reload keeps the counts; opening the session reads it.
    b.client.refresh().await.map_err(at("reload"))?;
    b.wait_for("[data-testid=session-list]")
        .await
        .map_err(at("the list after a reload"))?;
    b.wait_js(&unread_js(&sid, 2))
        .await
        .map_err(at("the count survives a reload"))?;
    b.wait_js(&unread_js(&helper_session, 0))
        .await
        .map_err(at("still nothing unread in the helper's session"))?;
    b.click(&format!("[data-testid=session-item][data-id={sid}]"))
        .await
        .map_err(at("open the courier's session"))?;
    b.wait_message("second from the courier", None)
        .await
        .map_err(at("its messages"))?;
    b.wait_js(&unread_js(&sid, 0))
        .await
        .map_err(at("read once opened"))?;
    b.wait_js("document.title === 'MoChat'")
        .await
        .map_err(at("the title without a count"))?;
    Ok(())
}
