//! Our slugs against Home Assistant's own `homeassistant.util.slugify`, run in the
//! test venv's Home Assistant over a generated corpus: names in many scripts, with
//! accents, ligatures, currency and other symbols, emoji, HTML character references,
//! and two characters of every block of the Basic Multilingual Plane. Any name that
//! slugs differently fails the test, so a change on either side shows at once.

use std::io::Write;
use std::process::{Command, Stdio};

use monzo_tray_core::slug::slugify;
use monzo_tray_e2e::home_assistant::venv;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Words of each family the corpus mixes.
const FAMILIES: [&[&str]; 16] = [
    // Cyrillic: soft and hard signs, ё, Ukrainian letters.
    &[
        "Ольга",
        "Ёлка",
        "Пётр",
        "Подъезд",
        "Соль",
        "Юлия",
        "Щука",
        "Їжак",
        "Єва",
        "Ґанок",
        "Хрущёв",
        "Объём",
    ],
    // Greek, with accents and final sigma.
    &["Αθήνα", "Σωκράτης", "ψυχή", "Ελλάς", "ΌΛΑ", "Ϊ", "Ωμέγα"],
    // Chinese, Japanese, Korean.
    &[
        "王伟",
        "李娜",
        "東京",
        "ひらがな",
        "カタカナ",
        "貯金",
        "한국어",
        "서울",
        "ｶﾀｶﾅ",
        "旅行の貯金",
    ],
    // Arabic and Hebrew.
    &["محمد", "مدخرات", "عطلة", "שלום", "חיסכון", "ﷲ", "ﷺ"],
    // Vietnamese, with stacked marks.
    &["Tiết kiệm", "Nguyễn", "Đà Nẵng", "Phở", "Hồ Chí Minh", "Ượ"],
    // Latin with accents and ligatures.
    &[
        "Fête",
        "Straße",
        "Æsir",
        "Œuvre",
        "ﬁnance",
        "Ĳssel",
        "Ångström",
        "Łódź",
        "Çà",
        "Søren",
        "Þór",
        "Ðe",
        "ẞ",
        "naïve",
        "Zoë",
        "İstanbul",
        "ı",
    ],
    // Currency.
    &[
        "€100", "£5", "$20", "¥300", "₹50", "₽", "₿1", "¢", "₩", "₪", "฿", "₫", "₴", "₺", "€",
    ],
    // Other symbols.
    &[
        "™", "©", "®", "°C", "½", "¼", "…", "—", "–", "•", "×", "÷", "№", "℃", "§", "¶", "‰", "∞", "√", "→",
        "♥",
    ],
    // Emoji: plain, with variation selector, skin tone, joiners, flags, keycaps.
    &["💰", "☀️", "🏠", "👍🏽", "👨‍👩‍👧", "🇬🇧", "1️⃣", "🎉", "✈️", "❤️", "🐶"],
    // Apostrophes and quotes.
    &[
        "Zoë's",
        "O'Brien",
        "Dana’s",
        "ʼokina",
        "\"Quoted\"",
        "''",
        "'a'",
        "`x`",
    ],
    // Digits with separators.
    &[
        "1,000",
        "10,000,000",
        "1.5",
        "3,5",
        ",1",
        "1,",
        "2nd",
        "٣٤٥",
        "१२३",
        "１２３",
    ],
    // HTML character references, named, decimal and hexadecimal.
    &[
        "&amp;",
        "caf&eacute;",
        "&#233;t&#233;",
        "&#xE9;",
        "&#x41;&#99999999;",
        "&copy;",
        "&nbsp;",
        "&lt;b&gt;",
        "&amp;amp;",
        "&#65",
        "&unknown;",
        "&#x1F600;",
        "&#0;",
    ],
    // Spaces and invisible characters.
    &[
        "\u{a0}",
        "\t",
        "\u{200b}",
        "\u{2003}",
        "\u{feff}",
        "\u{3000}",
        "a\u{0301}",
        "e\u{0308}\u{0301}",
    ],
    // Other scripts.
    &[
        "नमस्ते",
        "ไทย",
        "Հայերեն",
        "ქართული",
        "ሰላም",
        "ᏣᎳᎩ",
        "ꓮ",
        "ᚠᚢᚦ",
        "ಕನ್ನಡ",
        "தமிழ்",
        "བོད",
        "ᠮᠣᠩ",
    ],
    // Full width, math and other astral letters.
    &[
        "ＡＢＣ",
        "ｈｅｌｌｏ",
        "𝐀𝐁𝐂",
        "𝔸",
        "𝒜",
        "🄰",
        "Ⓐ",
        "⑴",
        "㍱",
        "㎏",
        "ﬀ",
    ],
    // Plain household words.
    &[
        "Holiday",
        "House deposit",
        "Rainy day",
        "Bills",
        "Current Account",
        "Joint Account",
        "Tax",
        "New bike",
        "a__b--c",
    ],
];

/// The corpus: each family's words alone and in mixes, and two characters of every
/// 256-character block of the Basic Multilingual Plane (surrogates aside).
fn corpus() -> Vec<String> {
    let mut names: Vec<String> = FAMILIES
        .iter()
        .flat_map(|f| f.iter().map(|w| (*w).to_owned()))
        .collect();
    let mut rng = StdRng::seed_from_u64(20261129);
    let all: Vec<&str> = FAMILIES.iter().flat_map(|f| f.iter().copied()).collect();
    let joins = [" ", "-", "_", "", " & ", ", ", "'", "  ", "/"];
    for _ in 0..400 {
        let parts: Vec<&str> = (0..rng.random_range(2..5))
            .map(|_| all[rng.random_range(0..all.len())])
            .collect();
        let join = joins[rng.random_range(0..joins.len())];
        names.push(parts.join(join));
    }
    for block in (0u32..0x100).filter(|b| !(0xD8..=0xDF).contains(b)) {
        for _ in 0..2 {
            let c = char::from_u32(block * 0x100 + rng.random_range(0..0x100)).unwrap_or('?');
            names.push(format!("Pot {c} {block}"));
        }
    }
    names
}

/// Home Assistant's slug of each name, and whether the name holds a character its
/// Python's Unicode does not know yet (category `Cn`): NFKD may treat those
/// differently from ours, which knows a newer Unicode.
fn home_assistant_slugs(names: &[String]) -> Vec<(String, bool)> {
    let mut python = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import json, sys, unicodedata\nfrom homeassistant.util import slugify\nnames = json.load(sys.stdin)\nprint(json.dumps([[slugify(n), any(unicodedata.category(c) == 'Cn' for c in n)] for n in names]))",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the Home Assistant venv's python");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(names).unwrap().as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    assert!(out.status.success(), "Home Assistant's slugify failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn our_slugs_are_home_assistants_slugs() {
    let names = corpus();
    assert!(names.len() >= 500, "{} names", names.len());
    let theirs = home_assistant_slugs(&names);
    assert_eq!(theirs.len(), names.len());
    let unknown_there = theirs.iter().filter(|(_, unassigned)| *unassigned).count();
    let differ: Vec<String> = names
        .iter()
        .zip(&theirs)
        .filter(|(name, (theirs, unassigned))| !unassigned && slugify(name) != *theirs)
        .map(|(name, (theirs, _))| format!("{name:?}: ours {:?}, Home Assistant {theirs:?}", slugify(name)))
        .collect();
    println!(
        "slug corpus: {} names compared ({unknown_there} more hold characters Home Assistant's Python does not know yet), {} differ",
        names.len() - unknown_there,
        differ.len()
    );
    assert!(names.len() - unknown_there >= 500);
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        names.len(),
        differ.join("\n")
    );
}
