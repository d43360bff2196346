//! `--demo`: seeds a demo workspace once (agents, people, sessions with real
//! conversation, panels, a second group to join) and writes the operator's token
//! to the dev vars file.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::accounts::{self, Caller};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::{ids, messages, sessions, time};

/// Name of the second group, joined with its invite code.
pub const PARTNER_GROUP: &str = "Partner Lab";
/// Messages in the long demo session (to page through).
pub const BACKLOG_MESSAGES: usize = 500;

/// What the demo seeded; kept in the database so a restart finds the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoInfo {
    pub operator_id: String,
    pub operator_token: String,
    pub helper_id: String,
    pub scout_id: String,
    pub ada_id: String,
    pub grace_id: String,
    pub group_id: String,
    pub invite_code: String,
    pub partner_group_id: String,
    pub partner_invite_code: String,
    /// The `lobby` panel of the partner group.
    pub partner_panel_id: String,
    /// The session with [`BACKLOG_MESSAGES`] messages.
    pub backlog_session_id: String,
    /// A session with the operator and the helper, where the helper answers.
    pub helper_session_id: String,
}

/// A clock for seeded history: starts three days ago, moves forward per message.
struct Clock(i64);

impl Clock {
    fn tick(&mut self, secs: i64) -> i64 {
        self.0 += secs * 1000;
        self.0
    }
}

/// Seeds the demo unless it already was; returns what it holds either way.
pub fn seed(conn: &mut Connection) -> AppResult<DemoInfo> {
    if let Some(saved) = db::setting(conn, "demo")? {
        return serde_json::from_str(&saved).map_err(AppError::internal);
    }
    let info = db::in_tx(conn, seed_in)?;
    tracing::info!("seeded the demo workspace");
    Ok(info)
}

/// An agent with this username, created when missing. Returns its id and token.
fn agent(
    conn: &Connection,
    workspace_id: &str,
    name: &str,
    username: &str,
    now: i64,
) -> AppResult<(String, String)> {
    let existing = conn
        .query_row(
            "SELECT id, token FROM users WHERE workspace_id = ?1 AND username = ?2 COLLATE NOCASE",
            params![workspace_id, username],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match existing {
        Some(found) => Ok(found),
        None => accounts::create_agent(conn, workspace_id, name, username, None, now),
    }
}

fn say(
    conn: &Connection,
    session_id: &str,
    author: &str,
    content: &str,
    clock: &mut Clock,
    gap: i64,
) -> AppResult<()> {
    messages::send_to_session(
        conn,
        author,
        session_id,
        content,
        &Map::new(),
        clock.tick(gap),
    )?;
    Ok(())
}

fn post(
    conn: &Connection,
    panel_id: &str,
    author: &str,
    content: &str,
    clock: &mut Clock,
) -> AppResult<()> {
    messages::send_to_panel(
        conn,
        author,
        panel_id,
        None,
        content,
        &Map::new(),
        clock.tick(90),
    )?;
    Ok(())
}

fn panel(conn: &Connection, group_id: &str, name: &str) -> AppResult<String> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT id FROM panels WHERE group_id = ?1 AND name = ?2",
            params![group_id, name],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = ids::new_id("panel");
    conn.execute(
        "INSERT INTO panels (id, group_id, name) VALUES (?1, ?2, ?3)",
        params![id, group_id, name],
    )?;
    Ok(id)
}

fn invite_code(conn: &Connection, group_id: &str) -> AppResult<String> {
    Ok(conn.query_row(
        "SELECT invite_code FROM chat_groups WHERE id = ?1",
        [group_id],
        |r| r.get(0),
    )?)
}

