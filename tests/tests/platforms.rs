//! What each platform's build is made of, read from Cargo's build graph for the
//! targets releases are built for, which this machine cannot build (Windows' MSVC;
//! macOS links against Apple's SDK): secrets in the platform's own store (the
//! Keychain on macOS, the Credential Manager on Windows, the Secret Service on
//! Linux), and the Linux-only crates (the session bus, libc) left out elsewhere.
//! Also the bundle targets each platform's Tauri config asks for, and the icons each
//! needs. scripts/platforms.sh builds and runs the Windows GNU build under Wine and
//! type-checks macOS.

use std::path::{Path, PathBuf};
use std::process::Command;

const MACOS: &str = "x86_64-apple-darwin";
const WINDOWS: &str = "x86_64-pc-windows-msvc";
const LINUX: &str = "x86_64-unknown-linux-gnu";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo tree` for `target`, one line per entry, without the tree drawing.
fn cargo_tree(target: &str, args: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(workspace())
        .args(["tree", "--locked", "--prefix", "none", "--target", target])
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree --target {target} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `keyring` features enabled for `target`, sorted.
fn keyring_features(target: &str) -> Vec<String> {
    let tree = cargo_tree(target, &["-e", "features", "-i", "keyring"]);
    let mut features: Vec<String> = tree
        .lines()
        .filter_map(|l| l.trim().strip_prefix("keyring feature \""))
        .filter_map(|l| l.split('"').next())
        .map(str::to_owned)
        .collect();
    features.sort();
    features.dedup();
    features
}

#[test]
fn macos_keeps_secrets_in_the_keychain() {
    let features = keyring_features(MACOS);
    assert!(features.contains(&"apple-native".to_owned()), "{features:?}");
    for other in ["sync-secret-service", "windows-native", "crypto-rust"] {
        assert!(
            !features.contains(&other.to_owned()),
            "{other} on macOS: {features:?}"
        );
    }
}

#[test]
fn windows_keeps_secrets_in_the_credential_manager() {
    let features = keyring_features(WINDOWS);
    assert!(features.contains(&"windows-native".to_owned()), "{features:?}");
    for other in ["sync-secret-service", "apple-native", "crypto-rust"] {
        assert!(
            !features.contains(&other.to_owned()),
            "{other} on Windows: {features:?}"
        );
    }
}

#[test]
fn linux_keeps_secrets_in_the_secret_service() {
    let features = keyring_features(LINUX);
    for wanted in ["sync-secret-service", "crypto-rust"] {
        assert!(
            features.contains(&wanted.to_owned()),
            "{wanted} missing: {features:?}"
        );
    }
    for other in ["apple-native", "windows-native"] {
        assert!(
            !features.contains(&other.to_owned()),
            "{other} on Linux: {features:?}"
        );
    }
}

#[test]
fn the_session_bus_libc_and_x11_are_direct_dependencies_on_linux_only() {
    let direct = |target: &str| -> Vec<String> {
        cargo_tree(target, &["-p", "monzo-tray", "--depth", "1", "-e", "normal"])
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    let linux = direct(LINUX);
    const LINUX_ONLY: [&str; 3] = ["zbus", "libc", "x11-dl"];
    for name in LINUX_ONLY {
        assert!(
            linux.contains(&name.to_owned()),
            "{name} missing on Linux: {linux:?}"
        );
    }
    for target in [MACOS, WINDOWS] {
        let deps = direct(target);
        for name in LINUX_ONLY {
            assert!(!deps.contains(&name.to_owned()), "{name} on {target}: {deps:?}");
        }
        assert!(deps.contains(&"tauri".to_owned()), "{deps:?}");
    }
}

/// The bundle targets a platform's config (`tauri.<platform>.conf.json`, merged over
/// `tauri.conf.json` by Tauri's CLI) asks for.
fn bundle_targets(platform: &str) -> Vec<String> {
    let path = workspace().join(format!("src-tauri/tauri.{platform}.conf.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    config["bundle"]["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no bundle targets in {}", path.display()))
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn each_platform_bundles_its_own_installers() {
    assert_eq!(bundle_targets("linux"), ["deb", "rpm"]);
    assert_eq!(bundle_targets("macos"), ["app", "dmg"]);
    assert_eq!(bundle_targets("windows"), ["msi", "nsis"]);
    // The shared config leaves the choice to each platform's.
    let shared: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("src-tauri/tauri.conf.json")).unwrap(),
    )
    .unwrap();
    assert!(shared["bundle"].get("targets").is_none(), "{}", shared["bundle"]);
}

/// The width and height a PNG says it has.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Windows' resource compiler and installers take the `.ico`, macOS's bundle the
/// `.icns`; both are listed with the PNGs, and hold the sizes each platform draws.
#[test]
fn every_platform_finds_its_icon_format_in_the_bundle() {
    let config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("src-tauri/tauri.conf.json")).unwrap(),
    )
    .unwrap();
    let icons: Vec<&str> = config["bundle"]["icon"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    for wanted in ["../icons/icon.ico", "../icons/icon.icns", "../icons/icon.png"] {
        assert!(icons.contains(&wanted), "{wanted} not in {icons:?}");
    }

    // .ico: a directory of entries (width 0 meaning 256), each a bitmap or a PNG.
    let ico = std::fs::read(workspace().join("icons/icon.ico")).unwrap();
    let le16 = |at: usize| u16::from_le_bytes(ico[at..at + 2].try_into().unwrap());
    let le32 = |at: usize| u32::from_le_bytes(ico[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!((le16(0), le16(2)), (0, 1), "an icon file");
    let mut sizes = Vec::new();
    for n in 0..usize::from(le16(4)) {
        let entry = 6 + 16 * n;
        let side = match ico[entry] {
            0 => 256,
            side => u32::from(side),
        };
        assert_eq!(ico[entry + 1], ico[entry], "square");
        let (len, offset) = (le32(entry + 8), le32(entry + 12));
        let image = &ico[offset..offset + len];
        if image.starts_with(b"\x89PNG") {
            assert_eq!(png_size(image), (side, side));
        } else {
            // A BITMAPINFOHEADER: 32 bits per pixel, colour and mask rows.
            let width = u32::from_le_bytes(image[4..8].try_into().unwrap());
            let height = u32::from_le_bytes(image[8..12].try_into().unwrap());
            assert_eq!((width, height, image[14]), (side, 2 * side, 32));
        }
        sizes.push(side);
    }
    for side in [16, 32, 48, 256] {
        assert!(sizes.contains(&side), "no {side}px layer in icon.ico: {sizes:?}");
    }

    // .icns: "icns", the whole length, then typed entries, each holding a PNG.
    let icns = std::fs::read(workspace().join("icons/icon.icns")).unwrap();
    let be32 = |at: usize| u32::from_be_bytes(icns[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(&icns[..4], b"icns");
    assert_eq!(be32(4), icns.len());
    let mut types = Vec::new();
    let mut at = 8;
    while at < icns.len() {
        let (kind, len) = (&icns[at..at + 4], be32(at + 4));
        let side = match kind {
            b"icp4" => 16,
            b"icp5" | b"ic11" => 32,
            b"ic12" => 64,
            b"ic07" => 128,
            b"ic08" | b"ic13" => 256,
            b"ic09" | b"ic14" => 512,
            other => panic!("unexpected entry {:?}", String::from_utf8_lossy(other)),
        };
        assert_eq!(png_size(&icns[at + 8..at + len]), (side, side));
        types.push(String::from_utf8_lossy(kind).into_owned());
        at += len;
    }
    assert_eq!(at, icns.len());
    for wanted in ["ic07", "ic08", "ic09", "ic13", "ic14"] {
        assert!(types.iter().any(|t| t == wanted), "{wanted} missing: {types:?}");
    }
}

#[test]
fn the_ci_workflow_runs_the_readme_test_command_on_linux_and_the_core_tests_elsewhere() {
    let read = |path: &str| std::fs::read_to_string(workspace().join(path)).unwrap();
    let workflow = read(".github/workflows/ci.yml");
    let linux = workflow
        .split("\n  linux:")
        .nth(1)
        .and_then(|rest| rest.split("\n  desktop:").next())
        .expect("a linux job");
    assert!(linux.contains("run: bash .ci/run"), "{linux}");
    assert!(read(".ci/run").contains("exec bash scripts/test.sh"));
    assert!(read("README.md").contains("scripts/test.sh    # run every test"));
    for wanted in [
        "macos-latest",
        "windows-latest",
        "cargo test --locked -p monzo-tray-core -p monzo-sandbox",
    ] {
        assert!(workflow.contains(wanted), "{wanted} missing from the workflow");
    }
}
