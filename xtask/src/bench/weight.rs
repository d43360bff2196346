//! Weight: the bytes a browser or Cloudflare receives, raw, gzip (level 9)
//! and brotli (quality 11), each file compressed on its own as it is served.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::wasm;
use crate::run::Result;

/// One file's sizes.
#[derive(Debug, Clone)]
pub struct FileSize {
    pub name: String,
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

/// A shipped artifact: a set of files, summed.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// `dashboard`, `widget_app`, `widget_loader`, `worker` (a breakdown's `artifact`).
    pub key: &'static str,
    pub name: String,
    pub files: Vec<FileSize>,
    /// Target in gzip bytes.
    pub target_gzip: usize,
}

impl Artifact {
    pub fn raw(&self) -> usize {
        self.files.iter().map(|f| f.raw).sum()
    }
    pub fn gzip(&self) -> usize {
        self.files.iter().map(|f| f.gzip).sum()
    }
    pub fn brotli(&self) -> usize {
        self.files.iter().map(|f| f.brotli).sum()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "key": self.key,
            "name": self.name,
            "raw_bytes": self.raw(),
            "gzip_bytes": self.gzip(),
            "brotli_bytes": self.brotli(),
            "target_gzip_bytes": self.target_gzip,
            "target_met": self.gzip() <= self.target_gzip,
            "files": self.files.iter().map(|f| json!({
                "file": f.name, "raw": f.raw, "gzip": f.gzip, "brotli": f.brotli
            })).collect::<Vec<_>>(),
        })
    }
}

/// Where the bytes of a WebAssembly file go.
#[derive(Debug, Clone)]
pub struct Breakdown {
    pub artifact: String,
    /// The shipped wasm's sections.
    pub shipped: String,
    pub sections: Vec<(String, usize)>,
    /// The file code is attributed from: the named twin of the shipped wasm
    /// (exact shipped code bytes) or, failing that, rustc's wasm before
    /// wasm-bindgen and wasm-opt (shares only).
    pub attributed: String,
    /// Whether `attributed` is the named twin.
    pub exact: bool,
    /// Its code bytes: the twin's should equal the shipped code section.
    pub code_bytes: usize,
    pub crates: Vec<(String, usize)>,
    /// `(readable name, bytes, copies)`, largest first.
    pub functions: Vec<(String, usize, usize)>,
}

impl Breakdown {
    pub fn to_json(&self) -> Value {
        let pairs = |v: &[(String, usize)]| {
            v.iter()
                .map(|(k, n)| json!({ "name": k, "bytes": n }))
                .collect::<Vec<_>>()
        };
        json!({
            "artifact": self.artifact,
            "shipped_file": self.shipped,
            "sections": pairs(&self.sections),
            "attributed_file": self.attributed,
            "attributed_exact": self.exact,
            "attributed_code_bytes": self.code_bytes,
            "code_by_crate": pairs(&self.crates),
            "largest_functions": self.functions.iter().take(FUNCTIONS_SHOWN)
                .map(|(k, n, c)| json!({ "name": k, "bytes": n, "copies": c }))
                .collect::<Vec<_>>(),
            "code_by_group": wasm::groups(&self.crates)
                .iter()
                .map(|(k, n)| json!({ "name": k, "bytes": n }))
                .collect::<Vec<_>>(),
        })
    }
}

pub struct Weight {
    pub artifacts: Vec<Artifact>,
    pub breakdowns: Vec<Breakdown>,
    /// The `bench/floor` fixture built as the widget is (`None`: not built).
    pub floor: Option<Artifact>,
}

impl Weight {
    pub fn to_json(&self) -> Value {
        json!({
            "artifacts": self.artifacts.iter().map(Artifact::to_json).collect::<Vec<_>>(),
            "wasm_breakdowns": self.breakdowns.iter().map(Breakdown::to_json).collect::<Vec<_>>(),
            "floor": self.floor.as_ref().map(Artifact::to_json),
        })
    }
}

