//! What the benchmarks share: the `relais` binary in a folder of its own,
//! its peak memory, and percentiles.

#![allow(dead_code)] // each benchmark uses some of them

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The `relais` binary, run in `dir`, deaf to the caller's relais settings.
pub fn relais(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_relais"));
    cmd.current_dir(dir)
        .env("RELAIS_LOG", "warn")
        .env_remove("RELAIS_DATABASE_URL")
        .env_remove("RELAIS_CONFIG");
    cmd
}

/// Runs `relais args` in `dir`, which must succeed; returns what it printed.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = relais(dir).args(args).output().expect("relais runs");
    assert!(
        out.status.success(),
        "relais {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The peak resident memory of process `pid`, in KiB (VmHWM).
pub fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The `p` percentile (0 to 1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
