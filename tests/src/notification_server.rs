//! A stand-in notification daemon (`org.freedesktop.Notifications`) on the test's
//! session bus: it records what the app shows, so tests can check notifications
//! are said once, with the right words, and without amounts in privacy mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zbus::zvariant::OwnedValue;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub summary: String,
    pub body: String,
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Shown>>>);

struct Server {
    log: Log,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        _app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut log = self.log.0.lock().unwrap();
        log.push(Shown {
            summary: summary.to_owned(),
            body: body.to_owned(),
        });
        log.len() as u32
    }

    async fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    async fn get_server_information(&self) -> (String, String, String, String) {
        ("e2e".into(), "monzo-tray tests".into(), "1".into(), "1.2".into())
    }

    async fn close_notification(&self, _id: u32) {}
}

pub struct NotificationServer {
    _connection: zbus::Connection,
    log: Log,
}

impl NotificationServer {
    pub async fn start(address: &str) -> zbus::Result<Self> {
        let log = Log::default();
        let connection = zbus::connection::Builder::address(address)?
            .name("org.freedesktop.Notifications")?
            .serve_at("/org/freedesktop/Notifications", Server { log: log.clone() })?
            .build()
            .await?;
        Ok(Self {
            _connection: connection,
            log,
        })
    }

    pub fn shown(&self) -> Vec<Shown> {
        self.log.0.lock().unwrap().clone()
    }
}
