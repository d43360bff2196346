//! `cargo xtask deploy [--dry-run] [--var NAME:VALUE]…`: builds for release,
//! then `wrangler deploy`. A dry run bundles into `test-output/deploy/`
//! without an account and checks the bundle against the Workers Free plan's
//! size limit. A real deploy first checks what a first deploy usually
//! lacks (the secrets, and an upstream that is not this machine) and stops
//! with the exact commands to run.

use std::io::Write;
use std::path::Path;

use mochat_tests::toolchain::{command, node_tool, workspace_root};

use crate::run::{Result, show, status, step};

/// The Workers Free plan's limit on a worker's size after gzip (3 MiB).
pub const FREE_PLAN_GZIP_BYTES: u64 = 3 * 1024 * 1024;
/// Secrets the worker refuses to run without.
const REQUIRED_SECRETS: [&str; 2] = ["DASHBOARD_PASSWORD", "SESSION_SECRET"];

pub fn run() -> Result {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let dry_run = args.iter().any(|a| a == "--dry-run");
    let vars = vars_of(&args)?;
    crate::build::all()?;
    if dry_run {
        return dry(&vars);
    }
    step("Checking the deployment (wrangler secret list, vars)");
    let mut list = user_wrangler();
    list.args(["secret", "list", "--format", "json"]);
    let out = list
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", show(&list)))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A worker never deployed has no secrets yet (`secret put` creates it).
    let never_deployed = stderr.contains("not found") && stderr.contains("deploy");
    if !out.status.success() && !never_deployed {
        return Err(format!(
            "`wrangler secret list` failed: {}\nSign in first: `npx wrangler login` \
             (or set CLOUDFLARE_API_TOKEN), then run this again.",
            stderr.trim()
        ));
    }
    let secrets = if never_deployed {
        Vec::new()
    } else {
        secret_names(&String::from_utf8_lossy(&out.stdout))?
    };
    let toml = std::fs::read_to_string(workspace_root().join("wrangler.toml"))
        .map_err(|e| format!("cannot read wrangler.toml: {e}"))?;
    let problems = preflight(&secrets, &toml_vars(&toml), &vars);
    if !problems.is_empty() {
        return Err(format!(
            "not deployed; first:\n{}\nthen run `cargo xtask deploy` again.",
            problems.join("\n")
        ));
    }
    step("Deploying (wrangler deploy)");
    let mut deploy = user_wrangler();
    deploy.arg("deploy").env("MOCHAT_WORKER_PREBUILT", "1");
    for (name, value) in &vars {
        deploy.arg("--var").arg(format!("{name}:{value}"));
    }
    status(&mut deploy)?;
    println!(
        "\n  Deployed. Check: open the worker's URL, sign in, and GET {} \
         should say \"reachable\".",
        mochat_api::edge::HEALTH_PATH
    );
    Ok(())
}

/// The dry run `cargo xtask test` makes (the build is already done).
pub fn dry_run() -> Result {
    dry(&[])
}

/// The project's wrangler in the user's own environment: where `wrangler
/// login` keeps its credentials (the other commands keep wrangler's state
/// inside the project, which has none).
fn user_wrangler() -> std::process::Command {
    let mut cmd = std::process::Command::new(node_tool("wrangler"));
    cmd.current_dir(workspace_root());
    cmd
}

