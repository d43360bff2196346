//! Options of the server: command line first, then `MOCHAT_*` environment variables, then defaults.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mochat_api::limits::{RATE_LIMIT, RATE_WINDOW_SECS};

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// A SQLite file (created with its folder when missing).
    File(PathBuf),
    /// An in-memory database, gone when the server stops.
    Memory,
}

/// Which dialects of the API the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialects {
    /// Only the reference's REST routes (`GET /api/claw/sessions/:id/messages`, …).
    Rest,
    /// Only the live service's `POST /api/claw/<noun>/<verb>` calls.
    Live,
    /// Both, on the same port over the same data.
    #[default]
    Both,
}

impl Dialects {
    /// Parses `rest`, `live` or `both`.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "rest" => Some(Self::Rest),
            "live" => Some(Self::Live),
            "both" => Some(Self::Both),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Live => "live",
            Self::Both => "both",
        }
    }

    /// Whether the reference's routes are answered.
    pub fn rest(self) -> bool {
        self != Self::Live
    }

    /// Whether the live calls are answered.
    pub fn live(self) -> bool {
        self != Self::Rest
    }
}

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub storage: Storage,
    /// Which dialects of the API it answers.
    pub dialects: Dialects,
    /// Requests per agent per window; `None` turns the limit off.
    pub rate_limit: Option<u32>,
    /// Length of the rate-limit window (60 s; shorter only in tests).
    pub rate_window: Duration,
    /// Tests only: how long a session send's answer waits after the message
    /// is stored (to lose an answer in flight on purpose). Zero by default.
    pub answer_delay: Duration,
    /// Seed the demo workspace (once) and run the helper agent.
    pub demo: bool,
    /// Where `--demo` writes `CLAW_TOKEN=…` for the operator agent: by default the
    /// `.dev.vars` next to `wrangler.toml`, which `wrangler dev` reads.
    pub dev_vars: PathBuf,
}

/// The usage text of `--help`.
pub const USAGE: &str = "\
Usage: mochat-local [OPTIONS]

  --bind ADDR          address to listen on (default 127.0.0.1)       [MOCHAT_BIND]
  --port N             port, 0 picks a free one (default 11000)       [MOCHAT_PORT]
  --db PATH            SQLite file (default data/mochat-local.db)     [MOCHAT_DB]
  --memory             keep everything in memory instead              [MOCHAT_MEMORY]
  --rate-limit N|off   requests per agent per minute (default 120)    [MOCHAT_RATE_LIMIT]
  --dialect D          API dialects: rest, live or both (default both) [MOCHAT_DIALECT]
  --demo               seed the demo workspace, run the helper agent  [MOCHAT_DEMO]
  --dev-vars PATH      where --demo writes CLAW_TOKEN (default .dev.vars) [MOCHAT_DEV_VARS]
  -h, --help           print this help
";

/// The workspace root (the folder above this crate).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

impl Default for Config {
    fn default() -> Self {
        let root = workspace_root();
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 11000,
            storage: Storage::File(root.join("data").join("mochat-local.db")),
            dialects: Dialects::Both,
            rate_limit: Some(RATE_LIMIT),
            rate_window: Duration::from_secs(RATE_WINDOW_SECS),
            answer_delay: Duration::ZERO,
            demo: false,
            dev_vars: root.join(".dev.vars"),
        }
    }
}

impl Config {
    /// A configuration for tests: in memory, on a free port, demo tokens written nowhere useful.
    pub fn in_memory() -> Self {
        Self {
            port: 0,
            storage: Storage::Memory,
            dev_vars: std::env::temp_dir().join("mochat-local-test.dev.vars"),
            ..Self::default()
        }
    }

