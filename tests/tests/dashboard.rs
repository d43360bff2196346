//! The dashboard end to end, as a user would use it: the real local server,
//! the real worker under `wrangler dev`, headless Chromium through WebDriver.

use std::time::Duration;

use mochat_api::UserType;
use mochat_api::edge::{AGENTS_PATH, HEALTH_PATH, SESSION_PATH};
use mochat_tests::{Browser, Stack, at, route};

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_reads_answers_and_manages_sessions_through_the_dashboard() {
    let s = Stack::demo("dashboard", &[]);
    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");

    let outcome = scenario(&browser, &s).await;
    s.finish(browser, "dashboard", outcome).await;
}

async fn scenario(b: &Browser, s: &Stack) -> Result<(), String> {
    let (local, operator) = (&s.local, &s.operator);
    let password = &s.options.password;
    // Sign in.
    b.sign_in(&s.browser_origin(), password).await?;
    b.screenshot("signed-in").await.map_err(at("screenshot"))?;

    // Signed in, a reload reads the first screen while the app downloads:
    // the app takes every answer the page's boot script started and asks
    // none of those again.
    b.client.refresh().await.map_err(at("reload"))?;
    b.wait_for("[data-testid=session-item]")
        .await
        .map_err(at("the list after a reload"))?;
    let list = route::sessions(None).api_target();
    b.wait_js(&format!(
        "window.mochatBoot && Object.keys(window.mochatBoot).length === 0 && \
         {:?}.every(p => performance.getEntriesByType('resource') \
           .filter(e => new URL(e.name).pathname === p).length === 1)",
        [SESSION_PATH, HEALTH_PATH, AGENTS_PATH, list.as_str()]
    ))
    .await
    .map_err(at("the boot script's reads taken, none made twice"))?;
    // Its session gone (the cookie with it), the page still remembers it was
    // signed in: the boot script's reads answer 401, the sign-in form shows,
    // and signing in reads afresh.
    b.client
        .delete_all_cookies()
        .await
        .map_err(at("drop the cookie"))?;
    b.client.refresh().await.map_err(at("reload signed out"))?;
    b.fill("#password", password)
        .await
        .map_err(at("the sign-in form after the session ended"))?;
    b.click("[data-testid=signin] button[type=submit]")
        .await
        .map_err(at("sign in again"))?;
    b.wait_for("[data-testid=session-item]")
        .await
        .map_err(at("the list after signing in again"))?;

    // The 500-message session: scroll back to its start; nothing missing or repeated.
    let mut backlog = None;
    for s in operator.sessions().await.sessions {
        if operator.message_count(&s.session_id).await >= 500 {
            backlog = Some(s.session_id);
        }
    }
    let backlog = backlog.ok_or("the demo has no 500-message session")?;
    b.click(&format!("[data-testid=session-item][data-id={backlog}]"))
        .await
        .map_err(at("open backlog"))?;
    b.wait_for("[data-testid=message]")
        .await
        .map_err(at("backlog messages"))?;
    // Loading an older page keeps the reading position: the message that was
    // at the top stays in view instead of the list jumping to the new top.
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.client
        .execute(
            "const m = document.querySelector('.messages'); \
             window.__top = document.querySelector('[data-testid=message]').dataset.id; \
             window.__count = document.querySelectorAll('[data-testid=message]').length; \
             m.scrollTop = 0; return 0;",
            vec![],
        )
        .await
        .map_err(at("scroll to the top once"))?;
    b.wait_js("document.querySelectorAll('[data-testid=message]').length > window.__count")
        .await
        .map_err(at("an older page arrives"))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.wait_js(
        "(() => { const m = document.querySelector('.messages').getBoundingClientRect(); \
         const t = document.querySelector(`[data-id=\"${window.__top}\"]`).getBoundingClientRect(); \
         return t.top >= m.top - 1 && t.top < m.bottom; })()",
    )
    .await
    .map_err(at("the reading position is kept"))?;
    for _ in 0..60 {
        if b.client
            .find(fantoccini::Locator::Css("[data-testid=history-start]"))
            .await
            .is_ok()
        {
            break;
        }
        b.client
            .execute(
                "document.querySelector('.messages').scrollTop = 0; return 0;",
                vec![],
            )
            .await
            .map_err(at("scroll up"))?;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let shown = b
        .attrs("[data-testid=message]", "data-id")
        .await
        .map_err(at("read ids"))?;
    let upstream: Vec<String> = operator
        .all_messages(&backlog)
        .await
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    if shown != upstream {
        return Err(format!(
            "history differs: {} shown, {} upstream; first difference at {:?}",
            shown.len(),
            upstream.len(),
            shown.iter().zip(&upstream).position(|(a, b)| a != b)
        ));
    }
    b.screenshot("backlog").await.map_err(at("screenshot"))?;

    // Send in the helper's session and see its reply arrive live.
    let helper_id = local
        .demo_value("helper agent id")
        .ok_or("the demo did not print the helper's id")?;
    let sessions = operator.sessions().await.sessions;
    let helper_session = sessions
        .iter()
        .find(|s| {
            s.participants.contains(&helper_id) && s.status == mochat_api::SessionStatus::Open
        })
        .ok_or("no open session with the helper")?;
    b.click(&format!(
        "[data-testid=session-item][data-id={}]",
        helper_session.session_id
    ))
    .await
    .map_err(at("open helper session"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.send_message("Hello from the e2e test")
        .await
        .map_err(at("send in the helper's session"))?;
    b.wait_message("Hello from the e2e test", Some("Operator"))
        .await
        .map_err(at("my message shows"))?;
    b.wait_message("Hello from the e2e test", Some("Helper"))
        .await
        .map_err(at("the helper's live reply"))?;

    // Create a session with Ada, add Grace, remove her, close it. Where the
    // group lists no members (the live dialect), their ids come from the demo
    // sessions they are in, and the operator types them.
    let group = operator.group().await;
    let typed = group.members.is_empty();
    let mut people: Vec<mochat_api::User> = group.members.clone();
    if typed {
        for s in &sessions {
            people.extend(operator.detail(&s.session_id).await.participant_info);
        }
    }
    let person = |name: &str| {
        people
            .iter()
            .find(|m| m.kind == UserType::User && m.name.starts_with(name))
            .map(|m| m.user_id.clone())
            .ok_or(format!("no {name} in the group or the demo sessions"))
    };
    let (ada, grace) = (person("Ada")?, person("Grace")?);
    b.click("[data-testid=new-session]")
        .await
        .map_err(at("new session"))?;
    b.fill("[data-testid=session-title-input]", "E2E planning")
        .await
        .map_err(at("title"))?;
    if typed {
        b.wait_for("[data-testid=no-members]")
            .await
            .map_err(at("the dialog says there is no one to pick"))?;
        b.fill("[data-testid=participant-ids]", &format!(" {ada}, "))
            .await
            .map_err(at("type Ada's id"))?;
    } else {
        b.click(&format!("[data-testid=participant-option][value={ada}]"))
            .await
            .map_err(at("pick Ada"))?;
    }
    b.screenshot(if typed {
        "new-session-typed-ids"
    } else {
        "new-session-picked"
    })
    .await
    .map_err(at("screenshot"))?;
    b.click("[data-testid=create-session]")
        .await
        .map_err(at("create"))?;
    b.wait_js(
        "document.querySelector('[data-testid=session-title]')?.textContent === 'E2E planning'",
    )
    .await
    .map_err(at("new session opens"))?;
    add_and_remove(b, &ada, &grace, typed).await?;
    b.click("[data-testid=close-session]")
        .await
        .map_err(at("close"))?;
    b.wait_js("document.querySelector('[data-testid=session-status]')?.textContent === 'closed'")
        .await
        .map_err(at("session shows closed"))?;

    // A panel: read and post.
    b.click("[data-testid=nav-panels]")
        .await
        .map_err(at("panels"))?;
    b.wait_for("[data-testid=panel-view] [data-testid=composer]")
        .await
        .map_err(at("panel view"))?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.send_message("Panel post from the e2e test")
        .await
        .map_err(at("post in the panel"))?;
    b.wait_message("Panel post from the e2e test", Some("Operator"))
        .await
        .map_err(at("panel post shows"))?;

    // Join by invite.
    let code = local
        .demo_value("invite code of the group")
        .ok_or("the demo did not print an invite code")?;
    b.fill("[data-testid=invite-input]", &code)
        .await
        .map_err(at("invite code"))?;
    b.click("[data-testid=join]").await.map_err(at("join"))?;
    b.wait_for("[data-testid=joined]")
        .await
        .map_err(at("joined"))?;

    // Register an agent and bind the current one to an email.
    b.click("[data-testid=nav-agents]")
        .await
        .map_err(at("agents"))?;
    b.fill("[data-testid=register-name]", "E2E Bot")
        .await
        .map_err(at("name"))?;
    b.fill("[data-testid=register-username]", "e2e_bot")
        .await
        .map_err(at("username"))?;
    b.click("[data-testid=register]")
        .await
        .map_err(at("register"))?;
    b.wait_for("[data-testid=registered]")
        .await
        .map_err(at("registered"))?;
    b.wait_js("[...document.querySelectorAll('[data-testid=agent]')].some(e => e.textContent.includes('e2e_bot'))")
        .await
        .map_err(at("the new agent is listed"))?;
    b.fill("[data-testid=bind-email]", "linus@example.com")
        .await
        .map_err(at("email"))?;
    b.click("[data-testid=bind]").await.map_err(at("bind"))?;
    b.wait_for("[data-testid=bound]")
        .await
        .map_err(at("bound"))?;
    let source = b.client.source().await.map_err(at("page source"))?;
    if source.contains("claw_") {
        return Err("a claw token reached the page".into());
    }
    Ok(())
}

/// In an open session: Ada is in; Grace is added (picked, or her id typed),
/// then removed.
async fn add_and_remove(b: &Browser, ada: &str, grace: &str, typed: bool) -> Result<(), String> {
    b.wait_for(&format!("[data-testid=participant][data-id={ada}]"))
        .await
        .map_err(at("Ada is in"))?;
    if typed {
        b.fill("[data-testid=add-participant-id]", grace)
            .await
            .map_err(at("type Grace's id"))?;
    } else {
        b.wait_for(&format!(
            "[data-testid=add-participant-select] option[value={grace}]"
        ))
        .await
        .map_err(at("Grace can be added"))?;
        b.wait_for("[data-testid=add-participant-select]")
            .await
            .map_err(at("select"))?
            .select_by_value(grace)
            .await
            .map_err(at("choose Grace"))?;
    }
    b.click("[data-testid=add-participant]")
        .await
        .map_err(at("add"))?;
    b.wait_for(&format!("[data-testid=participant][data-id={grace}]"))
        .await
        .map_err(at("Grace is in"))?;
    b.click(&format!(
        "[data-testid=participant][data-id={grace}] [data-testid=remove-participant]"
    ))
    .await
    .map_err(at("remove Grace"))?;
    b.wait_js(&format!(
        "!document.querySelector('[data-testid=participant][data-id={grace}]')"
    ))
    .await
    .map_err(at("Grace is gone"))?;
    Ok(())
}
