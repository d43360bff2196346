//! The dashboard at phone width, light and dark: no horizontal scroll, the
//! list and a session (or a panel, with a way back) each take the screen. (Liveness through crashes is in
//! `faults_delivery.rs`.)

use std::time::Duration;

use mochat_tests::{Browser, Stack, at};

#[tokio::test(flavor = "multi_thread")]
async fn phone_width_light_and_dark_without_horizontal_scroll() {
    // Keep the whole stack alive: `..` in a pattern would drop the local server.
    let s = Stack::demo("dashboard-phone", &[]);
    let options = &s.options;
    for dark in [false, true] {
        let theme = if dark { "dark" } else { "light" };
        let browser = Browser::start(360, 780, dark)
            .await
            .expect("headless Chromium starts");
        let outcome = async {
            let b = &browser;
            b.sign_in(&s.browser_origin(), &options.password).await?;
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
            // Panels: the list first, a panel takes the screen, ← goes back.
            b.click("[data-testid=nav-panels]").await.map_err(at("Panels"))?;
            b.click("[data-testid=panel-item]").await.map_err(at("open a panel"))?;
            b.wait_for("[data-testid=panel-view] [data-testid=message]")
                .await
                .map_err(at("the panel's messages"))?;
            b.wait_js("document.querySelector('[data-testid=panel-title]').textContent.startsWith('# ')")
                .await
                .map_err(at("the panel's name on top"))?;
            b.wait_js(fits).await.map_err(at("panel fits the phone"))?;
            b.screenshot(&format!("phone-panel-{theme}"))
                .await
                .map_err(at("screenshot"))?;
            b.click("[data-testid=panel-view] .back").await.map_err(at("back"))?;
            b.wait_js(
                "!document.querySelector('[data-testid=panel-view]') \
                 && document.querySelector('[data-testid=panel-item]').getBoundingClientRect().width > 0",
            )
            .await
            .map_err(at("back to the panel list"))?;
            Ok::<_, String>(())
        }
        .await;
        browser.close().await;
        outcome.unwrap_or_else(|e| panic!("{theme}: {e}"));
    }
}
