//! Accessibility, checked rather than claimed: axe-core (pinned in
//! `package-lock.json`) on every main state of the dashboard and the widget
//! (signed out, the session list, an open session with its visitor panel,
//! each dialog and menu, panels, agents; the widget's launcher, welcome and
//! conversation), at desktop and phone width, light and dark: no violation
//! at all. In each state, the text a person reads is measured too: its
//! computed colours must be the theme's (a dark background in dark mode, a
//! light one in light mode) at a WCAG AA contrast of at least 4.5:1. Each
//! dialog and menu takes the keyboard's focus when it opens, and Esc closes it.

use fantoccini::key::Key;
use mochat_tests::host::{page_with_widget, strict_csp};
use mochat_tests::{Browser, HostSite, Stack, at};
use serde_json::json;

/// WCAG AA for body text.
const AA: f64 = 4.5;

/// The sizes each state is checked at.
const SIZES: [(u32, u32, &str); 2] = [(1280, 860, "desktop"), (390, 844, "phone")];

#[tokio::test(flavor = "multi_thread")]
async fn every_main_state_passes_axe_light_and_dark_desktop_and_phone() {
    let host = HostSite::start(String::new(), String::new()).expect("host site");
    let s = Stack::demo_with("accessibility", |_| {
        let sites = json!({"acme": {
            "origins": [host.origin()], "title": "Acme Support", "color": "#0f766e"
        }});
        vec![("WIDGET_SITES".to_owned(), sites.to_string())]
    });
    let edge = s.browser_origin();
    host.set_page(
        page_with_widget(&edge, "acme", "Acme shop"),
        strict_csp(&edge),
    );
    let mut found = Vec::new();
    let mut states = 0;
    for (width, height, size) in SIZES {
        for dark in [false, true] {
            let name = format!("{size}-{}", if dark { "dark" } else { "light" });
            let browser = Browser::start(width, height, dark)
                .await
                .expect("headless Chromium starts");
            let mut check = Check {
                b: &browser,
                name: &name,
                dark,
                found: Vec::new(),
                states: 0,
            };
            let outcome = async {
                widget_tour(&mut check, &host).await?;
                dashboard_tour(&mut check, &s).await
            }
            .await
            .map_err(|e| format!("{e}\nfound before this step:\n{}", check.found.join("\n")));
            found.append(&mut check.found);
            states += check.states;
            s.finish(browser, &format!("accessibility-{name}"), outcome)
                .await;
        }
    }
    println!(
        "axe-core and colours: {states} states checked, {} problems",
        found.len()
    );
    assert!(
        found.is_empty(),
        "{} accessibility problems:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// One browser's walk through the states; what it finds is collected, so a
/// run reports every problem at once.
struct Check<'a> {
    b: &'a Browser,
    /// Size and theme, e.g. `phone-dark`.
    name: &'a str,
    dark: bool,
    found: Vec<String>,
    /// How many states were checked.
    states: usize,
}

impl Check<'_> {
    /// Runs axe on the current document (or within `scope`), then measures
    /// the colours of each of `texts` (CSS selectors of text a person reads).
    async fn state(
        &mut self,
        state: &str,
        scope: Option<&str>,
        texts: &[&str],
    ) -> Result<(), String> {
        let where_ = format!("{} · {state}", self.name);
        self.states += 1;
        for v in self.b.axe(scope).await? {
            self.found.push(format!("[{where_}] {v}"));
        }
        for css in texts {
            let seen = match self.b.seen(css).await {
                Ok(seen) => seen,
                Err(e) => {
                    self.found.push(format!("[{where_}] {e}"));
                    continue;
                }
            };
            if seen.dark_background() != self.dark {
                self.found.push(format!(
                    "[{where_}] {css}: background {:?} is not the {} theme's",
                    seen.bg,
                    if self.dark { "dark" } else { "light" }
                ));
            }
            if seen.contrast() < AA {
                self.found.push(format!(
                    "[{where_}] {css}: contrast {:.2}:1 ({:?} on {:?}) is below {AA}:1",
                    seen.contrast(),
                    seen.fg,
                    seen.bg
                ));
            }
        }
        Ok(())
    }

    /// Clicks `css`, waits for `shown`, then checks the state it opened.
    async fn open(
        &mut self,
        css: &str,
        shown: &str,
        state: &str,
        texts: &[&str],
    ) -> Result<(), String> {
        self.b
            .click(css)
            .await
            .map_err(|e| format!("click {css}: {e}"))?;
        self.b
            .wait_for(shown)
            .await
            .map_err(|e| format!("{shown} after clicking {css}: {e}"))?;
        self.state(state, None, texts).await
    }

    /// Checks that the keyboard is in the open dialog or menu `css`, then
    /// presses Esc and waits until it is closed.
    async fn escape(&self, gone: &str) -> Result<(), String> {
        self.b
            .wait_js(&format!("document.activeElement?.closest('{gone}')"))
            .await
            .map_err(|e| format!("focus moves into {gone}: {e}"))?;
        self.b
            .press(&[Key::Escape.into()])
            .await
            .map_err(at("press Esc"))?;
        self.b
            .wait_js(&format!("!document.querySelector('{gone}')"))
            .await
            .map_err(|e| format!("Esc closes {gone}: {e}"))
    }
}