/// `wrangler deploy --dry-run` into `test-output/deploy/`, and the size check.
fn dry(vars: &[(String, String)]) -> Result {
    step("Bundling for deploy (wrangler deploy --dry-run → test-output/deploy/)");
    let out = workspace_root().join("test-output/deploy");
    let _ = std::fs::remove_dir_all(&out);
    let mut deploy = command(node_tool("wrangler"));
    deploy
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(&out)
        .env("MOCHAT_WORKER_PREBUILT", "1");
    for (name, value) in vars {
        deploy.arg("--var").arg(format!("{name}:{value}"));
    }
    status(&mut deploy)?;
    let (raw, gzip) = bundle_size(&out)?;
    let verdict = if gzip <= FREE_PLAN_GZIP_BYTES {
        "within"
    } else {
        "OVER"
    };
    println!(
        "    bundle: {} KiB, {} KiB gzip: {verdict} the Workers Free plan's {} KiB",
        raw / 1024,
        gzip / 1024,
        FREE_PLAN_GZIP_BYTES / 1024
    );
    if gzip > FREE_PLAN_GZIP_BYTES {
        return Err(format!(
            "the worker's bundle is {} KiB gzip, over the Workers Free plan's {} KiB",
            gzip / 1024,
            FREE_PLAN_GZIP_BYTES / 1024
        ));
    }
    Ok(())
}

/// Bytes of every file wrangler would upload, as they are and gzipped.
fn bundle_size(dir: &Path) -> Result<(u64, u64)> {
    let mut raw = 0u64;
    let mut gzip = 0u64;
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_file() || path.extension().is_some_and(|e| e == "map") {
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        raw += bytes.len() as u64;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&bytes)
            .and_then(|()| enc.finish())
            .map(|z| gzip += z.len() as u64)
            .map_err(|e| format!("gzip: {e}"))?;
    }
    if raw == 0 {
        return Err(format!("wrangler wrote nothing into {}", dir.display()));
    }
    Ok((raw, gzip))
}

/// The `--var NAME:VALUE` arguments.
fn vars_of(args: &[String]) -> Result<Vec<(String, String)>> {
    let mut vars = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--var" {
            let pair = it.next().ok_or("--var needs NAME:VALUE")?;
            let (name, value) = pair
                .split_once(':')
                .ok_or_else(|| format!("--var {pair}: write NAME:VALUE"))?;
            vars.push((name.to_owned(), value.to_owned()));
        } else if arg != "--dry-run" {
            return Err(format!(
                "unknown argument {arg}; usage: cargo xtask deploy [--dry-run] [--var NAME:VALUE]…"
            ));
        }
    }
    Ok(vars)
}

/// The secret names in `wrangler secret list --format json` output.
pub fn secret_names(json: &str) -> Result<Vec<String>> {
    let list: Vec<serde_json::Value> = serde_json::from_str(json.trim())
        .map_err(|e| format!("unexpected `wrangler secret list` output ({e}): {json}"))?;
    Ok(list
        .iter()
        .filter_map(|s| s.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect())
}

/// The `[vars]` of `wrangler.toml` that are plain strings.
pub fn toml_vars(toml: &str) -> Vec<(String, String)> {
    let mut in_vars = false;
    let mut vars = Vec::new();
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_vars = line == "[vars]";
            continue;
        }
        if !in_vars || line.starts_with('#') {
            continue;
        }
        if let Some((name, value)) = line.split_once('=') {
            let value = value.trim();
            if let Some(v) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                vars.push((name.trim().to_owned(), v.to_owned()));
            }
        }
    }
    vars
}

