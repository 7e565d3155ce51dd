//! Asking Locust about a locustfile before anything runs: its version, whether the files load
//! (with soy's hook beside them), the `User` classes they define and the flags Locust knows
//! for them (custom arguments included).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The oldest Locust the driver runs: Debian's `python3-locust`.
pub const MIN_VERSION: (u32, u32) = (2, 12);

/// What a Locust that does not say its version is recorded as.
pub const UNKNOWN_VERSION: &str = "(version not reported)";

/// How long one question may take (a locustfile that blocks at import).
const ASK_WITHIN: Duration = Duration::from_secs(60);

/// The command that installs Locust, for the error that says it is missing.
pub const INSTALL: &str = "python3 -m pip install locust (or: apt-get install python3-locust)";

/// What Locust said of the files.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub version: String,
    pub classes: Vec<String>,
    pub flags: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("Locust is not installed ({command} not found): install it with `{INSTALL}`")]
    Missing { command: String },
    #[error("`{command} --version` does not answer as Locust does: {said}")]
    NotLocust { command: String, said: String },
    #[error(
        "Locust {version} is older than the {}.{} soy's driver needs: upgrade it with `python3 -m pip install -U locust`",
        MIN_VERSION.0,
        MIN_VERSION.1
    )]
    TooOld { version: String },
    #[error("cannot run {command}")]
    Run {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} did not answer within {}s", ASK_WITHIN.as_secs())]
    Hangs { command: String },
    /// The files do not load: Locust's message and, when it names one, the file and line.
    #[error("{}{message}", .at.as_ref().map(|(f, l)| format!("{}:{l}: ", f.display())).unwrap_or_default())]
    Load {
        message: String,
        at: Option<(PathBuf, u32)>,
    },
}

/// soy's hook written to a fresh private file for a question to Locust; removed on drop.
pub struct TempHook {
    dir: PathBuf,
    path: PathBuf,
}

