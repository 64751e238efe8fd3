//! Home Assistant: every balance as a sensor, through its REST API or MQTT discovery.
//!
//! - [`slug`]: names to entity-id parts, like Home Assistant's `slugify`.
//! - [`entities`]: entity ids chosen once per Monzo id and remembered.
//! - [`states`]: the sensor states a snapshot calls for.
//! - [`client`]: the REST calls.
//! - [`pusher`]: only what changed, self-healing after a Home Assistant restart.
//! - [`mqtt`]: the other transport, MQTT discovery: entities with devices.
//! - [`link`]: either transport wired to the engine and settings.

pub mod client;
pub mod entities;
pub mod link;
pub mod mqtt;
pub mod pusher;
pub mod slug;
pub mod states;

pub use client::HaClient;
pub use pusher::{PushReport, PushState, PushStatus, Pusher};