pub const KB: usize = 1000;
/// Where `cargo xtask bench` builds the `bench/floor` fixture (Trunk's `--dist`).
pub const FLOOR_DIST: &str = "target/bench-floor";
/// How many of the largest functions the report lists.
pub const FUNCTIONS_SHOWN: usize = 30;

/// Measures `dist/` (dashboard), `dist/widget/` and `dist/widget.js` (the
/// widget and its loader), `worker/build/` (worker) and, when built, the
/// `bench/floor` fixture beside the widget.
pub fn measure(root: &Path) -> Result<Weight> {
    let dist = root.join("dist");
    let loader = dist.join("widget.js");
    let mut first_load = vec![dist.join("index.html")];
    first_load.extend(
        files_with(&dist, &["wasm", "js", "css"])?
            .into_iter()
            .filter(|p| *p != loader),
    );
    let widget_dir = dist.join("widget");
    let mut widget = vec![widget_dir.join("index.html")];
    widget.extend(files_with(&widget_dir, &["wasm", "js", "css"])?);
    let worker = root.join("worker/build");
    let bundle = vec![worker.join("index.js"), worker.join("index_bg.wasm")];
    let artifacts = vec![
        artifact(
            "dashboard",
            "Dashboard first load (html + js + wasm + css)",
            &first_load,
            150 * KB,
        )?,
        artifact(
            "widget_app",
            "Widget app, first open (html + js + wasm + css)",
            &widget,
            100 * KB,
        )?,
        artifact(
            "widget_loader",
            "Widget loader (widget.js)",
            std::slice::from_ref(&loader),
            3 * KB,
        )?,
        artifact(
            "worker",
            "Worker bundle (index.js + index_bg.wasm)",
            &bundle,
            600 * KB,
        )?,
    ];

    let wasm_target = root.join("target/wasm32-unknown-unknown/release");
    let mut breakdowns = Vec::new();
    let shipped_wasm = |files: &[PathBuf]| {
        files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "wasm"))
            .cloned()
    };
    let params = wasm_opt_params(root);
    if let Some(shipped) = shipped_wasm(&first_load) {
        let pre = wasm_target.join("mochat-client.wasm");
        let twin = named_twin(&pre, &params);
        breakdowns.push(breakdown("dashboard", &shipped, twin.as_deref(), &pre)?);
    }
    if let Some(shipped) = shipped_wasm(&widget) {
        let pre = wasm_target.join("mochat-widget.wasm");
        let twin = named_twin(&pre, &params);
        breakdowns.push(breakdown("widget_app", &shipped, twin.as_deref(), &pre)?);
    }
    breakdowns.push(breakdown(
        "worker",
        &worker.join("index_bg.wasm"),
        None,
        &wasm_target.join("mochat_worker.wasm"),
    )?);
    let floor_dir = root.join(FLOOR_DIST);
    let floor = if floor_dir.join("index.html").is_file() {
        let mut files = vec![floor_dir.join("index.html")];
        files.extend(files_with(&floor_dir, &["wasm", "js", "css"])?);
        Some(artifact(
            "widget_floor",
            "Floor: the least Leptos chat, built as the widget (html + js + wasm + css)",
            &files,
            100 * KB,
        )?)
    } else {
        None
    };
    Ok(Weight {
        artifacts,
        breakdowns,
        floor,
    })
}

fn files_with(dir: &Path, extensions: &[&str]) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.contains(&e))
        })
        .collect();
    out.sort();
    Ok(out)
}

fn artifact(
    key: &'static str,
    name: &str,
    files: &[PathBuf],
    target_gzip: usize,
) -> Result<Artifact> {
    let mut sizes = Vec::new();
    for path in files {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        sizes.push(FileSize {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            raw: bytes.len(),
            gzip: gzip(&bytes)?,
            brotli: brotli(&bytes)?,
        });
    }
    Ok(Artifact {
        key,
        name: name.to_owned(),
        files: sizes,
        target_gzip,
    })
}