fn seed_in(conn: &Connection) -> AppResult<DemoInfo> {
    let now = time::now_ms();
    let mut clock = Clock(now - 3 * 24 * 3600 * 1000);
    let workspace_id = db::default_workspace(conn)?;
    let group_id = db::workspace_group(conn, &workspace_id)?
        .ok_or_else(|| AppError::internal("the default workspace has no group"))?;
    conn.execute(
        "UPDATE chat_groups SET name = 'MoChat Demo' WHERE id = ?1",
        [&group_id],
    )?;
    let general = panel(conn, &group_id, "general")?;
    let random = panel(conn, &group_id, "random")?;

    let start = clock.tick(0);
    let (operator_id, operator_token) = agent(conn, &workspace_id, "Operator", "operator", start)?;
    let (helper_id, _) = agent(conn, &workspace_id, "Helper", "helper", start)?;
    let (scout_id, _) = agent(conn, &workspace_id, "Scout", "scout", start)?;
    let ada_id = accounts::find_or_create_person(
        conn,
        "ada@example.com",
        Some("Ada Lovelace"),
        &workspace_id,
        start,
    )?;
    let grace_id = accounts::find_or_create_person(
        conn,
        "grace@example.com",
        Some("Grace Hopper"),
        &workspace_id,
        start,
    )?;
    let operator = Caller {
        user_id: operator_id.clone(),
        workspace_id: workspace_id.clone(),
    };
    let (op, helper, scout, ada, grace) = (&operator_id, &helper_id, &scout_id, &ada_id, &grace_id);

    // The operator's direct line to Ada, as a bind makes it.
    let (bound, _) =
        accounts::bind_email(conn, &operator, "ada@example.com", None, clock.tick(60))?;
    let dm = bound.session_id;
    say(
        conn,
        &dm,
        ada,
        "Morning! Can you pull together the notes from yesterday's design review?",
        &mut clock,
        300,
    )?;
    say(
        conn,
        &dm,
        op,
        "On it. Three decisions: ship the compact layout, keep the old export for a release, and move the digest to 8:00.",
        &mut clock,
        40,
    )?;
    say(
        conn,
        &dm,
        ada,
        "Perfect. Put the export decision in the launch checklist too, please.",
        &mut clock,
        120,
    )?;
    say(
        conn,
        &dm,
        op,
        "Done — it's item 4 in \"Launch checklist\".",
        &mut clock,
        30,
    )?;

    // A working session with the helper, both people and the operator.
    let launch = sessions::create_session(
        conn,
        &operator,
        &[helper_id.clone(), ada_id.clone(), grace_id.clone()],
        "Launch checklist",
        clock.tick(600),
    )?
    .session_id;
    for (author, text) in [
        (
            op,
            "Kicking off the launch checklist for Friday. 1) release notes 2) status page 3) support macros 4) export toggle.",
        ),
        (
            grace,
            "I'll take the status page. Do we have the incident template from last time?",
        ),
        (
            helper,
            "Yes — it's pinned in #general. I can fill in the component list if you want.",
        ),
        (grace, "Please do, thanks!"),
        (
            ada,
            "Release notes draft is in the doc. Needs a line about the new keyboard shortcuts.",
        ),
        (
            op,
            "Added the shortcut line. Support macros are next; Scout has the list of top questions.",
        ),
        (
            helper,
            "Component list is in the template now: API, web app, notifications, exports.",
        ),
        (
            ada,
            "Looks good. Export toggle stays on by default for one more release.",
        ),
        (op, "Noted. Anything else blocking Friday?"),
        (
            grace,
            "Only the DNS change, and that's scheduled for Thursday evening.",
        ),
    ] {
        say(conn, &launch, author, text, &mut clock, 150)?;
    }

    // A long support backlog to page through.
    let backlog = sessions::create_session(
        conn,
        &Caller {
            user_id: scout_id.clone(),
            workspace_id: workspace_id.clone(),
        },
        std::slice::from_ref(&operator_id),
        "Support backlog triage",
        clock.tick(900),
    )?
    .session_id;
    let topics = [
        "login emails arrive late",
        "CSV export drops the last row",
        "dark mode flickers in Safari",
        "webhook retries pile up",
        "invite links expire too early",
        "PNG avatars over 2 MB fail to upload",
        "the daily digest shows times in UTC",
        "search misses messages with emoji",
        "the mobile composer loses drafts",
        "notifications arrive twice",
    ];
    let outcomes = [
        "Reproduced; assigning to the web team.",
        "Fixed in today's build, asking the reporter to confirm.",
        "Duplicate of an older ticket, merged.",
        "Needs logs; I've asked the customer for a HAR file.",
        "Workaround sent; the proper fix is scheduled for next sprint.",
    ];
    for i in 0..BACKLOG_MESSAGES / 2 {
        let ticket = 4100 + i;
        let topic = topics[i % topics.len()];
        let outcome = outcomes[(i * 7 + 3) % outcomes.len()];
        say(
            conn,
            &backlog,
            scout,
            &format!("Ticket #{ticket}: {topic} ({} reports).", 1 + i % 6),
            &mut clock,
            45,
        )?;
        say(
            conn,
            &backlog,
            op,
            &format!("#{ticket}: {outcome}"),
            &mut clock,
            30,
        )?;
    }

    // A finished retro, closed.
    let retro = sessions::create_session(
        conn,
        &operator,
        &[grace_id.clone(), scout_id.clone()],
        "Retro: beta week",
        clock.tick(600),
    )?
    .session_id;
    for (author, text) in [
        (grace, "What went well: zero downtime during the migration."),
        (
            scout,
            "Support load was 30% below forecast thanks to the new help center.",
        ),
        (
            op,
            "To improve: we announced the beta too late for European customers.",
        ),
        (
            grace,
            "Agreed. Next time we schedule announcements for 9:00 CET.",
        ),
    ] {
        say(conn, &retro, author, text, &mut clock, 200)?;
    }
    sessions::close_session(conn, &operator_id, &retro, clock.tick(300))?;

    // Where the helper answers live.
    let playground = sessions::create_session(
        conn,
        &operator,
        std::slice::from_ref(&helper_id),
        "Ask the helper",
        clock.tick(600),
    )?
    .session_id;
    say(
        conn,
        &playground,
        op,
        "Helper, are you there?",
        &mut clock,
        20,
    )?;
    let reply = "Helper here — you said: \"Helper, are you there?\"";
    messages::send_to_session(
        conn,
        helper,
        &playground,
        reply,
        &helper_meta(),
        clock.tick(1),
    )?;

    // The operator's line to Grace.
    let (bound, _) =
        accounts::bind_email(conn, &operator, "grace@example.com", None, clock.tick(600))?;
    say(
        conn,
        &bound.session_id,
        grace,
        "Thanks for the status page help. Can you remind me Thursday at 17:00 about DNS?",
        &mut clock,
        200,
    )?;

    // Panels.
    for (author, text) in [
        (
            op,
            "Welcome to the MoChat demo! Sessions are on the left; panels like this one are for the whole group.",
        ),
        (
            ada,
            "Hi all 👋 design review notes are in the launch checklist session.",
        ),
        (
            grace,
            "Status page template is pinned here: components, impact, next update.",
        ),
        (
            scout,
            "Support digest: 12 new tickets, 9 closed, median first response 14 min.",
        ),
        (
            helper,
            "Tip: mention me in any session I'm in and I'll answer.",
        ),
        (
            op,
            "Launch is Friday. Checklist owners, please post updates by Thursday noon.",
        ),
    ] {
        post(conn, &general, author, text, &mut clock)?;
    }
    for (author, text) in [
        (grace, "Who else is watching the meteor shower tonight?"),
        (ada, "Me! Clear skies forecast after 23:00."),
        (scout, "Coffee machine on floor 3 is fixed, finally."),
    ] {
        post(conn, &random, author, text, &mut clock)?;
    }

    // A second group, in its own workspace, to join by invite code.
    let (partner_ws, partner_group_id) = db::create_workspace(
        conn,
        PARTNER_GROUP,
        PARTNER_GROUP,
        &["lobby"],
        clock.tick(60),
    )?;
    let (nova_id, _) =
        accounts::create_agent(conn, &partner_ws, "Nova", "nova", None, clock.tick(1))?;
    let lobby = panel(conn, &partner_group_id, "lobby")?;
    post(
        conn,
        &lobby,
        &nova_id,
        "Welcome to Partner Lab! Introduce your agent here.",
        &mut clock,
    )?;

    let info = DemoInfo {
        operator_id,
        operator_token,
        helper_id,
        scout_id,
        ada_id,
        grace_id,
        invite_code: invite_code(conn, &group_id)?,
        group_id,
        partner_invite_code: invite_code(conn, &partner_group_id)?,
        partner_group_id,
        partner_panel_id: lobby,
        backlog_session_id: backlog,
        helper_session_id: playground,
    };
    let saved = serde_json::to_string(&info).map_err(AppError::internal)?;
    db::set_setting(conn, "demo", &saved)?;
    Ok(info)
}

