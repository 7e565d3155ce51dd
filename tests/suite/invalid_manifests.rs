//! Every manifest under tests/fixtures/invalid/ is rejected with exit code 2 and exactly the
//! message in its snapshot; none may panic or hang. Two fixtures are generated here rather
//! than committed: a 20 MB file.

use std::time::Duration;

use super::{rel, root, soy, text};

/// Generous: a hang is caught, timing is measured by scripts/bench-validate, not here.
const LIMIT: Duration = Duration::from_secs(20);

fn generate_large_fixture() -> std::path::PathBuf {
    let dir = root().join("target").join("fixtures").join("invalid");
    std::fs::create_dir_all(&dir).expect("fixture dir");
    let path = dir.join("twenty-megabytes.yaml");
    if std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) != 20 * 1024 * 1024 {
        let line = "# padding padding padding padding padding padding padding padding padding\n";
        let mut body = String::from("apiVersion: soy/v1\n");
        while body.len() + line.len() <= 20 * 1024 * 1024 {
            body.push_str(line);
        }
        while body.len() < 20 * 1024 * 1024 {
            body.push('#');
        }
        std::fs::write(&path, body).expect("write large fixture");
    }
    path
}

#[test]
fn every_invalid_fixture_matches_its_snapshot() {
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/fixtures/invalid"))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files.push(generate_large_fixture());
    assert!(
        files.len() >= 15,
        "at least 15 invalid fixtures, found {}",
        files.len()
    );
    for path in files {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let (out, _) = soy(&["validate", &rel(&path)], LIMIT);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{name} panicked:\n{stderr}");
        assert_eq!(out.status.code(), Some(2), "{name} must exit 2:\n{stderr}");
        insta::assert_snapshot!(format!("invalid__{name}"), stderr);
    }
}
