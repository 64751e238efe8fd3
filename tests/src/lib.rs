//! Helpers shared by the end-to-end suites: the built `monzo-tray` binary, and a
//! private desktop session for it (its own D-Bus session bus with an unlocked
//! gnome-keyring, and fresh XDG folders), so every test runs against the real Secret
//! Service without touching anyone's keyring, and tests can run side by side.

pub mod gui;
pub mod home_assistant;
pub mod mosquitto;
pub mod notification_server;
pub mod signed_in;
pub mod tray_watcher;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test: `MONZO_TRAY_BIN` (scripts/test.sh sets the one the
/// Tauri bundler built with the packages), else the workspace's debug build, else
/// its release build.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("MONZO_TRAY_BIN") {
        return PathBuf::from(path);
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let built = ["debug", "release"]
        .iter()
        .map(|profile| target.join(profile).join("monzo-tray"))
        .find(|path| path.exists());
    built.unwrap_or_else(|| {
        panic!("no monzo-tray binary in target/: build it first (cargo build -p monzo-tray) or set MONZO_TRAY_BIN")
    })
}

/// A private session bus with gnome-keyring's Secret Service, unlocked.
pub struct Desktop {
    pub dir: tempfile::TempDir,
    bus_address: String,
    dbus_pid: u32,
}

impl Desktop {
    pub fn start() -> Self {
        Self::start_keyring(true)
    }

    /// With `unlocked` false, the keyring is running but locked, as after a login
    /// that did not unlock it.
    pub fn start_keyring(unlocked: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["data", "config", "cache", "runtime", "monzo-tray", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        let output = Command::new("dbus-daemon")
            .args([
                "--session",
                "--fork",
                "--print-address=1",
                "--print-pid=1",
                "--nopidfile",
            ])
            .env("XDG_RUNTIME_DIR", dir.path().join("runtime"))
            .output()
            .expect("dbus-daemon is installed (package dbus)");
        let text = String::from_utf8_lossy(&output.stdout).to_string();
        let mut lines = text.lines();
        let bus_address = lines.next().expect("bus address").trim().to_owned();
        let dbus_pid = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .expect("dbus pid");
        let desktop = Self {
            dir,
            bus_address,
            dbus_pid,
        };
        desktop.run_keyring_daemon(unlocked, false);
        desktop.wait_for_secret_service();
        desktop
    }

    /// Starts gnome-keyring-daemon (`replace`: in place of the one running, as after
    /// it crashed and the bus started a locked one), unlocked with the test password
    /// when `unlocked`.
    fn run_keyring_daemon(&self, unlocked: bool, replace: bool) {
        let mut keyring = self.command("gnome-keyring-daemon");
        keyring.args(["--components=secrets", "--daemonize"]);
        if unlocked {
            keyring.arg("--unlock");
        }
        if replace {
            keyring.arg("--replace");
        }
        let mut keyring = keyring
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon is installed (package gnome-keyring)");
        keyring
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"e2e-keyring-password")
            .expect("unlock");
        keyring.wait().expect("gnome-keyring-daemon started");
    }

    /// A new gnome-keyring-daemon, unlocked, in place of the running one; returns
    /// once it answers.
    pub fn restart_keyring_unlocked(&self) {
        self.run_keyring_daemon(true, true);
        self.wait_for_secret_service();
    }

    fn wait_for_secret_service(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let ok = self
                .command("secret-tool")
                .args(["search", "--all", "service", "e2e-probe"])
                .output()
                .map(|o| o.status.success() || o.status.code() == Some(1))
                .unwrap_or(false);
            if ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the Secret Service did not come up");
    }

    /// The process id of whoever owns `org.freedesktop.secrets` on this bus (the
    /// gnome-keyring-daemon started unlocked), or None when nobody does. A different
    /// id later means the daemon died and the bus started a new, locked one.
    pub fn secret_service_pid(&self) -> Option<u32> {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .last()?
            .parse()
            .ok()
    }

    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }

    /// A command that runs in this session.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        let d = self.dir.path();
        // A home of its own too: some libraries write there whatever XDG says
        // (the autostart entry goes to $HOME/.config/autostart).
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("HOME", d.join("home"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .env("XDG_RUNTIME_DIR", d.join("runtime"))
            .env("MONZO_TRAY_CONFIG_DIR", d.join("monzo-tray"))
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY");
        cmd
    }

    /// `monzo-tray ARGS` in this session, pointed at `monzo` (api base URL).
    pub fn monzo_tray(&self, monzo: &str) -> Command {
        let mut cmd = self.command(binary());
        cmd.env("MONZO_API_URL", monzo)
            .env("MONZO_AUTH_URL", format!("{monzo}/"))
            .env("MONZO_TRAY_LOG", "trace");
        cmd
    }

    pub fn settings_path(&self) -> PathBuf {
        self.dir.path().join("monzo-tray/settings.json")
    }

    /// Every secret monzo-tray keeps in this keyring, as `username → secret`.
    pub fn keyring_entries(&self) -> Vec<(String, String)> {
        let out = self
            .command("secret-tool")
            .args(["search", "--all", "--unlock", "service", "monzo-tray"])
            .output()
            .expect("secret-tool");
        // secret-tool prints each item's secret on stdout and its attributes on
        // stderr, in the same order.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let secrets = stdout.lines().filter_map(|l| l.strip_prefix("secret = "));
        let users = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("attribute.username = "));
        let mut entries: Vec<(String, String)> = users
            .zip(secrets)
            .map(|(u, s)| (u.to_owned(), s.to_owned()))
            .collect();
        entries.sort();
        entries
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // gnome-keyring-daemon leaves when its bus goes away.
        let _ = Command::new("kill").arg(self.dbus_pid.to_string()).status();
    }
}

