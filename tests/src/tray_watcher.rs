//! A stand-in StatusNotifierWatcher on the test's session bus, so the app's tray
//! item registers with us, and a reader for the menu it exports over
//! `com.canonical.dbusmenu`: the tray checked from outside the process, as a
//! desktop panel would see it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zbus::message::Header;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

#[derive(Default, Clone)]
struct Registered(Arc<Mutex<Vec<(String, String)>>>);

struct Watcher {
    items: Registered,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(&self, service: &str, #[zbus(header)] header: Header<'_>) {
        let sender = header.sender().map(|s| s.to_string()).unwrap_or_default();
        // Items register either their object path (ours) or a bus name.
        let (bus, path) = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        self.items.0.lock().unwrap().push((bus, path));
    }

    async fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    async fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(b, p)| format!("{b}{p}"))
            .collect()
    }

    #[zbus(property)]
    async fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    async fn protocol_version(&self) -> i32 {
        0
    }
}

pub struct TrayWatcher {
    connection: zbus::Connection,
    items: Registered,
}

/// A dbusmenu layout node: id, properties, children (each a node in a variant).
type LayoutNode = (
    i32,
    std::collections::HashMap<String, OwnedValue>,
    Vec<OwnedValue>,
);

/// One entry of the exported menu.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuLabel {
    pub id: i32,
    pub label: String,
    pub enabled: bool,
}

impl TrayWatcher {
    /// Claims `org.kde.StatusNotifierWatcher` on the bus at `address`.
    pub async fn start(address: &str) -> zbus::Result<Self> {
        let items = Registered::default();
        let connection = zbus::connection::Builder::address(address)?
            .name("org.kde.StatusNotifierWatcher")?
            .serve_at("/StatusNotifierWatcher", Watcher { items: items.clone() })?
            .build()
            .await?;
        Ok(Self { connection, items })
    }

    /// Gives the watcher's name up, as a panel does when it quits: the desktop has
    /// no tray host any more.
    pub async fn stop(self) {
        self.connection
            .release_name("org.kde.StatusNotifierWatcher")
            .await
            .unwrap();
    }

    async fn item(&self, within: Duration) -> (String, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(item) = self.items.0.lock().unwrap().first().cloned() {
                return item;
            }
            assert!(
                Instant::now() < deadline,
                "no tray item registered with the watcher"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The menu's (bus, path), from the item's `Menu` property.
    async fn menu_path(&self, within: Duration) -> (String, OwnedObjectPath) {
        let (bus, item_path) = self.item(within).await;
        let item = zbus::Proxy::new(
            &self.connection,
            bus.clone(),
            item_path,
            "org.kde.StatusNotifierItem",
        )
        .await
        .unwrap();
        let menu: OwnedObjectPath = item.get_property("Menu").await.unwrap();
        (bus, menu)
    }

    /// Every label in the exported menu, depth first.
    pub async fn labels(&self, within: Duration) -> Vec<MenuLabel> {
        let (bus, path) = self.menu_path(within).await;
        let menu = zbus::Proxy::new(&self.connection, bus, path, "com.canonical.dbusmenu")
            .await
            .unwrap();
        let (_revision, layout): (u32, LayoutNode) = menu
            .call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .unwrap();
        let mut out = Vec::new();
        for child in layout.2 {
            collect(&child, &mut out);
        }
        out
    }

    /// Clicks the entry whose label is `label`, as a panel would.
    pub async fn click(&self, label: &str) {
        let entry = self
            .labels(Duration::from_secs(10))
            .await
            .into_iter()
            .find(|e| e.label == label)
            .unwrap_or_else(|| panic!("no menu entry {label:?}"));
        let (bus, path) = self.menu_path(Duration::from_secs(10)).await;
        let menu = zbus::Proxy::new(&self.connection, bus, path, "com.canonical.dbusmenu")
            .await
            .unwrap();
        let data = Value::from(0i32);
        let _: () = menu
            .call("Event", &(entry.id, "clicked", data, 0u32))
            .await
            .unwrap();
    }

    /// Waits until some label satisfies `wanted`, returning all labels then.
    pub async fn wait_for(&self, within: Duration, wanted: impl Fn(&[MenuLabel]) -> bool) -> Vec<MenuLabel> {
        let deadline = Instant::now() + within;
        loop {
            let labels = self.labels(within).await;
            if wanted(&labels) {
                return labels;
            }
            assert!(
                Instant::now() < deadline,
                "the tray menu never showed what was expected: {labels:#?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn collect(value: &OwnedValue, out: &mut Vec<MenuLabel>) {
    let Ok((id, props, children)) = <LayoutNode>::try_from(value.try_clone().unwrap()) else {
        return;
    };
    let text = |key: &str| {
        props
            .get(key)
            .and_then(|v| String::try_from(v.try_clone().unwrap()).ok())
    };
    let enabled = props
        .get("enabled")
        .and_then(|v| bool::try_from(v.try_clone().unwrap()).ok())
        .unwrap_or(true);
    if text("type").as_deref() != Some("separator") {
        out.push(MenuLabel {
            id,
            label: text("label").unwrap_or_default(),
            enabled,
        });
    }
    for child in &children {
        collect(child, out);
    }
}
