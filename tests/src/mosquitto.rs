//! A real MQTT broker for tests: Debian's `mosquitto`, on 127.0.0.1 and a free port,
//! without persistence (so a restart loses retained messages, as a fresh broker
//! would), optionally with a password file or TLS. Stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Mosquitto {
    child: Option<Child>,
    dir: tempfile::TempDir,
    pub port: u16,
    /// With TLS: the CA (PEM) that signed the broker's certificate.
    pub ca_file: Option<PathBuf>,
}

fn program() -> PathBuf {
    ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("mosquitto is installed (scripts/install-deps.sh)")
}

pub enum Security<'a> {
    Anonymous,
    Password {
        user: &'a str,
        password: &'a str,
    },
    /// TLS with a certificate whose subjectAltName is `san` (e.g. `IP:127.0.0.1`).
    Tls {
        san: &'a str,
    },
}

impl Mosquitto {
    pub fn start() -> Self {
        Self::start_with(Security::Anonymous)
    }

    pub fn start_with(security: Security<'_>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut conf = format!(
            "# mosquitto drops to this user when started as root; root keeps the temp files readable\n\
             user root\npersistence false\nlog_dest stdout\nlistener {port} 127.0.0.1\n"
        );
        let mut ca_file = None;
        match security {
            Security::Anonymous => conf.push_str("allow_anonymous true\n"),
            Security::Password { user, password } => {
                let file = dir.path().join("passwords");
                let out = Command::new("mosquitto_passwd")
                    .arg("-c")
                    .arg("-b")
                    .arg(&file)
                    .args([user, password])
                    .output()
                    .expect("mosquitto_passwd runs");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                conf.push_str(&format!(
                    "allow_anonymous false\npassword_file {}\n",
                    file.display()
                ));
            }
            Security::Tls { san } => {
                crate::home_assistant::make_certificates(dir.path(), san);
                let d = dir.path().display();
                conf.push_str(&format!(
                    "allow_anonymous true\ncafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\n"
                ));
                ca_file = Some(dir.path().join("ca.pem"));
            }
        }
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut broker = Self {
            child: None,
            dir,
            port,
            ca_file,
        };
        broker.start_again();
        broker
    }

    /// `mqtt://127.0.0.1:PORT` (or `mqtts://`), with `user@` when given.
    pub fn url(&self, user: Option<&str>) -> String {
        let scheme = if self.ca_file.is_some() { "mqtts" } else { "mqtt" };
        let user = user.map(|u| format!("{u}@")).unwrap_or_default();
        format!("{scheme}://{user}127.0.0.1:{}", self.port)
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    pub fn start_again(&mut self) {
        let log = std::fs::File::create(self.log_path()).unwrap();
        let child = Command::new(program())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("mosquitto starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not come up: {}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        self.stop();
    }
}
