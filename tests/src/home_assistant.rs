//! A real Home Assistant for tests: the cached venv from `tests/ha/install.sh`
//! (2024.3.3), or with `MONZO_TRAY_HA_NEWEST` the newest (2026.11.0) in the Debian
//! testing root from `tests/ha/install-newest.sh`; started with `--skip-pip` on
//! 127.0.0.1 and a free port with a minimal configuration, onboarded through its
//! REST API for a long-lived token, and stopped (or restarted) on demand. The
//! helper scripts (onboarding, websocket, event listening) are clients and run on
//! the 2024.3.3 venv's Python either way.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct HomeAssistant {
    child: Option<Child>,
    venv: PathBuf,
    /// The Debian testing root the newest runs in, when it is the one under test.
    newest_root: Option<PathBuf>,
    /// `version` from `GET /api/config`, e.g. "2026.11.0".
    pub version: String,
    config: tempfile::TempDir,
    pub url: String,
    pub token: String,
    /// With TLS: the CA certificate (PEM) that signed Home Assistant's certificate.
    pub ca_file: Option<PathBuf>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The venv: `MONZO_TRAY_HA_VENV`, else `.cache/ha-venv` (made by tests/ha/install.sh).
pub fn venv() -> PathBuf {
    let venv = std::env::var_os("MONZO_TRAY_HA_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".cache/ha-venv"));
    assert!(
        venv.join("bin/hass").exists(),
        "Home Assistant is not installed at {}: run tests/ha/install.sh (scripts/test.sh does)",
        venv.display()
    );
    venv
}

/// The root of the newest Home Assistant's chroot, when `MONZO_TRAY_HA_NEWEST` names
/// one: the suites then run against it instead of 2024.3.3.
pub fn newest_root() -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var_os("MONZO_TRAY_HA_NEWEST")?);
    assert!(
        root.join("venv/bin/hass").exists(),
        "MONZO_TRAY_HA_NEWEST={}: no Home Assistant there; run tests/ha/install-newest.sh",
        root.display()
    );
    Some(root)
}

impl HomeAssistant {
    pub fn start() -> Self {
        Self::start_with(false, false)
    }

    /// Serves https with a certificate from a CA made for the test.
    pub fn start_tls() -> Self {
        Self::start_with(true, false)
    }

    /// With its recorder (SQLite in the config folder), for long-term statistics.
    pub fn start_with_recorder() -> Self {
        Self::start_with(false, true)
    }

    fn start_with(tls: bool, recorder: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let newest_root = newest_root();
        // The chroot sees the host's /tmp at the same path, and nothing else of it.
        let config = if newest_root.is_some() {
            tempfile::Builder::new()
                .prefix("monzo-tray-ha")
                .tempdir_in("/tmp")
                .unwrap()
        } else {
            tempfile::tempdir().unwrap()
        };
        let template = std::fs::read_to_string(workspace().join("tests/ha/configuration.yaml.in")).unwrap();
        let mut yaml = template.replace("@PORT@", &port.to_string());
        if recorder {
            yaml.push_str("recorder:\n  commit_interval: 1\n");
        }
        let ca_file = tls.then(|| {
            make_certificates(config.path(), "IP:127.0.0.1");
            yaml = yaml.replace(
                "  server_port:",
                &format!(
                    "  ssl_certificate: {0}/server.pem\n  ssl_key: {0}/server.key\n  server_port:",
                    config.path().display()
                ),
            );
            config.path().join("ca.pem")
        });
        std::fs::write(config.path().join("configuration.yaml"), yaml).unwrap();
        let scheme = if tls { "https" } else { "http" };
        let mut ha = Self {
            child: None,
            venv: venv(),
            newest_root,
            version: String::new(),
            config,
            url: format!("{scheme}://127.0.0.1:{port}"),
            token: String::new(),
            ca_file,
        };
        ha.spawn();
        ha.wait_until(|status| status == 200, "/api/onboarding");
        let mut onboard = Command::new(ha.venv.join("bin/python"));
        onboard.arg(workspace().join("tests/ha/onboard.py")).arg(&ha.url);
        if let Some(ca) = &ha.ca_file {
            onboard.env("MONZO_TRAY_HA_CA", ca);
        }
        let out = onboard.output().unwrap();
        assert!(
            out.status.success(),
            "onboarding failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        ha.token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        ha.version = ha.config_version();
        if ha.newest_root.is_some() {
            assert!(ha.at_least(2026, 11), "the newest is {}", ha.version);
        }
        ha
    }

    /// `version` from `GET /api/config`.
    fn config_version(&self) -> String {
        let mut curl = Command::new("curl");
        if let Some(ca) = &self.ca_file {
            curl.arg("--cacert").arg(ca);
        }
        let out = curl
            .args(["-s", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token))
            .arg(format!("{}/api/config", self.url))
            .output()
            .unwrap();
        let config: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("/api/config: {}", String::from_utf8_lossy(&out.stdout)));
        config["version"].as_str().unwrap().to_owned()
    }

