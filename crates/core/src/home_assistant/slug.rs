//! Slugs made like Home Assistant's `slugify`: letters transliterated to ASCII,
//! lowercase, every run of anything else one `_`, trimmed. Emoji and symbols are
//! dropped, not spelled out ("Holiday ☀️" → `holiday`).

pub fn slugify(text: &str) -> String {
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            ascii.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            // "é" → "e", "ß" → "ss", "Ł" → "L"; what has no spelling becomes a gap.
            match deunicode::deunicode_char(c) {
                Some(spelled) => ascii.extend(spelled.chars().map(|c| c.to_ascii_lowercase())),
                None => ascii.push(' '),
            }
        } else {
            ascii.push(' ');
        }
    }
    let slug = ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if slug.is_empty() {
        "unknown".to_owned()
    } else {
        slug
    }
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn like_home_assistant() {
        assert_eq!(slugify("Holiday ☀️"), "holiday");
        assert_eq!(slugify("House deposit"), "house_deposit");
        assert_eq!(slugify("Current Account"), "current_account");
        assert_eq!(slugify("  Café — Ünïcode!! "), "cafe_unicode");
        assert_eq!(slugify("Straße"), "strasse");
        assert_eq!(slugify("💰🏠"), "unknown");
        assert_eq!(slugify("a__b--c"), "a_b_c");
        assert_eq!(slugify("Zoë's 2nd pot"), "zoe_s_2nd_pot");
    }
}
