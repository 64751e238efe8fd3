//! The supply-chain check (`scripts/supply-chain.sh`, cargo-deny with deny.toml): it
//! fails on a lock file holding a crate with a known advisory and passes on ours; and
//! the reasons deny.toml gives for the advisories it lets through still hold (nothing
//! in the build calls the unsound glib code; rumqttc never runs its PEM reader for us).
//! The script finds cargo-deny and the advisory database itself, exactly as
//! scripts/test.sh does.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("workspace folder")
}

fn supply_chain_check(manifest: &Path) -> Output {
    Command::new("bash")
        .arg(workspace().join("scripts/supply-chain.sh"))
        .arg("--manifest-path")
        .arg(manifest)
        .current_dir(workspace())
        .output()
        .expect("bash runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_lock_file_with_a_known_vulnerability_fails_the_check() {
    let fixture = workspace().join("tests/fixtures/supply-chain/vulnerable/Cargo.toml");
    let output = supply_chain_check(&fixture);
    let said = text(&output);
    assert!(!output.status.success(), "the check passed:\n{said}");
    // smallvec 1.6.0's buffer overflow, by its id, as the failure.
    assert!(said.contains("RUSTSEC-2021-0003"), "{said}");
    assert!(said.contains("error[vulnerability]"), "{said}");
    assert!(said.contains("advisories FAILED"), "{said}");
}

#[test]
fn todays_lock_file_passes_with_every_exception_explained() {
    let output = supply_chain_check(&workspace().join("Cargo.toml"));
    let said = text(&output);
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("advisories ok, bans ok, licenses ok, sources ok"),
        "{said}"
    );
    // Every exception still matches something: a stale one is to be removed.
    assert!(!said.contains("advisory-not-detected"), "{said}");
    assert!(!said.contains("unmatched-skip"), "{said}");
    assert!(!said.contains("license-not-encountered"), "{said}");
}

/// `cargo metadata` of the workspace, every platform's crates included.
fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace())
        .args(["metadata", "--locked", "--format-version", "1"])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON")
}

/// The source folders of the crates that depend directly on a crate named `name`,
/// and of our own crates.
fn dependents_and_ours(metadata: &serde_json::Value, name: &str) -> Vec<PathBuf> {
    let packages = metadata["packages"].as_array().expect("packages");
    let ids_of_name: Vec<&str> = packages
        .iter()
        .filter(|p| p["name"] == name)
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(!ids_of_name.is_empty(), "no {name} in the build");
    let nodes = metadata["resolve"]["nodes"].as_array().expect("resolve");
    let dependents: Vec<&str> = nodes
        .iter()
        .filter(|node| {
            node["deps"].as_array().is_some_and(|deps| {
                deps.iter()
                    .any(|d| d["pkg"].as_str().is_some_and(|id| ids_of_name.contains(&id)))
            })
        })
        .filter_map(|node| node["id"].as_str())
        .collect();
    let members = metadata["workspace_members"].as_array().expect("members");
    packages
        .iter()
        .filter(|p| {
            let id = p["id"].as_str().unwrap_or_default();
            dependents.contains(&id) || members.iter().any(|m| m == id)
        })
        .filter_map(|p| p["manifest_path"].as_str())
        .map(|manifest| Path::new(manifest).parent().expect("crate folder").to_owned())
        .collect()
}

/// Every `.rs` file under `dir` (no `target/`, not this file, which names them on
/// purpose) that contains one of `needles`.
fn files_naming(dir: &Path, needles: &[&str], found: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            files_naming(&path, needles, found);
        } else if path.extension().is_some_and(|e| e == "rs") && path != workspace().join(file!()) {
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            for needle in needles {
                if source.contains(needle) {
                    found.push(format!("{} names {needle}", path.display()));
                }
            }
        }
    }
}

/// deny.toml lets RUSTSEC-2024-0429 through because nothing calls the unsound code:
/// the advisory names `VariantStrIter`'s iterator methods, and a `VariantStrIter` is
/// made only by `Variant::array_iter_str`. No crate that depends on glib, and none
/// of ours, may name either.
#[test]
fn nothing_in_the_build_calls_glibs_unsound_variant_str_iter() {
    let metadata = metadata();
    let folders = dependents_and_ours(&metadata, "glib");
    // atk, gdk, gio, gtk, webkit2gtk, ... and our four crates.
    assert!(folders.len() > 8, "{folders:?}");
    let mut found = Vec::new();
    for folder in &folders {
        files_naming(folder, &["VariantStrIter", "array_iter_str"], &mut found);
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// deny.toml lets rustls-pemfile (unmaintained) through because rumqttc calls it only
/// to read PEM text handed over as `TlsConfiguration::Simple` (directly or through
/// `Transport::tls`); we hand it a finished rustls config instead.
#[test]
fn rumqttc_is_given_a_finished_rustls_config_never_pem_text() {
    let root = workspace();
    let mut found = Vec::new();
    for folder in ["crates/core", "crates/sandbox", "src-tauri", "tests"] {
        files_naming(
            &root.join(folder),
            &["TlsConfiguration::Simple", "Transport::tls("],
            &mut found,
        );
    }
    assert!(found.is_empty(), "{found:#?}");
    let broker = std::fs::read_to_string(root.join("crates/core/src/home_assistant/mqtt/broker.rs"))
        .expect("broker.rs");
    assert!(broker.contains("TlsConfiguration::Rustls("));
}
