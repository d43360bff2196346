//! Running commands with a visible step header, and failing with a clear message.

use std::process::Command;
use std::time::Instant;

/// The error of an xtask step: a message a person can act on.
pub type Result<T = ()> = std::result::Result<T, String>;

/// Prints a step header, e.g. `==> [2/7] Trunk 0.22.1 (cold: about 10 minutes)`.
pub fn step(text: &str) {
    println!("\n==> {text}");
}

/// Runs `cmd` with inherited output; an error names the command and its status.
pub fn status(cmd: &mut Command) -> Result {
    let started = Instant::now();
    let shown = show(cmd);
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        println!(
            "    done in {:.1} s: {shown}",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs `cmd` and returns its trimmed stdout, or `None` when it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The command line, for messages.
pub fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}
