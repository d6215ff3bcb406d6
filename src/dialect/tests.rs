use super::*;

#[test]
fn only_json_or_untyped_bodies_may_hold_a_dialects_shape() {
    let with = |ct: &str| {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
        may_hold_json(&h)
    };
    assert!(may_hold_json(&http::HeaderMap::new()));
    for ct in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/problem+json",
        "text/json",
        "application/vnd.microsoft.appconfig.snapshot+json; charset=utf-8",
    ] {
        assert!(with(ct), "{ct}");
    }
    for ct in [
        "text/event-stream",
        "application/octet-stream",
        "text/plain",
        "json",
        "",
    ] {
        assert!(!with(ct), "{ct}");
    }
}

#[test]
fn common_status_words_are_borrowed_and_others_copied() {
    for word in [
        "InProgress",
        "Running",
        "inProgress",
        "RUNNING",
        "Succeeded",
    ] {
        assert!(matches!(known_word(word), Cow::Borrowed(w) if w == word));
    }
    for word in ["Resizing", "inprogress", ""] {
        assert!(matches!(known_word(word), Cow::Owned(w) if w == word));
    }
}
