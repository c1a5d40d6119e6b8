//! A memory-mapped input truncated while it is read (logrotate's `copytruncate` on a live log)
//! ends the process with exit code 5 and a message naming the way out (`--no-mmap`), instead
//! of the bare "Bus error" of SIGBUS. The truncation is made deterministic by doing it in a
//! child process (this test binary, run again) between mapping the file and reading it.

#![cfg(target_os = "linux")]

use std::process::Command;

const CHILD: &str = "NODEAUTHZ_TRUNCATED_MAP_CHILD";

#[test]
fn a_map_truncated_while_it_is_read_is_reported_with_exit_code_5() {
    if std::env::var_os(CHILD).is_some() {
        nodeauthz::cli::report_truncated_maps();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        std::fs::write(&path, vec![b'x'; 1 << 20]).unwrap();
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
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_map_truncated_while_it_is_read_is_reported_with_exit_code_5",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
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
            "nodeauthz: an input file was truncated while it was read through a memory map \
             (logrotate's copytruncate?); nothing was written. Run again with --no-mmap to read \
             files instead of mapping them.\n"
        ),
        "{stderr}"
    );
    assert!(!stdout.contains("after the truncation"), "{stdout}");
}
