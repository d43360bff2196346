//! Finding a session on a busy first day: the list pages past its first 50
//! as it is scrolled, a search finds sessions not loaded yet (showing that
//! it searches older ones) by title, participant or last message, and the
//! open/closed filter keeps only what it names.

use mochat_api::limits::PAGE_MAX;
use mochat_api::requests::PageQuery;
use mochat_api::{Message, Route, Session, SessionPage};
use mochat_tests::{Browser, Stack, at};
use serde_json::json;

/// Sessions made newer than the one the test looks for: more than the
/// list's first page and the live list's newest 100 together show.
const FILLERS: usize = 160;
/// The list's first page (`client/src/live.rs`).
const FIRST_PAGE: usize = 50;

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_found_by_search_filter_and_scrolling() {
    let s = Stack::demo("find", &[]);
    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");
    let outcome = scenario(&browser, &s).await;
    s.finish(browser, "find", outcome).await;
    // The same on a phone, dark.
    let phone = Browser::start(390, 844, true)
        .await
        .expect("headless Chromium starts");
    let outcome = on_a_phone(&phone, &s).await;
    s.finish(phone, "find-phone", outcome).await;
}

/// A search and the closed filter at phone width, in dark mode.
async fn on_a_phone(b: &Browser, s: &Stack) -> Result<(), String> {
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    search_for(b, "retro").await?;
    b.click("[data-testid=show-closed]")
        .await
        .map_err(at("closed"))?;
    b.wait_js(
        "[...document.querySelectorAll('[data-testid=session-item] .title')]\
         .some(t => t.textContent.includes('Retro'))",
    )
    .await
    .map_err(at("a closed session found on a phone"))?;
    let _ = b.screenshot("find-phone-dark").await;
    Ok(())
}

/// Every session of the operator, paging back through the list.
async fn every_session(s: &Stack) -> Vec<Session> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let query = PageQuery {
            limit: Some(PAGE_MAX),
            before,
        };
        let page: SessionPage = s
            .operator
            .call(Route::ListSessions { query }, None::<&()>)
            .await;
        all.extend(page.sessions);
        match (page.has_more, page.cursor) {
            (true, Some(cursor)) => before = Some(cursor),
            _ => return all,
        }
    }
}

/// Puts `text` in the search box, as typing it would.
async fn search_for(b: &Browser, text: &str) -> Result<(), String> {
    b.wait_for("[data-testid=session-search]")
        .await
        .map_err(at("the search box"))?;
    b.client
        .execute(
            "const i = document.querySelector('[data-testid=session-search]'); \
             i.value = arguments[0]; i.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(text)],
        )
        .await
        .map(drop)
        .map_err(|e| format!("search for {text:?}: {e}"))
}

/// How many sessions the list shows.
const COUNT: &str = "document.querySelectorAll('[data-testid=session-item]').length";

