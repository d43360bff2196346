//! Headless Chromium driven through WebDriver (chromedriver on a free port).

use std::io;
use std::process::Command;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use crate::process::{Service, free_port, wait_for_port};
use crate::toolchain::{CHROMEDRIVER, CHROMIUM, output_dir, state_dir};

/// A browser session and the chromedriver behind it.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Service,
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
        let profile = state_dir().join("tmp").join(format!("chromium-{port}"));
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
        let caps = json!({
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
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
    }
}