    /// Reads the options from `args` (without the program name) over the environment `env`.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut config = Self::default();
        let mut memory = false;
        let env_options = [
            ("MOCHAT_BIND", "--bind"),
            ("MOCHAT_PORT", "--port"),
            ("MOCHAT_DB", "--db"),
            ("MOCHAT_RATE_LIMIT", "--rate-limit"),
            ("MOCHAT_DIALECT", "--dialect"),
            ("MOCHAT_RATE_WINDOW_MS", "--rate-window-ms"),
            ("MOCHAT_ANSWER_DELAY_MS", "--answer-delay-ms"),
            ("MOCHAT_DEV_VARS", "--dev-vars"),
        ];
        for (var, option) in env_options {
            if let Some(value) = env(var).filter(|v| !v.is_empty()) {
                config
                    .set(option, &value)
                    .map_err(|e| format!("{var}: {e}"))?;
            }
        }
        for (var, flag) in [
            ("MOCHAT_MEMORY", &mut memory),
            ("MOCHAT_DEMO", &mut config.demo),
        ] {
            if let Some(value) = env(var) {
                *flag =
                    parse_flag(&value).ok_or_else(|| format!("{var}: use 1/0 or true/false"))?;
            }
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value)),
                _ => (arg.clone(), None),
            };
            match name.as_str() {
                "--memory" => memory = true,
                "--demo" => config.demo = true,
                "--bind" | "--port" | "--db" | "--rate-limit" | "--dialect"
                | "--rate-window-ms" | "--answer-delay-ms" | "--dev-vars" => {
                    let value = match inline {
                        Some(value) => value.to_owned(),
                        None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
                    };
                    config.set(&name, &value)?;
                    if name == "--db" {
                        memory = false;
                    }
                }
                other => return Err(format!("unknown option {other}; see --help")),
            }
        }
        if memory {
            config.storage = Storage::Memory;
        }
        Ok(config)
    }

    fn set(&mut self, option: &str, value: &str) -> Result<(), String> {
        let number = |value: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{option} takes a whole number, not {value:?}"))
        };
        match option {
            "--bind" => {
                self.bind = if value == "localhost" {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                } else {
                    value
                        .parse()
                        .map_err(|_| format!("--bind takes an IP address, not {value:?}"))?
                }
            }
            "--port" => {
                self.port = u16::try_from(number(value)?)
                    .map_err(|_| format!("--port must be at most 65535, not {value}"))?
            }
            "--db" => self.storage = Storage::File(PathBuf::from(value)),
            "--rate-limit" => {
                self.rate_limit = match value {
                    "off" => None,
                    _ => match number(value)? {
                        0 => return Err("--rate-limit must be at least 1 (or off)".into()),
                        n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                    },
                }
            }
            "--dialect" => {
                self.dialects = Dialects::parse(value)
                    .ok_or_else(|| format!("--dialect takes rest, live or both, not {value:?}"))?
            }
            "--rate-window-ms" => self.rate_window = Duration::from_millis(number(value)?.max(1)),
            "--answer-delay-ms" => self.answer_delay = Duration::from_millis(number(value)?),
            "--dev-vars" => self.dev_vars = PathBuf::from(value),
            _ => return Err(format!("unknown option {option}")),
        }
        Ok(())
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(args.iter().map(|s| s.to_string()), |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults() {
        let config = parse(&[], &[]).expect("parses");
        assert_eq!(config.port, 11000);
        assert_eq!(config.bind.to_string(), "127.0.0.1");
        assert_eq!(config.rate_limit, Some(120));
        assert!(matches!(&config.storage, Storage::File(p) if p.ends_with("data/mochat-local.db")));
        assert_eq!(config.dev_vars, workspace_root().join(".dev.vars"));
        assert_eq!(config.dialects, Dialects::Both);
    }

    #[test]
    fn dialects() {
        for (value, want) in [
            ("rest", Dialects::Rest),
            ("live", Dialects::Live),
            ("both", Dialects::Both),
        ] {
            assert_eq!(
                parse(&["--dialect", value], &[]).expect("parses").dialects,
                want
            );
            assert_eq!(
                parse(&[], &[("MOCHAT_DIALECT", value)])
                    .expect("parses")
                    .dialects,
                want
            );
            assert_eq!(want.as_str(), value);
        }
        let config = parse(&["--dialect=rest"], &[("MOCHAT_DIALECT", "live")]).expect("parses");
        assert_eq!(config.dialects, Dialects::Rest, "the command line wins");
        assert!(Dialects::Rest.rest() && !Dialects::Rest.live());
        assert!(!Dialects::Live.rest() && Dialects::Live.live());
        assert!(Dialects::Both.rest() && Dialects::Both.live());
        for bad in ["REST", "", "all"] {
            assert!(parse(&["--dialect", bad], &[]).is_err(), "{bad:?}");
        }
        assert!(parse(&[], &[("MOCHAT_DIALECT", "json")]).is_err());
    }

    #[test]
    fn arguments_win_over_the_environment() {
        let config = parse(
            &["--port", "0", "--rate-limit=off", "--memory", "--demo"],
            &[
                ("MOCHAT_PORT", "9000"),
                ("MOCHAT_RATE_LIMIT", "5"),
                ("MOCHAT_BIND", "0.0.0.0"),
            ],
        )
        .expect("parses");
        assert_eq!(config.port, 0);
        assert_eq!(config.rate_limit, None);
        assert_eq!(config.storage, Storage::Memory);
        assert!(config.demo);
        assert_eq!(config.bind.to_string(), "0.0.0.0");
    }

    #[test]
    fn bad_values_are_explained() {
        assert!(parse(&["--port", "70000"], &[]).is_err());
        assert!(parse(&["--port"], &[]).is_err());
        assert!(parse(&["--rate-limit", "0"], &[]).is_err());
        assert!(parse(&["--bogus"], &[]).is_err());
        assert!(parse(&[], &[("MOCHAT_DEMO", "maybe")]).is_err());
    }
}
