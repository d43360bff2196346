//! Durability: data survives a graceful restart and a SIGKILL of the real binary.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Api, file_config, remove_db, route, start, temp_path};
use mochat_api::Route;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[tokio::test]
async fn everything_survives_a_restart() {
    let path = temp_path("restart.db");
    let (server, api) = start(file_config(&path)).await;
    let (a, b) = (api.register("A").await, api.register("B").await);
    let username = format!("kept_{}", common::unique());
    let register = |api: Api, username: String| async move {
        let body = json!({"name": "Kept", "username": username})
            .to_string()
            .into_bytes();
        api.raw(reqwest::Method::POST, Route::Register, None, Some(body))
            .await
    };
    assert_eq!(register(api.clone(), username.clone()).await.status, 201);
    let sid = api.session(&a, &[&b], "kept").await;
    api.send(&a, &sid, "remember me").await;
    let bound = api
        .post(
            Route::BindAgent,
            &a.token,
            json!({"email": "kept@example.com"}),
        )
        .await
        .body;
    let before = api.get(route::detail(&sid), &a.token).await.body;
    server.shutdown().await;

    let (server, api) = start(file_config(&path)).await;
    let after = api.get(route::detail(&sid), &a.token).await;
    assert_eq!(after.status, 200, "the token still works");
    assert_eq!(after.body, before);
    let again = api
        .post(
            Route::BindAgent,
            &a.token,
            json!({"email": "KEPT@example.com"}),
        )
        .await
        .body;
    assert_eq!(again, bound);
    register(api.clone(), username)
        .await
        .assert_error(409, "CONFLICT");
    server.shutdown().await;
    remove_db(&path);
}

/// Starts the real binary on `db` and returns it with its base URL.
async fn spawn_binary(db: &std::path::Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mochat-local"))
        .args(["--port", "0", "--rate-limit", "off", "--db"])
        .arg(db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("prints its address")
        .expect("reads stdout")
        .expect("a line");
    let base = line
        .strip_prefix("mochat-local listening on ")
        .expect("the listening line")
        .to_owned();
    (child, base)
}

#[tokio::test]
async fn acknowledged_sends_survive_sigkill() {
    let path = temp_path("kill.db");
    let (mut child, base) = spawn_binary(&path).await;
    let api = Api::new(base);
    let a = api.register("A").await;
    let sid = api.session(&a, &[], "durable").await;
    let mut sent = Vec::new();
    for i in 0..40 {
        sent.push(api.send(&a, &sid, &format!("durable {i}")).await["messageId"].clone());
    }
    child.kill().await.expect("SIGKILL");

    let (mut child, base) = spawn_binary(&path).await;
    let api = Api::new(base);
    let found: Vec<_> = api
        .all_messages(&a, &sid, 100)
        .await
        .into_iter()
        .map(|m| m["messageId"].clone())
        .collect();
    assert_eq!(found, sent);
    child.kill().await.expect("SIGKILL");
    remove_db(&path);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_binary_gracefully() {
    let path = temp_path("term.db");
    let (mut child, base) = spawn_binary(&path).await;
    let api = Api::new(base);
    let a = api.register("A").await;
    let sid = api.session(&a, &[], "w").await;
    let waiting = {
        let (api, token, sid) = (api.clone(), a.token.clone(), sid.clone());
        tokio::spawn(async move { api.get(route::watch(&sid, None, Some(60000)), &token).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().expect("a pid");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let answer = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("answered")
        .expect("joins");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["events"], json!([]));
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(exit.success(), "{exit:?}");
    remove_db(&path);
}
