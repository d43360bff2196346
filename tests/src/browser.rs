//! Headless Chromium driven through WebDriver (chromedriver on a free port).

use std::io;
use std::process::Command;
use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

use crate::process::{Service, free_port, wait_for_port};
use crate::toolchain::{CHROMEDRIVER, CHROMIUM, output_dir, state_dir};

/// A browser session and the chromedriver behind it.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Service,
    /// This browser's own profile directory, removed on close.
    profile: std::path::PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at `width`×`height`, dark or light.
    pub async fn start(width: u32, height: u32, dark: bool) -> io::Result<Self> {
        let port = free_port();
        let mut cmd = Command::new(CHROMEDRIVER);
        cmd.arg(format!("--port={port}"))
            .env("TMPDIR", state_dir().join("tmp"))
            .env("XDG_CONFIG_HOME", state_dir().join("config"));
        let driver = Service::spawn("chromedriver", cmd)?;
        if !wait_for_port(port, Duration::from_secs(20)) {
            return Err(io::Error::other(format!(
                "chromedriver did not start: install it with `apt-get install -y chromium chromium-driver`\n{}",
                driver.output()
            )));
        }
        // A fresh profile every time: a reused one would carry cookies (which
        // ignore ports) and storage from an earlier test into this one.
        static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let profile = state_dir()
            .join("tmp")
            .join(format!("chromium-{}-{n}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-quic".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        if dark {
            args.push("--force-dark-mode".to_owned());
            args.push("--blink-settings=preferredColorScheme=0".to_owned());
        } else {
            args.push("--blink-settings=preferredColorScheme=1".to_owned());
        }
        let mut chrome = json!({ "binary": CHROMIUM, "args": args });
        if width < 500 {
            // Headless windows are at least 500 px wide; emulate a phone's viewport instead.
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2, "touch": true }
            });
        }
        let caps = json!({
            "goog:chromeOptions": chrome,
            "goog:loggingPrefs": { "browser": "ALL" }
        });
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(|e| io::Error::other(format!("WebDriver session failed: {e}")))?;
        Ok(Self {
            client,
            _driver: driver,
            profile,
        })
    }

    /// Saves a PNG screenshot under `test-output/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> io::Result<std::path::PathBuf> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| io::Error::other(format!("screenshot failed: {e}")))?;
        let dir = output_dir().join("screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the WebDriver session (closing Chromium), then chromedriver.
    pub async fn close(self) {
        let _ = self.client.close().await;
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `goog/cdp/execute` to the current page.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// DevTools' "Slow 4G" network profile: 562.5 ms latency, 1.44 Mbit/s down,
/// 675 kbit/s up (bytes per second below).
pub const SLOW_4G: (f64, f64, f64) = (562.5, 180_000.0, 84_375.0);

impl Browser {
    /// Runs a Chrome DevTools Protocol command on the current page.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> CmdResult<Value> {
        self.client.issue_cmd(Cdp { cmd, params }).await
    }

    /// Makes this browser feel like a mid-range phone: the CPU `cpu_slowdown`
    /// times slower, the network DevTools' "Slow 4G", the cache off and empty.
    pub async fn throttle_like_a_phone(&self, cpu_slowdown: f64) -> CmdResult<()> {
        let (latency, down, up) = SLOW_4G;
        self.cdp("Network.enable", json!({})).await?;
        self.cdp("Network.clearBrowserCache", json!({})).await?;
        self.cdp("Network.setCacheDisabled", json!({ "cacheDisabled": true }))
            .await?;
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({
                "offline": false,
                "latency": latency,
                "downloadThroughput": down,
                "uploadThroughput": up
            }),
        )
        .await?;
        self.cdp(
            "Emulation.setCPUThrottlingRate",
            json!({ "rate": cpu_slowdown }),
        )
        .await?;
        Ok(())
    }

    /// Runs `source` in every page this browser opens from now on, before
    /// the page's own scripts.
    pub async fn before_every_page(&self, source: &str) -> CmdResult<()> {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": source }),
        )
        .await?;
        Ok(())
    }
}

/// How long a step of a browser test may wait for the page.
pub const STEP: Duration = Duration::from_secs(60);

type CmdResult<T> = Result<T, fantoccini::error::CmdError>;

