//! Text from outside (Monzo, Home Assistant, an MQTT broker, a hand-edited settings
//! file) made safe to show: the one rule for every string that reaches a terminal, a
//! notification or the tray.
//!
//! A pot called "Bills\nHousehold total with pots: £0.00" would add a fake line to
//! `monzo-tray status`; `ESC ]0;…BEL` would set the terminal's title, and other
//! escape sequences can move the cursor or rewrite what is on screen; a right-to-left
//! override turns the rest of a line around. So:
//!
//! - line breaks and tabs (`\n`, `\r`, `\t`, vertical tab, form feed, U+0085 NEL,
//!   U+2028 and U+2029) become a space: the text stays readable on one line;
//! - every other control character (C0, DEL, C1: ESC and BEL among them) and the
//!   Unicode bidirectional embeddings, overrides and isolates (U+202A–U+202E,
//!   U+2066–U+2069) become U+FFFD, the replacement character, so something visibly
//!   odd is left where they were.
//!
//! Everything else is kept as it is: emoji with their joiners and variation
//! selectors, accents, any script.
//!
//! [`line`] is applied where such text enters the core (names and descriptions read
//! from Monzo's replies, Monzo's and Home Assistant's error messages); [`lines`] is
//! the command line's last guard over everything it prints, keeping its own line
//! breaks.

/// What a character becomes: `None` when it is kept.
fn replacement(c: char) -> Option<char> {
    match c {
        '\n' | '\r' | '\t' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => Some(' '),
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => Some('\u{FFFD}'),
        c if c.is_control() => Some('\u{FFFD}'),
        _ => None,
    }
}

fn clean(text: &str, keep_newlines: bool) -> String {
    text.chars()
        .map(|c| match replacement(c) {
            Some(_) if keep_newlines && c == '\n' => c,
            Some(other) => other,
            None => c,
        })
        .collect()
}

/// `text` as one safe line: line breaks and tabs a space, other control characters
/// and bidirectional overrides U+FFFD (see the module's rule).
pub(crate) fn line(text: &str) -> String {
    clean(text, false)
}

/// [`line`], keeping `\n`: for text whose line breaks are our own (a whole table, a
/// JSON document), as the last guard before a terminal.
pub fn lines(text: &str) -> String {
    clean(text, true)
}

/// [`line`] for an optional string.
pub(crate) fn line_opt(text: Option<String>) -> Option<String> {
    text.map(|t| line(&t))
}

/// For `#[serde(deserialize_with)]` on a field of Monzo's replies: the string made
/// safe as it is read.
pub(crate) fn deserialize_line<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    let text: String = serde::Deserialize::deserialize(deserializer)?;
    Ok(line(&text))
}

/// [`deserialize_line`] for an optional field.
pub(crate) fn deserialize_line_opt<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    Ok(line_opt(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_become_spaces_and_controls_the_replacement_character() {
        assert_eq!(
            line("Bills\nHousehold total with pots: £0.00"),
            "Bills Household total with pots: £0.00"
        );
        assert_eq!(
            line("a\r\nb\tc\u{0B}d\u{0C}e\u{85}f\u{2028}g\u{2029}h"),
            "a  b c d e f g h"
        );
        // The terminal title, a cursor movement, a bell, a C1 CSI, DEL.
        assert_eq!(
            line("\u{1b}]0;owned\u{07}Savings"),
            "\u{FFFD}]0;owned\u{FFFD}Savings"
        );
        assert_eq!(
            line("\u{1b}[2A\u{9b}31m\u{7f}\u{0}"),
            "\u{FFFD}[2A\u{FFFD}31m\u{FFFD}\u{FFFD}"
        );
        // Trojan Source: every embedding, override and isolate.
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            assert_eq!(line(&format!("x{c}y")), "x\u{FFFD}y", "{:?}", c);
        }
    }

    #[test]
    fn everything_else_is_kept() {
        for kept in [
            "Holiday ☀️",
            "👨\u{200D}👩\u{200D}👧 Family",
            "Fête €100",
            "王伟",
            "שלום",
            "Ёлка",
            "M&S <Simply Food>",
            "",
        ] {
            assert_eq!(line(kept), kept);
        }
    }

    #[test]
    fn lines_keeps_only_newlines() {
        assert_eq!(lines("a\nb\r\n\u{1b}c"), "a\nb \n\u{FFFD}c");
    }

    #[test]
    fn replies_are_cleaned_as_they_are_read() {
        #[derive(serde::Deserialize)]
        struct Reply {
            #[serde(deserialize_with = "deserialize_line")]
            name: String,
            #[serde(default, deserialize_with = "deserialize_line_opt")]
            note: Option<String>,
        }
        let reply: Reply = serde_json::from_str(r#"{"name":"a\nb\u001b","note":"\u202eX"}"#).unwrap();
        assert_eq!(reply.name, "a b\u{FFFD}");
        assert_eq!(reply.note.as_deref(), Some("\u{FFFD}X"));
        let reply: Reply = serde_json::from_str(r#"{"name":"x","note":null}"#).unwrap();
        assert_eq!(reply.note, None);
    }
}
