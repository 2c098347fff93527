//! Processes: the tree under a PID, their memory (PSS), stopping them by PID,
//! and tauri-driver.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// `(pid, ppid, comm)` of every process, from `/proc/*/stat`.
pub fn all_processes() -> Vec<(u32, u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..]
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        out.push((pid, ppid, comm));
    }
    out
}

/// Every descendant of `pid` (not `pid` itself), parents before children.
pub fn descendants(pid: u32) -> Vec<u32> {
    let all = all_processes();
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (child, ppid, _) in &all {
            if *ppid == p && !out.contains(child) {
                out.push(*child);
                frontier.push(*child);
            }
        }
    }
    out
}

/// The short name of a process.
pub fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The executable of a process.
pub fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The processes running `path`, among `candidates`.
pub fn running(path: &Path, candidates: &[u32]) -> Vec<u32> {
    let want = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    candidates
        .iter()
        .copied()
        .filter(|p| exe(*p).as_deref() == Some(want.as_path()))
        .collect()
}

/// Proportional set size of a process in KiB (`/proc/PID/smaps_rollup`).
pub fn pss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// PSS of `pid` and all its descendants: total KiB, and per process name
/// the KiB and how many processes.
pub fn tree_pss(pid: u32) -> (u64, BTreeMap<String, (u64, u32)>) {
    let mut per = BTreeMap::new();
    let mut total = 0;
    for p in std::iter::once(pid).chain(descendants(pid)) {
        if let Some(kib) = pss_kib(p) {
            total += kib;
            let e = per.entry(comm(p)).or_insert((0, 0));
            e.0 += kib;
            e.1 += 1;
        }
    }
    (total, per)
}

/// Whether `pid` is alive (and not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// SIGTERM `pid`, then SIGKILL if it is still there after `grace`.
pub fn terminate(pid: u32, grace: Duration) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
    let end = Instant::now() + grace;
    while Instant::now() < end {
        if !alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .arg("-KILL")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where `tauri-driver` is: `$TAURI_DRIVER`, `PATH`, or `$CARGO_HOME/bin`.
pub fn tauri_driver_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return p.into();
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("tauri-driver");
            if p.is_file() {
                return p;
            }
        }
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    cargo_home.join("bin").join("tauri-driver")
}

/// A running tauri-driver (which runs WebKitWebDriver, which runs the app).
pub struct TauriDriver {
    child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl TauriDriver {
    /// Start tauri-driver on free ports with `envs` added to its (and so the
    /// app's) environment; its output goes to `log`.
    pub fn start(envs: &[(String, String)], log: &Path) -> Result<Self> {
        let port = free_port()?;
        let native = free_port()?;
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let bin = tauri_driver_path();
        let child = Command::new(&bin)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| {
                format!(
                    "starting {} (cargo install tauri-driver --locked --version '^2')",
                    bin.display()
                )
            })?;
        Ok(Self {
            child: Some(child),
            port,
            log: log.to_path_buf(),
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Stop everything under tauri-driver (WebKitWebDriver, apps), deepest
    /// first, then tauri-driver itself: it does not stop its child.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        for pid in descendants(child.id()).into_iter().rev() {
            terminate(pid, Duration::from_secs(3));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        self.stop();
    }
}