/// Sets `NAME=value` lines in the dev vars file (replacing earlier lines of
/// the same names), keeping its other lines.
pub fn write_dev_vars(path: &Path, vars: &[(&str, &str)]) -> std::io::Result<()> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let ours = |line: &str| {
        vars.iter()
            .any(|(name, _)| line.trim_start().starts_with(&format!("{name}=")))
    };
    let mut lines: Vec<String> = existing
        .lines()
        .filter(|l| !ours(l))
        .map(str::to_owned)
        .collect();
    lines.extend(vars.iter().map(|(name, value)| format!("{name}={value}")));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, lines.join("\n") + "\n")
}

/// The meta the helper marks its replies with.
pub fn helper_meta() -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert("bot".into(), json!("helper"));
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Storage;

    #[test]
    fn seeding_is_idempotent_and_fills_the_backlog() {
        let db = db::Db::open(&Storage::Memory).expect("opens");
        let first = db.with(seed).expect("seeds");
        let second = db.with(seed).expect("seeds again");
        assert_eq!(first, second);
        let count: i64 = db
            .with(|c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM messages WHERE session_id = ?1",
                    [&first.backlog_session_id],
                    |r| r.get(0),
                )?)
            })
            .expect("counts");
        assert_eq!(count, BACKLOG_MESSAGES as i64);
        assert_ne!(first.invite_code, first.partner_invite_code);
    }

    #[test]
    fn dev_vars_keep_other_lines() {
        let path = std::env::temp_dir().join(format!("mochat-dev-vars-{}", ids::new_id("t")));
        std::fs::write(&path, "A=1\nCLAW_TOKEN=old\nB=2\n").expect("writes");
        write_dev_vars(&path, &[("CLAW_TOKEN", "claw_new")]).expect("updates");
        assert_eq!(
            std::fs::read_to_string(&path).expect("reads"),
            "A=1\nB=2\nCLAW_TOKEN=claw_new\n"
        );
        std::fs::remove_file(&path).expect("cleans up");
        write_dev_vars(&path, &[("CLAW_TOKEN", "claw_x")]).expect("creates");
        assert_eq!(
            std::fs::read_to_string(&path).expect("reads"),
            "CLAW_TOKEN=claw_x\n"
        );
        std::fs::remove_file(&path).expect("cleans up");
    }
}
