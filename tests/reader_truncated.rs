//! A memory-mapped input truncated while it is read (logrotate's `copytruncate` on a live log)
//! ends the process with exit code 5 and a message naming the way out (`--no-mmap`), instead
//! of the bare "Bus error" of SIGBUS. The truncation is made deterministic by doing it in a
//! child process (this test binary, run again) between mapping the file and reading it; that
//! the binary installs the same handler is checked on the running binary.

#![cfg(target_os = "linux")]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "NODEAUTHZ_TRUNCATED_MAP_CHILD";

#[test]
fn a_map_truncated_while_it_is_read_is_reported_with_exit_code_5() {
    if let Some(path) = std::env::var_os(CHILD) {
        nodeauthz::cli::report_truncated_maps();
        let path = std::path::PathBuf::from(path);
        let bytes = nodeauthz::input::source::open_plain(&path)
            .unwrap()
            .expect("a regular file can be mapped");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        // Every page of the map now lies past the file's end: the first read raises SIGBUS.
        let sum: u64 = bytes.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        println!("read {sum} after the truncation");
        std::process::exit(0);
    }
    // The file lives in the parent's directory: the child ends without running destructors.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, vec![b'x'; 1 << 20]).unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_map_truncated_while_it_is_read_is_reported_with_exit_code_5",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(i32::from(nodeauthz::cli::EXIT_TRUNCATED)),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains(
            "nodeauthz: an input file was truncated, or could not be read, while it was read \
             through a memory map (logrotate's copytruncate? an I/O error?); nothing was written. \
             Run again with --no-mmap to read files instead of mapping them.\n"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains("after the truncation"), "{stdout}");
}

/// Whether the process `pid` has started reading its streamed input (its decoding thread
/// exists; its name is cut to 15 bytes there), which is after the handler is installed.
fn reading(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("nodeauthz-dec"))
        })
}

#[test]
fn the_binary_reports_a_bus_error_with_exit_code_5() {
    // Reading a stdin that stays open keeps it running. The standard library catches SIGBUS
    // too, but only for stack overflows: a SIGBUS it does not recognise leaves the process
    // running here (nothing faults again), so only the binary's own handler ends it with 5.
    let mut child = Command::new(env!("CARGO_BIN_EXE_nodeauthz"))
        .args(["analyze", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reading(child.id()) {
        assert!(
            Instant::now() < deadline,
            "nodeauthz never started reading stdin"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let killed = Command::new("kill")
        .args(["-BUS", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Without the handler the process goes on reading; end its input so that it ends.
    std::thread::sleep(Duration::from_millis(200));
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(i32::from(nodeauthz::cli::EXIT_TRUNCATED)),
        "{stderr}"
    );
    assert!(stderr.contains("Run again with --no-mmap"), "{stderr}");
}