async fn scenario(b: &Browser, s: &Stack) -> Result<(), String> {
    // The session to find: oldest activity of all, with a demo person in it
    // and a last message of its own.
    let group = s.operator.group().await;
    let needle: Session = s
        .operator
        .call(
            Route::CreateSession,
            Some(&json!({"participants": [], "title": "Needle in the archive"})),
        )
        .await;
    // A person, not one of the demo's agents (the helper answers messages,
    // which would make the session the newest).
    let person = s
        .local
        .demo_value("person Grace Hopper id")
        .ok_or("the demo names Grace Hopper")?;
    // Found by the name the workspace group gives her (by id where the
    // group lists no members, as the live dialect's does not).
    let person_search = group
        .members
        .iter()
        .find(|m| m.user_id == person && !m.name.is_empty())
        .map_or_else(|| person.clone(), |m| m.name.clone());
    let _: Session = s
        .operator
        .call(
            Route::AddParticipants {
                session_id: needle.session_id.clone(),
            },
            Some(&json!({"participants": [person]})),
        )
        .await;
    let _: Message = s
        .operator
        .send(&needle.session_id, "the purple umbrella")
        .await;
    for i in 1..=FILLERS {
        let filler: Session = s
            .operator
            .call(
                Route::CreateSession,
                Some(&json!({"participants": [], "title": format!("Filler {i:02}")})),
            )
            .await;
        if i == 7 {
            let _: Session = s
                .operator
                .call(
                    Route::CloseSession {
                        session_id: filler.session_id,
                    },
                    Some(&json!({})),
                )
                .await;
        }
    }
    let all = every_session(s).await;
    let total = all.len();
    let closed = all
        .iter()
        .filter(|x| x.status == mochat_api::SessionStatus::Closed)
        .count();

    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.wait_js(&format!("{COUNT} >= {FIRST_PAGE}"))
        .await
        .map_err(at("the first page of the list"))?;
    let titles = b
        .texts("[data-testid=session-item] .title")
        .await
        .map_err(at("titles"))?;
    assert!(
        !titles.iter().any(|t| t.contains("Needle")),
        "the oldest session is not on the first page"
    );

    // A search finds it though it was not loaded, and says it looks further.
    b.wait_js(
        "(() => { window.sawSearching = false; new MutationObserver(() => { \
           if (document.querySelector('[data-testid=searching-older]')) window.sawSearching = true; \
         }).observe(document.body, {subtree: true, childList: true}); return true; })()",
    )
    .await
    .map_err(at("watch for the searching note"))?;
    // By last message where the session list carries it (the reference's
    // does; the live dialect's list has no last message to search).
    let carries_last = all
        .iter()
        .any(|x| x.session_id == needle.session_id && x.last_message.is_some());
    let mut searches = vec![
        ("needle", "its title"),
        (person_search.as_str(), "a participant"),
    ];
    if carries_last {
        searches.push(("PURPLE umbrella", "its last message"));
    }
    for (search, what) in searches {
        search_for(b, search).await?;
        b.wait_js(
            "[...document.querySelectorAll('[data-testid=session-item] .title')]\
             .some(t => t.textContent.includes('Needle in the archive'))",
        )
        .await
        .map_err(|e| format!("search by {what} ({search:?}): {e}"))?;
    }
    b.wait_js(
        "window.sawSearching === true && !document.querySelector('[data-testid=searching-older]')",
    )
    .await
    .map_err(at("the searching note showed, then went"))?;
    let _ = b.screenshot("find-search").await;
    // Nothing found: said so.
    search_for(b, "no such words anywhere").await?;
    b.wait_for("[data-testid=no-match]")
        .await
        .map_err(at("no match"))?;

    // The filter: closed only, then open only (everything is loaded now).
    search_for(b, "").await?;
    b.wait_js(&format!("{COUNT} == {total}"))
        .await
        .map_err(at("every session after the search"))?;
    b.click("[data-testid=show-closed]")
        .await
        .map_err(at("closed"))?;
    b.wait_js(&format!(
        "{COUNT} == {closed} && [...document.querySelectorAll('[data-testid=session-item]')]\
         .every(i => i.querySelector('.badge.closed'))"
    ))
    .await
    .map_err(at("only the closed sessions"))?;
    let shown = b
        .texts("[data-testid=session-item] .title")
        .await
        .map_err(at("titles"))?;
    assert!(shown.iter().any(|t| t == "Filler 07"), "{shown:?}");
    b.click("[data-testid=show-open]")
        .await
        .map_err(at("open"))?;
    b.wait_js(&format!(
        "{COUNT} == {} && ![...document.querySelectorAll('[data-testid=session-item]')]\
         .some(i => i.querySelector('.badge.closed'))",
        total - closed
    ))
    .await
    .map_err(at("only the open sessions"))?;
    let _ = b.screenshot("find-open-filter").await;

    // A fresh page shows the first 50 again; scrolling to the end loads the rest.
    b.client.refresh().await.map_err(at("reload"))?;
    b.wait_js(&format!("{COUNT} >= {FIRST_PAGE} && {COUNT} < {total}"))
        .await
        .map_err(at("the first page after a reload"))?;
    b.wait_js(&format!(
        "(() => {{ const list = document.querySelector('aside.sidebar'); \
           list.scrollTop = list.scrollHeight; list.dispatchEvent(new Event('scroll')); \
           return {COUNT} == {total}; }})()"
    ))
    .await
    .map_err(at("scrolling loads every older session"))?;
    Ok(())
}
