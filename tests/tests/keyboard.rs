//! The dashboard by keyboard: `?` lists the shortcuts, `j`/`k` and
//! Alt+arrows move through the sessions, `/` goes to the search and `r` to
//! the message box; saved replies are kept in the browser, inserted with
//! `/name` (arrows, Enter) or from their menu, and still there after a reload.

use fantoccini::key::Key;
use mochat_tests::{Browser, Stack, at};

const SELECTED: &str = "[data-testid=session-item][aria-current=true]";
const REPLY: &str = "Thank you for writing, we are on it.";

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_answers_the_keyboard_and_keeps_saved_replies() {
    let s = Stack::demo("keyboard", &[]);
    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");
    let outcome = scenario(&browser, &s).await;
    s.finish(browser, "keyboard", outcome).await;
    let phone = Browser::start(390, 844, true)
        .await
        .expect("headless Chromium starts");
    let outcome = replies_on_a_phone(&phone, &s).await;
    s.finish(phone, "keyboard-phone", outcome).await;
}

/// Fills the Replies menu's form with `name` and `text` and saves.
async fn save_reply(b: &Browser, name: &str, text: &str) -> Result<(), String> {
    b.fill("[data-testid=reply-name]", name)
        .await
        .map_err(at("name"))?;
    b.fill("[data-testid=reply-text]", text)
        .await
        .map_err(at("text"))?;
    b.click("[data-testid=reply-save]")
        .await
        .map_err(at("save"))
}

/// The `data-id` of the `n`th session of the list (0-based).
async fn nth_id(b: &Browser, n: usize) -> Result<String, String> {
    let ids = b
        .attrs("[data-testid=session-item]", "data-id")
        .await
        .map_err(at("the list's ids"))?;
    ids.get(n)
        .cloned()
        .ok_or_else(|| format!("no session #{n}"))
}

async fn selected_is(b: &Browser, id: &str) -> Result<(), String> {
    b.wait_js(&format!(
        "document.querySelector('{SELECTED}')?.dataset.id === '{id}' \
         && document.querySelector('[data-testid=session-view]')"
    ))
    .await
    .map_err(|e| format!("session {id} selected: {e}"))
}

fn focused(testid: &str) -> String {
    format!("document.activeElement?.dataset?.testid === '{testid}'")
}

async fn scenario(b: &Browser, s: &Stack) -> Result<(), String> {
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.wait_for("[data-testid=session-item]")
        .await
        .map_err(at("the list"))?;

    // ? lists the shortcuts; Esc closes the list.
    b.press(&['?']).await.map_err(at("press ?"))?;
    b.wait_for("[data-testid=shortcuts]")
        .await
        .map_err(at("the shortcuts list"))?;
    let _ = b.screenshot("keyboard-shortcuts").await;
    b.press(&[Key::Escape.into()])
        .await
        .map_err(at("press Esc"))?;
    b.wait_js("!document.querySelector('[data-testid=shortcuts]')")
        .await
        .map_err(at("the list closed"))?;

    // j, j, k, Alt+Down: first, second, first, second.
    let (first, second) = (nth_id(b, 0).await?, nth_id(b, 1).await?);
    b.press(&['j']).await.map_err(at("press j"))?;
    selected_is(b, &first).await?;
    b.press(&['j']).await.map_err(at("press j"))?;
    selected_is(b, &second).await?;
    b.press(&['k']).await.map_err(at("press k"))?;
    selected_is(b, &first).await?;
    b.press(&[Key::Alt.into(), Key::Down.into()])
        .await
        .map_err(at("press Alt+Down"))?;
    selected_is(b, &second).await?;

    // / goes to the search, r (outside a text field) to the message box.
    b.press(&['/']).await.map_err(at("press /"))?;
    b.wait_js(&focused("session-search"))
        .await
        .map_err(at("the search has focus"))?;
    b.wait_js("(document.activeElement.blur(), true)")
        .await
        .map_err(at("leave the search"))?;
    // (As a person does: r once the open session's message box is there.)
    b.wait_for("[data-testid=session-view] [data-testid=composer]")
        .await
        .map_err(at("the open session's message box"))?;
    b.press(&['r']).await.map_err(at("press r"))?;
    b.wait_js(&focused("composer"))
        .await
        .map_err(at("the message box has focus"))?;
    // Alt+Up moves even from the message box.
    b.press(&[Key::Alt.into(), Key::Up.into()])
        .await
        .map_err(at("press Alt+Up"))?;
    selected_is(b, &first).await?;

    // A saved reply, made in the menu.
    b.click("[data-testid=replies-button]")
        .await
        .map_err(at("the replies menu"))?;
    save_reply(b, "thanks", REPLY).await?;
    b.wait_for("[data-testid=saved-reply]")
        .await
        .map_err(at("the reply is listed"))?;
    // Another of the same name is refused, saying why.
    save_reply(b, "THANKS", "again").await?;
    b.wait_for("[data-testid=replies-menu] [role=alert]")
        .await
        .map_err(at("a second 'thanks' is refused"))?;
    let _ = b.screenshot("keyboard-replies-menu").await;
    b.press(&[Key::Escape.into()])
        .await
        .map_err(at("close the menu"))?;
    b.wait_js("!document.querySelector('[data-testid=replies-menu]')")
        .await
        .map_err(at("the menu closed"))?;

    // /tha offers it; Enter puts it in the box; Enter sends it.
    let composer = b
        .wait_for("[data-testid=session-view] [data-testid=composer]")
        .await
        .map_err(at("the message box"))?;
    composer.send_keys("/tha").await.map_err(at("type /tha"))?;
    b.wait_js(
        "[...document.querySelectorAll('[data-testid=reply-option]')]\
         .some(o => o.textContent.includes('/thanks'))",
    )
    .await
    .map_err(at("the offer"))?;
    let _ = b.screenshot("keyboard-reply-offer").await;
    b.press(&[Key::Enter.into()])
        .await
        .map_err(at("take the offer"))?;
    b.wait_js(&format!(
        "document.querySelector('[data-testid=session-view] [data-testid=composer]').value === {REPLY:?}"
    ))
    .await
    .map_err(at("the reply is in the box"))?;
    b.press(&[Key::Enter.into()]).await.map_err(at("send"))?;
    b.wait_message(REPLY, None)
        .await
        .map_err(at("the reply was sent"))?;

    // Kept in this browser: still there after a reload.
    b.client.refresh().await.map_err(at("reload"))?;
    b.wait_for("[data-testid=session-item]")
        .await
        .map_err(at("the list again"))?;
    b.press(&['j']).await.map_err(at("press j"))?;
    b.click("[data-testid=replies-button]")
        .await
        .map_err(at("the replies menu again"))?;
    let kept = b
        .texts("[data-testid=saved-reply]")
        .await
        .map_err(at("saved replies"))?;
    assert!(
        kept.len() == 1 && kept[0].contains("/thanks") && kept[0].contains("Thank you"),
        "{kept:?}"
    );
    Ok(())
}

/// The menu at phone width, in dark mode.
async fn replies_on_a_phone(b: &Browser, s: &Stack) -> Result<(), String> {
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.click("[data-testid=session-item]")
        .await
        .map_err(at("a session"))?;
    b.click("[data-testid=replies-button]")
        .await
        .map_err(at("the replies menu"))?;
    save_reply(b, "hours", "We answer from 9 to 5, Monday to Friday.").await?;
    b.wait_for("[data-testid=saved-reply]")
        .await
        .map_err(at("the reply is listed"))?;
    let _ = b.screenshot("keyboard-replies-phone-dark").await;
    Ok(())
}