fn breakdown(name: &str, shipped: &Path, twin: Option<&Path>, pre_opt: &Path) -> Result<Breakdown> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    let shipped_bytes = read(shipped)?;
    // The attribution file is only for names; without one, no crate list.
    let (attributed, exact) = match twin {
        Some(t) => (t, true),
        None => (pre_opt, false),
    };
    let functions = read(attributed)
        .map(|b| wasm::functions(&b))
        .unwrap_or_default();
    let crates = read(attributed)
        .map(|b| wasm::code_by_crate(&b))
        .unwrap_or_default();
    Ok(Breakdown {
        artifact: name.to_owned(),
        shipped: file_name(shipped),
        sections: wasm::sections(&shipped_bytes),
        attributed: if exact {
            format!("{} (named twin)", file_name(shipped))
        } else {
            file_name(pre_opt)
        },
        exact,
        code_bytes: functions.iter().map(|(_, n)| n).sum(),
        crates,
        functions: wasm::by_readable_name(&functions),
    })
}

/// The `data-wasm-opt-params` Trunk passes to wasm-opt (client/index.html).
fn wasm_opt_params(root: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(root.join("client/index.html")).unwrap_or_default();
    let key = "data-wasm-opt-params=\"";
    html.find(key)
        .and_then(|i| {
            let rest = &html[i + key.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .map(|p| p.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The shipped wasm again, with its names: rustc's output through the same
/// wasm-bindgen and `wasm-opt -Oz` (same flags) as Trunk's, keeping the
/// `name` section (`--keep-debug`, `-g`), which takes no part in the code.
/// Its code bytes are the shipped code bytes, function by function.
fn named_twin(pre_opt: &Path, params: &[String]) -> Option<PathBuf> {
    let dir = mochat_tests::toolchain::scratch_dir("bench-named-twin");
    let stem = pre_opt.file_stem()?.to_string_lossy().into_owned();
    let bindgen = std::process::Command::new(mochat_tests::toolchain::cargo_tool("wasm-bindgen"))
        .args(["--target", "web", "--keep-debug", "--out-dir"])
        .arg(&dir)
        .arg(pre_opt)
        .output()
        .ok()?;
    if !bindgen.status.success() {
        eprintln!(
            "bench: wasm-bindgen for the named twin failed: {}",
            String::from_utf8_lossy(&bindgen.stderr)
        );
        return None;
    }
    let twin = dir.join(format!("{stem}.named.wasm"));
    // Debug info goes, names stay (`-g` after `--strip-debug` keeps them).
    let keep: Vec<&String> = params
        .iter()
        .filter(|p| !p.starts_with("--strip"))
        .collect();
    let opt = std::process::Command::new(mochat_tests::toolchain::node_tool("wasm-opt"))
        .arg("-Oz")
        .args(keep)
        .arg("-g")
        .arg(dir.join(format!("{stem}_bg.wasm")))
        .arg("-o")
        .arg(&twin)
        .output()
        .ok()?;
    if !opt.status.success() {
        eprintln!(
            "bench: wasm-opt for the named twin failed: {}",
            String::from_utf8_lossy(&opt.stderr)
        );
        return None;
    }
    Some(twin)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// gzip at level 9, as a server with static compression would send it.
pub fn gzip(bytes: &[u8]) -> Result<usize> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).map_err(|e| format!("gzip: {e}"))?;
    Ok(enc.finish().map_err(|e| format!("gzip: {e}"))?.len())
}

/// brotli at quality 11, window 22 (the usual static settings).
pub fn brotli(bytes: &[u8]) -> Result<usize> {
    let mut out = Vec::new();
    {
        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        enc.write_all(bytes).map_err(|e| format!("brotli: {e}"))?;
        enc.flush().map_err(|e| format!("brotli: {e}"))?;
    }
    Ok(out.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_shrinks_repetitive_text() {
        let text = "hello mochat ".repeat(1000);
        let g = gzip(text.as_bytes()).expect("gzip");
        let b = brotli(text.as_bytes()).expect("brotli");
        assert!(g < 200 && b < 200, "gzip {g}, brotli {b}");
        assert!(
            gzip(b"").expect("gzip") > 0,
            "a gzip header even when empty"
        );
    }
}
