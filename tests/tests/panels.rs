//! A panel's timeline has no gaps: 200 posts arriving within seconds (more
//! than the newest page holds) all show in the open panel, once each and in
//! order, with no reload.

use std::time::Instant;

use mochat_api::{Message, Route};
use mochat_tests::{Browser, Stack, at};
use serde_json::json;

/// Posts that arrive between two refreshes of the panel.
const BURST: usize = 200;

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_posts_shows_in_a_panel_without_a_gap() {
    let s = Stack::demo("panels-burst", &[]);
    let browser = Browser::start(1280, 860, false)
        .await
        .expect("headless Chromium starts");
    let outcome = scenario(&browser, &s).await;
    s.finish(browser, "panels-burst", outcome).await;
}

async fn scenario(b: &Browser, s: &Stack) -> Result<(), String> {
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.click("[data-testid=nav-panels]")
        .await
        .map_err(at("panels"))?;
    b.wait_for("[data-testid=panel-view] [data-testid=messages]")
        .await
        .map_err(at("the first panel's history"))?;

    // The panel the page opened (the group's first), posted to from outside
    // the dashboard: 200 posts, as fast as the server takes them.
    let panel_id = s
        .operator
        .group()
        .await
        .panels
        .first()
        .map(|p| p.panel_id.clone())
        .ok_or("the demo group has a panel")?;
    let started = Instant::now();
    let mut expected = Vec::new();
    for i in 1..=BURST {
        let content = format!("burst {i:03}");
        let _: Message = s
            .operator
            .call(
                Route::SendPanelMessage {
                    panel_id: panel_id.clone(),
                },
                Some(&json!({ "content": content })),
            )
            .await;
        expected.push(content);
    }
    // (Reported, not asserted: any pace over 50 posts a refresh makes the gap
    // the old refresh left.)
    eprintln!("{BURST} posts in {:?}", started.elapsed());

    // Within a refresh or two, every one of them, once, in order.
    b.wait_js(&format!(
        "[...document.querySelectorAll('[data-testid=panel-view] [data-testid=content]')]\
         .filter(p => p.textContent.startsWith('burst ')).length >= {BURST}"
    ))
    .await
    .map_err(at("all posts show"))?;
    let shown: Vec<String> = b
        .texts("[data-testid=panel-view] [data-testid=content]")
        .await
        .map_err(at("read the panel"))?
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| t.starts_with("burst "))
        .collect();
    assert_eq!(shown, expected, "all {BURST}, once each, in order");
    Ok(())
}
