//! Embeds the report page's charting library (uPlot, from npm) when it is installed.
//!
//! `web/package.json` and `web/package-lock.json` name it; this script installs them with
//! `npm ci` into `target/web` when that is missing or stale and npm is on the PATH (not with
//! `SOY_NO_NPM` set), and writes `$OUT_DIR/web.rs` with the library's code, or with the reason
//! it is not there: the pages then keep their static SVG charts and say why.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    println!("cargo:rerun-if-env-changed=SOY_NO_NPM");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let web = target.join("web");
    let dist = web.join("node_modules/uplot/dist");
    let (js, css) = (dist.join("uPlot.iife.min.js"), dist.join("uPlot.min.css"));
    println!("cargo:rerun-if-changed={}", js.display());
    let lock = root.join("web/package-lock.json");
    let why = if current(&lock, &web, &js) {
        None
    } else if std::env::var_os("SOY_NO_NPM").is_some() {
        Some("soy was built with SOY_NO_NPM set".to_string())
    } else {
        install(&root, &web).err()
    };
    let code = match why {
        None if js.is_file() && css.is_file() => format!(
            "pub const UPLOT: Result<(&str, &str), &str> = Ok((include_str!({:?}), include_str!({:?})));\n",
            js, css
        ),
        None => "pub const UPLOT: Result<(&str, &str), &str> = Err(\"npm installed no uPlot\");\n"
            .into(),
        Some(why) => {
            println!("cargo:warning=report pages get static charts only: {why}");
            format!("pub const UPLOT: Result<(&str, &str), &str> = Err({why:?});\n")
        }
    };
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("web.rs");
    std::fs::write(out, code).expect("write web.rs");
}

/// Whether `web` holds what the lock file names.
fn current(lock: &Path, web: &Path, js: &Path) -> bool {
    let installed = std::fs::read(web.join("package-lock.json")).ok();
    js.is_file() && installed.is_some() && installed == std::fs::read(lock).ok()
}

fn install(root: &Path, web: &Path) -> Result<(), String> {
    std::fs::create_dir_all(web).map_err(|e| format!("cannot create {}: {e}", web.display()))?;
    for f in ["package.json", "package-lock.json"] {
        std::fs::copy(root.join("web").join(f), web.join(f))
            .map_err(|e| format!("cannot copy web/{f}: {e}"))?;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--silent"])
        .current_dir(web)
        .output()
        .map_err(|e| format!("npm was not found to install uPlot ({e})"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(web.join("package-lock.json"));
        return Err(format!(
            "`npm ci` failed in {}: {}",
            web.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}
