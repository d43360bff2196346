//! Smoke test of the whole chain: `wrangler dev` serves the built dashboard,
//! headless Chromium renders the WebAssembly app, and its status line shows an
//! answer that went browser → worker → local MoChat server.

use std::time::Duration;

use fantoccini::Locator;
use mochat_tests::{Browser, Stack};

#[tokio::test(flavor = "multi_thread")]
async fn dashboard_renders_and_its_status_line_reaches_the_local_server() {
    let s = Stack::demo("smoke", &[]);
    let worker = &s.worker;
    let browser = Browser::start(1280, 800, false)
        .await
        .expect("headless Chromium starts");

    let outcome = async {
        browser.client.goto(&s.browser_origin()).await?;
        let brand = browser
            .client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=brand]"))
            .await?;
        let status = browser
            .client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("[data-testid=status][data-state=live]"))
            .await?;
        Ok::<_, fantoccini::error::CmdError>((brand.text().await?, status.text().await?))
    }
    .await;
    let shot = browser.screenshot("smoke").await;
    browser.close().await;

    let (brand, status) = outcome.unwrap_or_else(|e| {
        panic!(
            "the dashboard did not render a live status line: {e}\nworker log:\n{}",
            worker.output()
        )
    });
    assert_eq!(brand, "MoChat");
    assert!(status.contains("reachable"), "status line: {status}");
    assert!(shot.is_ok(), "screenshot: {shot:?}");
}