impl TempHook {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempHook {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `text` as `soy_hook.py` in a new directory only this process uses.
pub fn write_hook(text: &str) -> Result<TempHook, std::io::Error> {
    let dir = private_dir("soy-locust-check")?;
    let path = dir.join("soy_hook.py");
    std::fs::write(&path, text)?;
    Ok(TempHook { dir, path })
}

/// A new directory under the temporary folder, created by this call (never an existing one).
pub fn private_dir(prefix: &str) -> Result<PathBuf, std::io::Error> {
    use rand::Rng;
    loop {
        let dir = std::env::temp_dir().join(format!(
            "{prefix}-{}-{:08x}",
            std::process::id(),
            rand::rng().random::<u32>()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Asks `command` (resolved) about `files` (the locustfiles, the shape file and soy's hook),
/// in `dir` (where the run starts Locust: it reads `locust.conf` from there).
pub fn inspect(command: &Path, files: &[PathBuf], dir: &Path) -> Result<Inspection, CheckError> {
    let shown = command.display().to_string();
    let out = ask(command, &["--version".into()], dir)?;
    let said = format!("{}{}", out.stdout, out.stderr);
    let version = match parse_version(&said) {
        Some(v) if version_tuple(&v) < MIN_VERSION => {
            return Err(CheckError::TooOld { version: v });
        }
        Some(v) => v,
        // Debian's python3-locust says `locust ` and no number: it is Locust, of a version
        // it does not tell; soy's hook, loaded below, refuses one that lacks what it needs.
        None if said.trim() == "locust" => UNKNOWN_VERSION.to_string(),
        None => {
            return Err(CheckError::NotLocust {
                command: shown.clone(),
                said: said.trim().to_string(),
            });
        }
    };
    let list = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let listed = ask(command, &["-f".into(), list.clone(), "--list".into()], dir)?;
    if !listed.ok {
        return Err(load_error(&listed.stderr, files));
    }
    let classes = parse_classes(&listed.stdout);
    let help = ask(command, &["-f".into(), list, "--help".into()], dir)?;
    Ok(Inspection {
        version,
        classes,
        flags: parse_flags(&help.stdout),
    })
}

struct Answer {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn ask(command: &Path, args: &[String], dir: &Path) -> Result<Answer, CheckError> {
    let shown = command.display().to_string();
    let mut child = Command::new(command)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => CheckError::Missing {
                command: shown.clone(),
            },
            _ => CheckError::Run {
                command: shown.clone(),
                source,
            },
        })?;
    let read = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = read(child.stdout.take().map(|r| Box::new(r) as _));
    let err = read(child.stderr.take().map(|r| Box::new(r) as _));
    let deadline = Instant::now() + ASK_WITHIN;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(CheckError::Hangs { command: shown });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(source) => {
                return Err(CheckError::Run {
                    command: shown,
                    source,
                });
            }
        }
    };
    Ok(Answer {
        ok: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// `locust 2.47.0 from … (Python 3.11.7)` → `2.47.0`.
pub fn parse_version(said: &str) -> Option<String> {
    let rest = said.trim_start().strip_prefix("locust ")?;
    let v = rest.split_whitespace().next()?;
    v.chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit())
        .then(|| v.to_string())
}

/// The first two numbers of a version.
pub fn version_tuple(v: &str) -> (u32, u32) {
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// The classes under `Available Users:` of `locust --list`.
pub fn parse_classes(listed: &str) -> Vec<String> {
    listed
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Available Users"))
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The flags of `locust --help`: every `-x` or `--name` that starts an option's line.
pub fn parse_flags(help: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        // `-f <filename>, --locustfile <filename>`: the flags before the description.
        let head = line.split("  ").next().unwrap_or(line);
        for part in head.split(',') {
            if let Some(flag) = part.split_whitespace().next()
                && flag.starts_with('-')
                && flag.len() > 1
            {
                flags.push(flag.to_string());
            }
        }
    }
    flags.sort();
    flags.dedup();
    flags
}

/// Locust's message when the files do not load: the traceback's last line, and the last
/// frame in one of `files`.
pub fn load_error(stderr: &str, files: &[PathBuf]) -> CheckError {
    let mut at = None;
    for line in stderr.lines() {
        let l = line.trim_start();
        let Some(rest) = l.strip_prefix("File \"") else {
            continue;
        };
        let Some((path, tail)) = rest.split_once("\", line ") else {
            continue;
        };
        let n: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let path = PathBuf::from(path);
        if files.iter().any(|f| same_file(f, &path))
            && let Ok(n) = n.parse()
        {
            at = Some((path, n));
        }
    }
    let message = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('[') && !l.starts_with('^'))
        .unwrap_or("Locust could not load the files")
        .to_string();
    CheckError::Load { message, at }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_classes_and_flags_are_read_as_locust_prints_them() {
        assert_eq!(
            parse_version("locust 2.47.0 from /x/locust (Python 3.11.7)\n").as_deref(),
            Some("2.47.0")
        );
        assert_eq!(parse_version("Python 3.11"), None);
        assert_eq!(version_tuple("2.12.1"), (2, 12));
        assert!(version_tuple("2.9.0") < MIN_VERSION);
        assert_eq!(
            parse_classes("Available Users:\n    Web\n    Api\n"),
            vec!["Web", "Api"]
        );
        let help = "  -f <filename>, --locustfile <filename>\n                        Python module\n  --headless            Disable the web interface\n  -s <number>, --stop-timeout <number>\nCustom arguments:\n  --my-arg MY_ARG       mine\n";
        assert_eq!(
            parse_flags(help),
            vec![
                "--headless",
                "--locustfile",
                "--my-arg",
                "--stop-timeout",
                "-f",
                "-s"
            ]
        );
    }

    #[test]
    fn a_traceback_names_the_users_file_and_line() {
        let f = PathBuf::from("/tmp/x/bad.py");
        let err = "Traceback (most recent call last):\n  File \"/venv/locust/main.py\", line 167, in main\n  File \"/tmp/x/bad.py\", line 2\n    class A(HttpUser:\n                    ^\nSyntaxError: invalid syntax\n";
        match load_error(err, std::slice::from_ref(&f)) {
            CheckError::Load { message, at } => {
                assert_eq!(message, "SyntaxError: invalid syntax");
                assert_eq!(at, Some((f, 2)));
            }
            other => panic!("{other:?}"),
        }
    }
}