/// The widget as a visitor meets it on a host page: the launcher, the
/// welcome, a conversation, and the open panel on the page.
async fn widget_tour(c: &mut Check<'_>, host: &HostSite) -> Result<(), String> {
    let b = c.b;
    b.client
        .goto(&host.origin())
        .await
        .map_err(at("open the host page"))?;
    b.widget_part("launcher")
        .await
        .map_err(at("the launcher"))?;
    c.state(
        "widget launcher on the page",
        Some("[data-mochat-widget]"),
        &[],
    )
    .await?;
    b.open_widget().await.map_err(at("open the widget"))?;
    b.wait_for("[data-testid=welcome]")
        .await
        .map_err(at("welcome"))?;
    b.wait_for("[data-testid=composer]:not([disabled])")
        .await
        .map_err(at("the widget's message box"))?;
    c.state(
        "widget welcome",
        None,
        &["[data-testid=welcome]", "[data-testid=composer]"],
    )
    .await?;
    let text = format!("Hello from an accessibility check ({})", c.name);
    b.send_message(&text).await.map_err(at("send"))?;
    b.wait_message(&text, None)
        .await
        .map_err(at("the message is shown"))?;
    c.state(
        "widget conversation",
        None,
        &[
            "[data-testid=message] [data-testid=content]",
            "[data-testid=author]",
        ],
    )
    .await?;
    b.client
        .enter_parent_frame()
        .await
        .map_err(at("back to the page"))?;
    c.state("widget open on the page", Some("[data-mochat-widget]"), &[])
        .await
}

/// The dashboard from signing in to each section, dialog and menu.
async fn dashboard_tour(c: &mut Check<'_>, s: &Stack) -> Result<(), String> {
    let b = c.b;
    b.client
        .goto(&s.browser_origin())
        .await
        .map_err(at("open the dashboard"))?;
    b.wait_for("#password")
        .await
        .map_err(at("the sign-in form"))?;
    c.state("signed out", None, &["h1", "label"]).await?;
    b.sign_in(&s.browser_origin(), &s.options.password).await?;
    b.wait_for("[data-testid=session-item]")
        .await
        .map_err(at("the list"))?;
    c.state(
        "session list",
        None,
        &[
            "[data-testid=session-item] .title",
            "[data-testid=session-preview]",
            "h1",
        ],
    )
    .await?;
    dialogs(c).await?;
    // The widget conversation, with its visitor panel.
    b.wait_js(
        "[...document.querySelectorAll('[data-testid=session-item]')]\
         .some(e => e.textContent.includes('Acme Support'))",
    )
    .await
    .map_err(at("the widget conversation in the list"))?;
    b.client
        .execute(
            "[...document.querySelectorAll('[data-testid=session-item]')]\
             .find(e => e.textContent.includes('Acme Support')).click();",
            vec![],
        )
        .await
        .map_err(at("open the widget conversation"))?;
    b.wait_for("[data-testid=visitor-name]")
        .await
        .map_err(at("the visitor panel"))?;
    b.wait_for("[data-testid=message]")
        .await
        .map_err(at("messages"))?;
    c.state(
        "open session",
        None,
        &[
            "[data-testid=message] [data-testid=content]",
            "[data-testid=visitor-name]",
        ],
    )
    .await?;
    const REPLIES: &str = "[data-testid=replies-menu]";
    c.open(
        "[data-testid=replies-button]",
        REPLIES,
        "saved replies menu",
        &["[data-testid=replies-menu] label"],
    )
    .await?;
    c.escape(REPLIES).await?;
    sections(c).await
}

/// The dialogs and menus over the session list.
async fn dialogs(c: &mut Check<'_>) -> Result<(), String> {
    const DIALOG: &str = "[data-testid=new-session-dialog]";
    const SHORTCUTS: &str = "[data-testid=shortcuts]";
    const ACCOUNT: &str = "[data-testid=account-menu] summary";
    c.open(
        "[data-testid=new-session]",
        DIALOG,
        "new session dialog",
        &["#new-session-title"],
    )
    .await?;
    c.escape(DIALOG).await?;
    c.b.press(&['?']).await.map_err(at("press ?"))?;
    c.b.wait_for(SHORTCUTS).await.map_err(at("the shortcuts"))?;
    c.state(
        "shortcuts dialog",
        None,
        &["#shortcuts-title", "[data-testid=shortcuts] dd"],
    )
    .await?;
    c.escape(SHORTCUTS).await?;
    c.open(
        ACCOUNT,
        "[data-testid=sign-out]",
        "sign-out menu",
        &["[data-testid=sign-out]"],
    )
    .await?;
    c.b.click(ACCOUNT).await.map_err(at("close the menu"))
}

/// The Panels and Agents sections.
async fn sections(c: &mut Check<'_>) -> Result<(), String> {
    c.b.click("[data-testid=nav-panels]")
        .await
        .map_err(at("Panels"))?;
    c.open(
        "[data-testid=panel-item]",
        "[data-testid=panel-view] [data-testid=message]",
        "panels",
        &[
            "[data-testid=panel-view] [data-testid=content]",
            "[data-testid=group-name]",
        ],
    )
    .await?;
    c.open(
        "[data-testid=nav-agents]",
        "[data-testid=register-form]",
        "agents",
        &["[data-testid=agent]", "[data-testid=register-form] label"],
    )
    .await
}
