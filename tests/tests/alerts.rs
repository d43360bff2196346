//! Being told of new messages: a desktop notification and a chime for a
//! message in any session (from the live list), none for a session the
//! operator muted (its unread count still grows), and the mute remembered
//! after a reload. The browser's `Notification` and `AudioContext` are
//! replaced by recorders (headless Chromium shows and plays nothing).

use mochat_api::requests::RegisterResponse;
use mochat_api::{Route, Session};
use mochat_tests::{Browser, Mochat, Stack, at};
use serde_json::json;

/// Records notifications in `window.notes` and tones in `window.tones`.
const RECORDERS: &str = r#"
window.notes = [];
window.tones = 0;
window.Notification = class {
  constructor(title, options) { window.notes.push({ title, body: options && options.body }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
class Param { constructor() { this.value = 0; } setValueAtTime() { return this; } exponentialRampToValueAtTime() { return this; } }
class Node { connect(n) { return n; } }
window.AudioContext = class {
  constructor() { this.currentTime = 0; this.destination = new Node(); }
  resume() { return Promise.resolve(); }
  createOscillator() { const o = new Node(); o.frequency = new Param(); o.start = () => { window.tones++; }; o.stop = () => {}; return o; }
  createGain() { const g = new Node(); g.gain = new Param(); return g; }
};
"#;

#[tokio::test(flavor = "multi_thread")]
async fn new_messages_notify_and_chime_unless_muted() {
    let s = Stack::demo("alerts", &[]);
    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");
    let outcome = scenario(&browser, &s).await;
    s.finish(browser, "alerts", outcome).await;
    let phone = Browser::start(390, 844, true)
        .await
        .expect("headless Chromium starts");
    let outcome = on_a_phone(&phone, &s).await;
    s.finish(phone, "alerts-phone", outcome).await;
}

fn item(sid: &str) -> String {
    format!("[data-testid=session-item][data-id={sid}]")
}

fn unread_is(sid: &str, n: u32) -> String {
    format!(
        "document.querySelector('{} [data-testid=unread]')?.textContent.trim() === '{n}'",
        item(sid)
    )
}

async fn count(b: &Browser, what: &str) -> Result<u64, String> {
    b.client
        .execute(&format!("return {what};"), vec![])
        .await
        .map_err(|e| format!("read {what}: {e}"))?
        .as_u64()
        .ok_or_else(|| format!("{what} is not a number"))
}

async fn scenario(b: &Browser, s: &Stack) -> Result<(), String> {
    let operator_id = s
        .local
        .dev_var("DEFAULT_AGENT_ID")
        .ok_or("the demo names its operator")?;
    b.before_every_page(RECORDERS)
        .await
        .map_err(at("the recorders"))?;
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.click("[data-testid=notify-toggle]")
        .await
        .map_err(at("notifications on"))?;
    b.click("[data-testid=sound-toggle]")
        .await
        .map_err(at("sound on"))?;
    b.wait_js("window.tones > 0")
        .await
        .map_err(at("turning the sound on plays it once"))?;

    // Another agent opens two sessions with the operator, outside the worker.
    let reg: RegisterResponse = Mochat::new(s.local.base(), String::new())
        .call(
            Route::Register,
            Some(&json!({"name": "Courier", "username": "courier"})),
        )
        .await;
    let courier = Mochat::new(s.local.base(), reg.claw_token);
    let mut sids = Vec::new();
    for title in ["Parcel one", "Parcel two"] {
        let created: Session = courier
            .call(
                Route::CreateSession,
                Some(&json!({"participants": [operator_id], "title": title})),
            )
            .await;
        b.wait_for(&item(&created.session_id))
            .await
            .map_err(at("a new session appears"))?;
        sids.push(created.session_id);
    }
    let (one, two) = (&sids[0], &sids[1]);

    // A message in a session that is not open: a notification and a chime.
    let tones = count(b, "window.tones").await?;
    courier.send(one, "first from the courier").await;
    b.wait_js(
        "window.notes.some(n => n.title === 'Courier in Parcel one' \
         && n.body === 'first from the courier')",
    )
    .await
    .map_err(at("a notification for the message"))?;
    b.wait_js(&format!("window.tones > {tones}"))
        .await
        .map_err(at("a chime for the message"))?;

    // Muted (from its header), then left for another session: its messages
    // count, but tell nothing.
    b.click(&item(one)).await.map_err(at("open parcel one"))?;
    b.click("[data-testid=mute-session]")
        .await
        .map_err(at("mute it"))?;
    b.wait_js("document.querySelector('[data-testid=mute-session]').getAttribute('aria-pressed') === 'true'")
        .await
        .map_err(at("muted"))?;
    b.wait_for(&format!("{} [data-testid=muted]", item(one)))
        .await
        .map_err(at("the list marks it muted"))?;
    let _ = b.screenshot("alerts-muted").await;
    b.click(&item(two)).await.map_err(at("open parcel two"))?;
    let (notes, tones) = (
        count(b, "window.notes.length").await?,
        count(b, "window.tones").await?,
    );
    courier.send(one, "second, muted").await;
    b.wait_js(&unread_is(one, 1))
        .await
        .map_err(at("the muted session's count grows"))?;
    assert_eq!(
        count(b, "window.notes.length").await?,
        notes,
        "no notification while muted"
    );
    assert_eq!(
        count(b, "window.tones").await?,
        tones,
        "no chime while muted"
    );

    // Remembered: after a reload it is still muted.
    b.client.refresh().await.map_err(at("reload"))?;
    b.wait_for(&format!("{} [data-testid=muted]", item(one)))
        .await
        .map_err(at("still muted after a reload"))?;
    courier.send(one, "third, still muted").await;
    b.wait_js(&unread_is(one, 2))
        .await
        .map_err(at("the count grows after the reload"))?;
    assert_eq!(
        count(b, "window.notes.length").await?,
        0,
        "the reload started a fresh page: nothing told"
    );
    // Unmuted parcel two (not open after the reload) still tells.
    courier.send(two, "for parcel two").await;
    b.wait_js("window.notes.some(n => n.title === 'Courier in Parcel two')")
        .await
        .map_err(at("an unmuted session still notifies"))?;
    assert!(
        count(
            b,
            "window.notes.filter(n => n.title === 'Courier in Parcel one').length"
        )
        .await?
            == 0,
        "nothing of the muted session"
    );
    Ok(())
}

/// The toggles at phone width, in dark mode.
async fn on_a_phone(b: &Browser, s: &Stack) -> Result<(), String> {
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.click("[data-testid=session-item]")
        .await
        .map_err(at("a session"))?;
    b.wait_for("[data-testid=mute-session]")
        .await
        .map_err(at("its mute button"))?;
    let _ = b.screenshot("alerts-phone-dark").await;
    Ok(())
}