/// A running `monzo-tray login` whose stdout lines can be read as they come, and
/// its stderr as it grows.
pub struct Running {
    pub child: Child,
    stdout: std::sync::mpsc::Receiver<String>,
    pub stdout_seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: std::thread::JoinHandle<()>,
}

impl Running {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn monzo-tray");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut stderr_pipe, &mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr")
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Self {
            child,
            stdout: rx,
            stdout_seen: Vec::new(),
            stderr,
            stderr_reader,
        }
    }

    /// What it wrote on stderr so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }

    /// Waits until stderr holds `needle`; returns all of stderr then.
    pub fn wait_for_stderr(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let so_far = self.stderr_so_far();
            if so_far.contains(needle) {
                return so_far;
            }
            assert!(
                Instant::now() < deadline,
                "\"{needle}\" did not appear on stderr in time; it holds: {so_far}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn write_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush");
    }

    pub fn close_stdin(&mut self) {
        drop(self.child.stdin.take());
    }

    /// The next line within `within`, or `None`.
    pub fn try_next_line(&mut self, within: Duration) -> Option<String> {
        let line = self.stdout.recv_timeout(within).ok()?;
        self.stdout_seen.push(line.clone());
        Some(line)
    }

    pub fn next_line(&mut self, within: Duration) -> String {
        let line = self
            .stdout
            .recv_timeout(within)
            .expect("a line on stdout in time");
        self.stdout_seen.push(line.clone());
        line
    }

    /// Waits for exit; returns status, the rest of stdout, and stderr.
    pub fn finish(mut self, within: Duration) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "monzo-tray did not finish in time; stdout so far: {:?}",
                    self.stdout_seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = self.stdout_seen.join("\n");
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_millis(200)) {
            rest.push('\n');
            rest.push_str(&line);
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while !self.stderr_reader.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let stderr = self.stderr_so_far();
        (status, rest, stderr)
    }
}

/// `monzo-tray login` for `person` with the demo client against the sandbox at
/// `api_url`; the browser is played by following the authorize URL with curl.
pub fn cli_login(desktop: &Desktop, api_url: &str, person: &str) {
    let (login, url) = start_cli_login(desktop, api_url, person);
    let browsed = Command::new("curl")
        .args(["-s", "-L", "-o", "/dev/null", &format!("{url}&user={person}")])
        .status();
    assert!(browsed.expect("curl is installed").success());
    let (status, _, stderr) = login.finish(Duration::from_secs(20));
    assert!(status.success(), "login of {person} failed: {stderr}");
}

/// Starts `monzo-tray login` for `person` with the sandbox's demo client (the
/// secret on stdin) and returns it with the authorize URL it printed, for the
/// browser to open.
pub fn start_cli_login(desktop: &Desktop, api_url: &str, person: &str) -> (Running, String) {
    let mut cmd = desktop.monzo_tray(api_url);
    cmd.args([
        "login",
        "--person",
        person,
        "--client-id",
        monzo_sandbox::DEMO_CLIENT_ID,
        "--redirect-port",
        "0",
    ])
    .env("MONZO_TRAY_LOG", "off");
    let mut login = Running::spawn(cmd);
    login.write_line(monzo_sandbox::DEMO_CLIENT_SECRET);
    let url = login.next_line(Duration::from_secs(15));
    (login, url)
}

impl Drop for Running {
    /// A test that failed half-way leaves no process of its own running.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Output as text: (exit code, stdout, stderr).
pub fn text(output: Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A card payment of `minor` (minor units; negative: money out) at `merchant` on
/// `account`, made now, for the sandbox's `add_transaction`.
pub fn spend(account: &str, minor: i64, merchant: &str) -> monzo_sandbox::TransactionFixture {
    monzo_sandbox::TransactionFixture::card_payment(account, minor, Some(merchant))
}

/// A `kB` field of `/proc/PID/status` (`RssAnon:`, `VmRSS:`, …) in KiB; 0 when the
/// process or the field is gone.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// The CPU time (user + system, in clock ticks: 100 a second on Linux) of `pids`.
pub fn cpu_ticks(pids: impl IntoIterator<Item = u32>) -> u64 {
    pids.into_iter()
        .map(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            fields.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
                + fields.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
        })
        .sum()
}
