//! A display and a WebDriver session for the desktop app: Xvfb on a free display,
//! tauri-driver in front of WebKitWebDriver, and a fantoccini client.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::Desktop;

/// An X server of our own (`Xvfb -displayfd`), never a fixed display number.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb is installed (package xvfb)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("display number");
        Self {
            child,
            display: format!(":{}", line.trim()),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tauri-driver`: from `TAURI_DRIVER`, PATH, or ~/.cargo/bin.
pub fn tauri_driver_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let in_cargo = home.join(".cargo/bin/tauri-driver");
    if in_cargo.exists() {
        in_cargo
    } else {
        PathBuf::from("tauri-driver")
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// tauri-driver serving WebDriver on a free port, with the app's environment.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    pub fn start(desktop: &Desktop, xvfb: &Xvfb, env: &[(&str, String)]) -> Self {
        let port = free_port();
        let native = free_port();
        let mut cmd = desktop.command(tauri_driver_path());
        cmd.args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("DISPLAY", &xvfb.display)
            .env("NO_AT_BRIDGE", "1")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let child = cmd
            .spawn()
            .expect("tauri-driver is installed (cargo install tauri-driver --version ^2)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port }
    }

    /// Every process below tauri-driver (the app, WebKit's helpers, …) as
    /// `(pid, comm)`; WebKit's network process is `WebKitNetworkPr`.
    pub fn descendants(&self) -> Vec<(u32, String)> {
        let parent_of = |pid: u32| -> Option<(u32, String)> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1.to_owned();
            Some((rest.split_whitespace().nth(1)?.parse().ok()?, comm))
        };
        let all: Vec<(u32, u32, String)> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| {
                let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let (ppid, comm) = parent_of(pid)?;
                Some((pid, ppid, comm))
            })
            .collect();
        let mut found = Vec::new();
        let mut frontier = vec![self.child.id()];
        while let Some(parent) = frontier.pop() {
            for (pid, ppid, comm) in &all {
                if *ppid == parent {
                    found.push((*pid, comm.clone()));
                    frontier.push(*pid);
                }
            }
        }
        found
    }

    /// Starts the app under test and returns a WebDriver client for its webview.
    pub async fn session(&self, args: &[&str]) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": crate::binary(), "args": args }),
        );
        caps.insert("browserName".into(), "wry".into());
        // WebDriver is plain HTTP on loopback: no TLS stack needed.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session with the app")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `probe` until it yields something, or fails the test with `what`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The visible text of the element with `id`, if it is displayed.
pub async fn visible_text(client: &Client, id: &str) -> Option<String> {
    let element = client.find(Locator::Id(id)).await.ok()?;
    if !element.is_displayed().await.ok()? {
        return None;
    }
    element.text().await.ok()
}

/// The element, scrolled into view (the window is small; WebKit refuses to type
/// into or click what is off-screen).
pub async fn reach(client: &Client, id: &str) -> fantoccini::elements::Element {
    let element = client.find(Locator::Id(id)).await.unwrap();
    let arg = serde_json::to_value(&element).unwrap();
    client
        .execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
        .await
        .unwrap();
    element
}

pub async fn type_into(client: &Client, id: &str, text: &str) {
    // Right after the window opens, WebKit may not accept input yet: retry briefly.
    eventually(&format!("typing into #{id}"), Duration::from_secs(30), || async {
        let field = reach(client, id).await;
        field.clear().await.ok()?;
        field.send_keys(text).await.ok()
    })
    .await;
}

pub async fn click(client: &Client, id: &str) {
    reach(client, id).await.click().await.unwrap();
}