    /// Whether this Home Assistant is `year.month` or newer.
    pub fn at_least(&self, year: u32, month: u32) -> bool {
        let mut parts = self.version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (year, month)
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(self.config.path().join("hass.out")).unwrap();
        let mut hass = match &self.newest_root {
            Some(root) => {
                let mut hass = Command::new("bash");
                hass.arg(workspace().join("tests/ha/in-chroot.sh"))
                    .arg(root)
                    .args(["/venv/bin/python3.14", "/venv/bin/hass"]);
                hass
            }
            None => Command::new(self.venv.join("bin/hass")),
        };
        let child = hass
            .args(["-c"])
            .arg(self.config.path())
            .arg("--skip-pip")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("hass starts");
        self.child = Some(child);
    }

    fn status_of(&self, path: &str) -> Option<u16> {
        let mut curl = Command::new("curl");
        if let Some(ca) = &self.ca_file {
            curl.arg("--cacert").arg(ca);
        }
        let out = curl
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token))
            .arg(format!("{}{path}", self.url))
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).parse().ok()
    }

    fn wait_until(&self, ready: impl Fn(u16) -> bool, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if self.status_of(path).is_some_and(&ready) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Home Assistant did not come up: see {}",
                self.log_path().display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.config.path().join("hass.out")
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.wait();
        }
    }

    /// Stops and starts again on the same config: the token survives, REST-made
    /// states do not.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    pub fn start_again(&mut self) {
        self.spawn();
        self.wait_until(|status| status == 200, "/api/");
    }

    /// `GET /api/states/<id>`: the state object, or `None` on 404.
    pub async fn state(&self, entity_id: &str) -> Option<Value> {
        let mut client = reqwest::Client::builder();
        if let Some(ca) = &self.ca_file {
            client = client
                .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
        }
        let reply = client
            .build()
            .unwrap()
            .get(format!("{}/api/states/{entity_id}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        match reply.status().as_u16() {
            404 => None,
            200 => Some(reply.json().await.unwrap()),
            other => panic!("GET {entity_id}: HTTP {other}"),
        }
    }
}

impl HomeAssistant {
    /// One websocket command's result (`config/device_registry/list`, …).
    pub fn websocket(&self, command: Value) -> Value {
        let out = Command::new(self.venv.join("bin/python"))
            .arg(workspace().join("tests/ha/ws.py"))
            .arg(&self.url)
            .arg(&self.token)
            .arg(command.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "websocket {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The daily points of the long-term statistic `statistic_id`
    /// (`recorder/statistics_during_period`, mean), read until there are at least
    /// `at_least` (the recorder imports in its own queue) or a minute has passed.
    pub fn daily_statistics(&self, statistic_id: &str, at_least: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let read = self.websocket(serde_json::json!({
                "type": "recorder/statistics_during_period",
                "start_time": "2015-01-01T00:00:00Z",
                "statistic_ids": [statistic_id],
                "period": "day",
                "types": ["mean"],
            }));
            let points = read[statistic_id].as_array().cloned().unwrap_or_default();
            if points.len() >= at_least || Instant::now() > deadline {
                return points;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Follows the event bus: each event of `event_type` as it comes (see
    /// `tests/ha/listen.py`); returns once subscribed.
    pub fn listen(&self, event_type: &str) -> crate::Running {
        let mut command = Command::new(self.venv.join("bin/python"));
        command
            .arg(workspace().join("tests/ha/listen.py"))
            .arg(&self.url)
            .arg(&self.token)
            .arg(event_type);
        let mut listening = crate::Running::spawn(command);
        assert_eq!(listening.next_line(Duration::from_secs(30)), "ready");
        listening
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let out = Command::new("curl")
            .args(["-s", "-X", "POST", "-H", "Content-Type: application/json", "-H"])
            .arg(format!("Authorization: Bearer {}", self.token))
            .arg("-d")
            .arg(body.to_string())
            .arg(format!("{}{path}", self.url))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("POST {path}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// Sets up the MQTT integration for the broker on 127.0.0.1:`port`, as a person
    /// does in Settings → Devices & services, through the config-flow REST API.
    pub fn set_up_mqtt(&self, port: u16) {
        let flow = self.post(
            "/api/config/config_entries/flow",
            serde_json::json!({"handler": "mqtt"}),
        );
        let flow_id = flow["flow_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no MQTT flow: {flow}"))
            .to_owned();
        let done = self.post(
            &format!("/api/config/config_entries/flow/{flow_id}"),
            if self.at_least(2026, 11) {
                // 2024.3.3's flow takes the broker and port; 2026.11's also asks for
                // the protocol and the certificate choices.
                serde_json::json!({"broker": "127.0.0.1", "port": port, "protocol": "5",
                    "other_settings": {"set_client_cert": false, "set_ca_cert": "off"}})
            } else {
                serde_json::json!({"broker": "127.0.0.1", "port": port})
            },
        );
        assert_eq!(done["type"], "create_entry", "{done}");
    }
}

/// A CA (`ca.pem`) and a server certificate (`server.pem`, `server.key`) signed by
/// it, for the subjectAltName `san` (e.g. `IP:127.0.0.1`), made with openssl.
pub fn make_certificates(dir: &Path, san: &str) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=monzo-tray test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("san.ext"), format!("subjectAltName={san}\n")).unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
}

impl Drop for HomeAssistant {
    fn drop(&mut self) {
        self.stop();
    }
}
