//! rustls-webpki 0.102's name for its error type, taken from 0.103 (the verifier
//! rustls 0.23 really uses). See Cargo.toml for why this crate exists.

pub use webpki::Error;
