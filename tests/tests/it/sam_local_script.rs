//! `scripts/sam-local.sh` when it cannot prepare Docker: one line on stderr saying which step
//! failed and why, a non-zero exit, and nothing left running. Stand-in `docker`, `dockerd`
//! and `debootstrap` commands first on `PATH` make the failures without touching the machine
//! (the working path is what the full test command's `sam::` pass runs).

use std::path::Path;
use std::process::Command;

use tools::workspace_root;

/// A directory of stand-in commands: `docker` that never answers, `debootstrap` that does
/// nothing, and `dockerd` that writes a log line and exits (recording its PID).
fn stand_ins() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sam-local-stand-ins-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    };
    write("docker", "exit 1");
    write("debootstrap", "exit 0");
    write(
        "dockerd",
        &format!(
            "echo $$ > {}/dockerd.started\necho 'failed to start daemon: error initializing graphdriver: no space' >&2\nexit 1",
            dir.display()
        ),
    );
    dir
}

fn run(stand_ins: &Path, as_nobody: bool) -> std::process::Output {
    let script = workspace_root().join("scripts/sam-local.sh");
    let path = format!("{}:{}", stand_ins.display(), std::env::var("PATH").unwrap_or_default());
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&script);
        c
    } else {
        Command::new(&script)
    };
    cmd.arg("--check")
        .env("PATH", path)
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run scripts/sam-local.sh")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn without_docker_or_root_the_script_says_why_in_one_line() {
    if !is_root() {
        // Run as an ordinary user already: the case under test.
        let out = run(&stand_ins(), false);
        assert_one_line_failure(&out, "needs root");
        return;
    }
    let out = run(&stand_ins(), true);
    assert_one_line_failure(&out, "needs root");
}

#[test]
fn a_dockerd_that_fails_to_start_is_reported_and_nothing_is_left_running() {
    if !is_root() || Path::new("/sys/class/net/docker0").exists() {
        // Not root: the other test covers this machine; a docker0 bridge: another daemon runs
        // here, which the script refuses before starting anything (a different line).
        return;
    }
    let dir = stand_ins();
    let out = run(&dir, false);
    assert_one_line_failure(&out, "dockerd exited at start: failed to start daemon");
    let pid = std::fs::read_to_string(dir.join("dockerd.started")).expect("the stand-in dockerd was started");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "dockerd {pid} still runs"
    );
    assert!(
        !Path::new("/sys/class/net/docker0").exists(),
        "a bridge was left behind"
    );
}

fn assert_one_line_failure(out: &std::process::Output, says: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit status {:?}; stderr: {stderr}", out.status);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {stderr}");
    assert!(lines[0].starts_with("sam-local: "), "{stderr}");
    assert!(lines[0].contains(says), "{stderr}");
}