/// What must change before a real deploy, each with the command that does it.
pub fn preflight(
    secrets: &[String],
    toml: &[(String, String)],
    given: &[(String, String)],
) -> Vec<String> {
    let mut problems = Vec::new();
    for name in REQUIRED_SECRETS {
        if !secrets.iter().any(|s| s == name) {
            let how = if name == "SESSION_SECRET" {
                "openssl rand -hex 32 | npx wrangler secret put SESSION_SECRET".to_owned()
            } else {
                format!("npx wrangler secret put {name}   # at least 12 characters")
            };
            problems.push(format!("  - the secret {name} is not set: {how}"));
        }
    }
    if !secrets.iter().any(|s| s == "CLAW_TOKEN") {
        problems.push(
            "  - the secret CLAW_TOKEN (the default agent's token) is not set: \
             npx wrangler secret put CLAW_TOKEN"
                .to_owned(),
        );
    }
    let var = |name: &str| {
        given
            .iter()
            .chain(toml)
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let url = var("UPSTREAM_URL").unwrap_or_default();
    let local = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0"]
        .iter()
        .any(|h| url.contains(h));
    if url.is_empty() || local {
        problems.push(format!(
            "  - UPSTREAM_URL is {}, which a deployed worker cannot reach: pass \
             --var UPSTREAM_URL:https://mochat.io/api (or your MoChat API)",
            if url.is_empty() {
                "unset"
            } else {
                url.as_str()
            }
        ));
    }
    let given_dialect = given.iter().any(|(n, _)| n == "UPSTREAM_DIALECT");
    if !given_dialect {
        problems.push(
            "  - say which dialect the upstream speaks: --var UPSTREAM_DIALECT:live for \
             https://mochat.io/api, --var UPSTREAM_DIALECT:rest for a server of the reference"
                .to_owned(),
        );
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wrangler secret list --format json` as wrangler 4.86 prints it
    /// (`JSON.stringify(secrets, null, "  ")` of the API's `{name, type}` list).
    const LISTED: &str = r#"[
  {
    "name": "CLAW_TOKEN",
    "type": "secret_text"
  },
  {
    "name": "DASHBOARD_PASSWORD",
    "type": "secret_text"
  }
]"#;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn secret_names_are_read_from_wranglers_list() {
        assert_eq!(
            secret_names(LISTED).expect("json"),
            vec!["CLAW_TOKEN", "DASHBOARD_PASSWORD"]
        );
        assert_eq!(secret_names("[]").expect("json"), Vec::<String>::new());
        assert!(secret_names("Not logged in.").is_err());
    }

    #[test]
    fn the_projects_vars_are_read_from_wrangler_toml() {
        let toml = std::fs::read_to_string(workspace_root().join("wrangler.toml")).expect("toml");
        let vars = toml_vars(&toml);
        assert!(vars.contains(&("UPSTREAM_URL".into(), "http://127.0.0.1:11000/api".into())));
        assert!(vars.contains(&("UPSTREAM_DIALECT".into(), "rest".into())));
    }

    #[test]
    fn a_first_deploy_is_told_each_missing_step() {
        let secrets = secret_names(LISTED).expect("json");
        let toml = pairs(&[("UPSTREAM_URL", "http://127.0.0.1:11000/api")]);
        let problems = preflight(&secrets, &toml, &[]);
        let text = problems.join("\n");
        assert_eq!(problems.len(), 3, "{text}");
        assert!(text.contains("openssl rand -hex 32 | npx wrangler secret put SESSION_SECRET"));
        assert!(text.contains("--var UPSTREAM_URL:https://mochat.io/api"));
        assert!(text.contains("--var UPSTREAM_DIALECT:live"));
    }

    #[test]
    fn a_ready_deploy_passes() {
        let secrets: Vec<String> = ["CLAW_TOKEN", "DASHBOARD_PASSWORD", "SESSION_SECRET"]
            .map(str::to_owned)
            .to_vec();
        let toml = pairs(&[("UPSTREAM_URL", "http://127.0.0.1:11000/api")]);
        let given = pairs(&[
            ("UPSTREAM_URL", "https://mochat.io/api"),
            ("UPSTREAM_DIALECT", "live"),
        ]);
        assert_eq!(preflight(&secrets, &toml, &given), Vec::<String>::new());
    }

    #[test]
    fn vars_are_parsed_and_junk_refused() {
        let args: Vec<String> = ["--dry-run", "--var", "UPSTREAM_URL:https://mochat.io/api"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            vars_of(&args).expect("ok"),
            pairs(&[("UPSTREAM_URL", "https://mochat.io/api")])
        );
        assert!(vars_of(&["--var".to_owned()]).is_err());
        assert!(vars_of(&["--prod".to_owned()]).is_err());
    }
}
