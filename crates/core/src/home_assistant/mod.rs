//! Home Assistant: every balance as a sensor, through its REST API.
//!
//! - [`slug`]: names to entity-id parts, like Home Assistant's `slugify`.
//! - [`entities`]: entity ids chosen once per Monzo id and remembered.
//! - [`states`]: the sensor states a snapshot calls for.
//! - [`client`]: the REST calls.
//! - [`pusher`]: only what changed, self-healing after a Home Assistant restart.

pub mod client;
pub mod entities;
pub mod link;
pub mod pusher;
pub mod slug;
pub mod states;

pub use client::HaClient;
pub use pusher::{PushReport, PushState, PushStatus, Pusher};
