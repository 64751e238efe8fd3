//! A change to the settings applied to the file as it is on disk, touching only what
//! the change touched: another process's change made meanwhile, a hand edit, a value
//! this version cannot read and keys it does not know all stay as they are.

use serde_json::{Map, Value};

/// Applies to `raw` (the file as read) the difference between `before` (what this
/// version made of that file) and `after` (the same with the change made), both as
/// [`super::Settings`] serialise. Objects are patched key by key; lists of objects
/// with an `"id"` (the people) entry by entry, matched by id, so entries this version
/// could not read keep their places; anything else that changed is replaced.
pub(super) fn apply(raw: &mut Value, before: &Value, after: &Value) {
    if before == after {
        return;
    }
    match (raw, before, after) {
        (Value::Object(raw), Value::Object(before), Value::Object(after)) => {
            apply_to_object(raw, before, after)
        }
        (Value::Array(raw), Value::Array(before), Value::Array(after))
            if keyed_by_id(before) && keyed_by_id(after) =>
        {
            apply_to_entries(raw, before, after)
        }
        // "people" that was not a list: it was kept (as an entry of the list) so that
        // nothing of it is lost, and stays so beside the new entries.
        (raw, Value::Array(before), Value::Array(after)) if keyed_by_id(before) && keyed_by_id(after) => {
            let kept = raw.take();
            let mut entries = after.clone();
            if !kept.is_null() {
                entries.push(kept);
            }
            *raw = Value::Array(entries);
        }
        (raw, _, after) => *raw = after.clone(),
    }
}

fn apply_to_object(raw: &mut Map<String, Value>, before: &Map<String, Value>, after: &Map<String, Value>) {
    for (key, new) in after {
        match (before.get(key), raw.get_mut(key)) {
            (Some(old), _) if old == new => {}
            (Some(old), Some(slot)) => apply(slot, old, new),
            _ => {
                raw.insert(key.clone(), new.clone());
            }
        }
    }
    for key in before.keys() {
        if !after.contains_key(key) {
            raw.remove(key);
        }
    }
}

fn id_of(entry: &Value) -> Option<&str> {
    entry.get("id").and_then(Value::as_str)
}

fn keyed_by_id(entries: &[Value]) -> bool {
    entries.iter().all(|e| id_of(e).is_some())
}

fn apply_to_entries(raw: &mut Vec<Value>, before: &[Value], after: &[Value]) {
    let removed: Vec<&str> = before
        .iter()
        .filter_map(id_of)
        .filter(|id| !after.iter().any(|a| id_of(a) == Some(id)))
        .collect();
    // The first entry with an id is the one this version read (see `read::people`).
    let mut gone = Vec::new();
    for id in removed {
        if let Some(index) = raw.iter().position(|r| id_of(r) == Some(id)) {
            gone.push(index);
        }
    }
    gone.sort_unstable();
    for index in gone.into_iter().rev() {
        raw.remove(index);
    }
    for new in after {
        let id = id_of(new);
        let old = before.iter().find(|b| id_of(b) == id);
        match (old, raw.iter_mut().find(|r| id_of(r) == id)) {
            (Some(old), Some(slot)) => apply(slot, old, new),
            _ => raw.push(new.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patched(raw: Value, before: Value, after: Value) -> Value {
        let mut raw = raw;
        apply(&mut raw, &before, &after);
        raw
    }

    #[test]
    fn only_what_changed_is_written() {
        let raw = json!({"poll_interval_secs": "sixty", "privacy_mode": false, "theme": "teal"});
        let before = json!({"poll_interval_secs": 60, "privacy_mode": false, "theme": "teal"});
        let after = json!({"poll_interval_secs": 60, "privacy_mode": true, "theme": "teal"});
        // The unreadable interval is untouched: the change was to privacy mode.
        assert_eq!(
            patched(raw, before, after),
            json!({"poll_interval_secs": "sixty", "privacy_mode": true, "theme": "teal"})
        );
    }

    #[test]
    fn people_are_patched_by_id_and_unreadable_entries_keep_their_place() {
        let raw = json!({"people": [
            {"id": "p1", "name": "Dana", "approved_at": "yesterday", "colour": "teal"},
            {"name": "Broken"},
            {"id": "p2", "name": "Alex"},
        ]});
        let before = json!({"people": [
            {"id": "p1", "name": "Dana", "approved_at": null, "colour": "teal"},
            {"id": "p2", "name": "Alex"},
        ]});
        let after = json!({"people": [
            {"id": "p1", "name": "Dana", "approved_at": null, "colour": "teal", "notify_transactions": true},
            {"id": "p3", "name": "Sam"},
        ]});
        assert_eq!(
            patched(raw, before, after),
            json!({"people": [
                {"id": "p1", "name": "Dana", "approved_at": "yesterday", "colour": "teal", "notify_transactions": true},
                {"name": "Broken"},
                {"id": "p3", "name": "Sam"},
            ]})
        );
    }

    #[test]
    fn people_that_were_not_a_list_are_kept_beside_a_new_person() {
        let raw = json!({"people": "Dana"});
        let before = json!({"people": []});
        let after = json!({"people": [{"id": "p1", "name": "Alex"}]});
        assert_eq!(
            patched(raw, before, after),
            json!({"people": [{"id": "p1", "name": "Alex"}, "Dana"]})
        );
    }

    #[test]
    fn a_removed_key_goes_and_a_group_that_was_not_one_is_replaced() {
        let raw = json!({"home_assistant": "nonsense", "keyring": 1});
        let before = json!({"home_assistant": {"enabled": false}, "keyring": 1});
        let after = json!({"home_assistant": {"enabled": true}});
        assert_eq!(
            patched(raw, before, after),
            json!({"home_assistant": {"enabled": true}})
        );
    }
}
