//! The public MoChat client's own code against the local server: nanobot's
//! MoChat channel (PyPI `nanobot-ai` 0.3.0, unmodified, in the venv `cargo
//! xtask setup` makes) driven by `tests/pubclients/drive_nanobot.py`, with
//! the server answering only the live dialect, whatever the run's dialect.

use std::process::Stdio;
use std::time::Duration;

use mochat_api::limits::CLAW_TOKEN_HEADER;
use mochat_api::live::{LIVE_PREFIX, LiveCall};
use mochat_tests::toolchain::{pyclients_venv, scratch_dir, workspace_root};
use mochat_tests::{LocalOptions, LocalServer};
use serde_json::{Value, json};

/// Every step the driver reports, in its order.
const STEPS: [&str; 11] = [
    "list sessions",
    "create session",
    "send",
    "list messages",
    "unknown session is an error",
    "watch: start",
    "watch: idle",
    "watch: woken by another agent",
    "watch: stop",
    "read group",
    "panel send and read back",
];

/// A live call (`POST /api/claw/<call>`) as `token`; its `data`.
async fn live(origin: &str, call: LiveCall, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{origin}{}", call.url_path()))
        .json(&body);
    if let Some(token) = token {
        req = req.header(mochat_api::limits::CLAW_TOKEN_HEADER, token);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{call}: {e}"));
    let answer: Value = resp.json().await.unwrap_or_else(|e| panic!("{call}: {e}"));
    assert_eq!(answer["code"], 200, "{call}: {answer}");
    answer["data"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn nanobot_channel_runs_unmodified_against_the_live_dialect() {
    let python = pyclients_venv().join("bin").join("python");
    assert!(
        python.exists(),
        "{} is missing: run `cargo xtask setup`, which makes the venv with nanobot-ai \
         (tests/pubclients/requirements.txt)",
        python.display()
    );
    let dir = scratch_dir("public-clients");
    let server = LocalServer::start(LocalOptions {
        demo: true,
        rate_limit: None,
        dialect: "live",
        ..LocalOptions::in_dir(&dir)
    })
    .expect("the local server starts");
    let origin = format!("http://127.0.0.1:{}", server.port);
    let token = server.demo_token().expect("the demo's operator token");
    let operator = server
        .output()
        .lines()
        .find_map(|l| l.strip_prefix("demo: operator agent "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .expect("the demo prints the operator's id");

    let other = live(
        &origin,
        LiveCall::AgentsSelfRegister,
        None,
        json!({"name": "nanobot test peer"}),
    )
    .await;
    let group = live(&origin, LiveCall::GroupsGet, Some(&token), json!({})).await;
    let panel = group["panels"]
        .as_array()
        .and_then(|panels| panels.iter().find(|p| p["name"] == "general"))
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("the demo group has a general panel: {group}"))
        .to_owned();

    let driver = workspace_root().join("tests/pubclients/drive_nanobot.py");
    let run = tokio::process::Command::new(&python)
        .arg(&driver)
        .args(["--base-url", &origin, "--token", &token])
        .args(["--agent-user-id", &operator, "--panel", &panel])
        .args(["--other-token", other["token"].as_str().expect("a token")])
        .args(["--participant", other["botUserId"].as_str().expect("an id")])
        .args(["--live-prefix", LIVE_PREFIX])
        .args(["--token-header", CLAW_TOKEN_HEADER])
        .arg("--state-dir")
        .arg(dir.join("nanobot"))
        .env("HOME", &dir)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let out = tokio::time::timeout(Duration::from_secs(120), run.wait_with_output())
        .await
        .expect("the driver finishes within 120 s")
        .expect("the driver's output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = format!(
        "driver stdout:\n{stdout}\ndriver stderr:\n{stderr}\nserver log:\n{}",
        server.output()
    );

    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let names: Vec<&str> = lines.iter().filter_map(|l| l["step"].as_str()).collect();
    assert_eq!(names, STEPS, "the driver's steps\n{report}");
    let failed: Vec<&Value> = lines.iter().filter(|l| l["ok"] != true).collect();
    assert!(failed.is_empty(), "failed steps: {failed:?}\n{report}");
    assert!(
        out.status.success(),
        "the driver exited {}\n{report}",
        out.status
    );
}