impl Browser {
    /// Waits until an element matches `css`; returns it.
    pub async fn wait_for(&self, css: &str) -> CmdResult<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(STEP)
            .for_element(fantoccini::Locator::Css(css))
            .await
    }

    /// Waits for `css` and clicks it.
    pub async fn click(&self, css: &str) -> CmdResult<()> {
        self.wait_for(css).await?.click().await
    }

    /// Waits for the input `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) -> CmdResult<()> {
        self.wait_for(css).await?.send_keys(text).await
    }

    /// The value of `attr` of every element matching `css`.
    pub async fn attrs(&self, css: &str, attr: &str) -> CmdResult<Vec<String>> {
        self.read_all(css, |el| async move {
            Ok(el.attr(attr).await?.unwrap_or_default())
        })
        .await
    }

    /// The text of every element matching `css`.
    pub async fn texts(&self, css: &str) -> CmdResult<Vec<String>> {
        self.read_all(css, |el| async move { el.text().await })
            .await
    }

    /// `read` of every element matching `css`, read again from the start
    /// when the page replaced one of them meanwhile (a live list re-renders).
    async fn read_all<F, Fut>(&self, css: &str, read: F) -> CmdResult<Vec<String>>
    where
        F: Fn(fantoccini::elements::Element) -> Fut,
        Fut: std::future::Future<Output = CmdResult<String>>,
    {
        let mut attempt = 0;
        'again: loop {
            attempt += 1;
            let mut out = Vec::new();
            for el in self.client.find_all(fantoccini::Locator::Css(css)).await? {
                match read(el).await {
                    Ok(value) => out.push(value),
                    Err(e) if attempt < 5 && e.is_stale_element_reference() => continue 'again,
                    Err(e) => return Err(e),
                }
            }
            return Ok(out);
        }
    }

    /// Presses `keys` as a person does with a real keyboard (WebDriver
    /// actions, so the page gets trusted events): each goes down in order,
    /// then all come up in reverse, so `[Alt, ArrowDown]` is a chord. Special
    /// keys are [`fantoccini::key::Key`]s as chars.
    pub async fn press(&self, keys: &[char]) -> CmdResult<()> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".into());
        for &value in keys {
            actions = actions.then(KeyAction::Down { value });
        }
        for &value in keys.iter().rev() {
            actions = actions.then(KeyAction::Up { value });
        }
        self.client.perform_actions(actions).await
    }

    /// Polls `check` (a JS expression) until it is truthy, for up to [`STEP`].
    pub async fn wait_js(&self, check: &str) -> CmdResult<()> {
        let script = format!("return !!({check});");
        let deadline = std::time::Instant::now() + STEP;
        loop {
            if self.client.execute(&script, vec![]).await?.as_bool() == Some(true) {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                return Err(fantoccini::error::CmdError::WaitTimeout);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Browser {
    /// Opens the dashboard at `origin` and signs in with `password`.
    pub async fn sign_in(&self, origin: &str, password: &str) -> Result<(), String> {
        let at = |step: &str, e: fantoccini::error::CmdError| format!("{step}: {e}");
        self.client
            .goto(origin)
            .await
            .map_err(|e| at("open the dashboard", e))?;
        // Signed in already (the dashboard remembers it): nothing to do.
        self.wait_js(
            "document.querySelector('#password') || document.querySelector('[data-testid=session-list]')",
        )
        .await
        .map_err(|e| at("the sign-in form or the dashboard", e))?;
        if self
            .client
            .find(fantoccini::Locator::Css("[data-testid=session-list]"))
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.fill("#password", password)
            .await
            .map_err(|e| at("type the password", e))?;
        self.click("[data-testid=signin] button[type=submit]")
            .await
            .map_err(|e| at("sign in", e))?;
        if let Err(e) = self.wait_for("[data-testid=session-list]").await {
            // Seen twice on a machine loaded far beyond its 2 cores: signed in (204), the
            // agents fetched, but no session list. Keep the evidence, then do what a user
            // would: reload (the cookie is set). A second miss fails the test.
            let _ = self.screenshot("sign-in-stuck").await;
            let page = self
                .client
                .execute("return document.body.innerText.slice(0, 1500);", vec![])
                .await
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .unwrap_or_default();
            eprintln!(
                "WARNING: no session list after sign-in ({e}); page text:\n{page}\nreloading once"
            );
            self.client.refresh().await.map_err(|e| at("reload", e))?;
            self.wait_for("[data-testid=session-list]")
                .await
                .map_err(|e| {
                    format!(
                        "session list after sign-in and a reload: {e}\npage text before:\n{page}"
                    )
                })?;
        }
        Ok(())
    }

    /// Types `text` into the open conversation's composer and presses Enter.
    pub async fn send_message(&self, text: &str) -> CmdResult<()> {
        let composer = self
            .wait_for("[data-testid=composer]:not([disabled])")
            .await?;
        composer.send_keys(text).await?;
        composer
            .send_keys(&fantoccini::key::Key::Enter.to_string())
            .await
    }

    /// Waits until a message whose text contains `text` is shown
    /// (and, with `author`, written by someone whose name contains it).
    pub async fn wait_message(&self, text: &str, author: Option<&str>) -> CmdResult<()> {
        let text = serde_json::to_string(text).unwrap_or_default();
        let author = serde_json::to_string(author.unwrap_or("")).unwrap_or_default();
        self.wait_js(&format!(
            "[...document.querySelectorAll('[data-testid=message]')].some(m => \
             m.querySelector('[data-testid=content]').textContent.includes({text}) && \
             m.querySelector('[data-testid=author]').textContent.includes({author}))"
        ))
        .await
    }
}

impl Browser {
    /// The embedding page's widget launcher (inside the loader's shadow root).
    pub async fn widget_part(&self, testid: &str) -> CmdResult<fantoccini::elements::Element> {
        self.wait_for("[data-mochat-widget]")
            .await?
            .shadow_root()
            .await?
            .find(fantoccini::Locator::Css(&format!("[data-testid={testid}]")))
            .await
    }

    /// Clicks the launcher if the panel is closed, then switches into the
    /// widget's iframe (back out with `client.enter_parent_frame()`).
    pub async fn open_widget(&self) -> CmdResult<()> {
        self.wait_js("window.MoChat && document.querySelector('[data-mochat-widget]')")
            .await?;
        let launcher = self.widget_part("launcher").await?;
        if launcher.attr("aria-expanded").await?.as_deref() != Some("true") {
            launcher.click().await?;
        }
        self.enter_widget().await
    }

    /// Switches into the widget's iframe.
    pub async fn enter_widget(&self) -> CmdResult<()> {
        let frame = self
            .wait_for("[data-mochat-widget]")
            .await?
            .shadow_root()
            .await?
            .find(fantoccini::Locator::Css("iframe"))
            .await?;
        frame.enter_frame().await
    }
}
