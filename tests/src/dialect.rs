//! Which dialect the upstream speaks in this run: `MOCHAT_TEST_DIALECT`
//! = `rest` (default: the local server answers both dialects, the worker
//! speaks REST) or `live` (the local server answers only the live dialect,
//! the worker is set to speak it, and the tests' own client speaks it too,
//! so nothing can fall back to REST). `cargo xtask test` runs the tests
//! that go through the worker once in each.

/// The dialect of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Rest,
    Live,
}

impl Dialect {
    /// From `MOCHAT_TEST_DIALECT` (anything but `live` is `rest`).
    pub fn of_run() -> Self {
        match std::env::var("MOCHAT_TEST_DIALECT").as_deref() {
            Ok("live") => Self::Live,
            _ => Self::Rest,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Live => "live",
        }
    }

    /// `--dialect` of the local server: both in the REST run, only the live one in the live run.
    pub fn local_flag(self) -> &'static str {
        match self {
            Self::Rest => "both",
            Self::Live => "live",
        }
    }

    /// What a faults row's case is called in this run (live runs say so).
    pub fn label(self, case: &str) -> String {
        match self {
            Self::Rest => case.to_owned(),
            Self::Live => format!("{case} [live dialect]"),
        }
    }
}
