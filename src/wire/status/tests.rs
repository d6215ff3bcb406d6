use super::*;

#[test]
fn words_classify_case_insensitively_without_substrings() {
    assert_eq!(State::of("Succeeded"), State::Succeeded);
    assert_eq!(State::of("SUCCEEDED"), State::Succeeded);
    assert_eq!(State::of("completed"), State::Succeeded);
    assert_eq!(State::of("failed"), State::Failed);
    assert_eq!(State::of("Cancelled"), State::Canceled);
    assert_eq!(State::of("canceled"), State::Canceled);
    for running in [
        "PartialFailed",
        "NotSucceeded",
        "InProgress",
        "",
        "Dequeued",
    ] {
        assert_eq!(State::of(running), State::Running, "{running}");
    }
}

#[test]
fn reads_status_ps_and_errors() {
    let body = br#"{"status":"Failed","properties":{"provisioningState":"Creating"},
        "error":{"code":"Conflict","message":"busy","innererror":{"x":[1,2]}},
        "resourceLocation":"https://h/r","percentComplete":42.5}"#;
    let doc = StatusDoc::parse(body).unwrap();
    assert_eq!(doc.status.as_deref(), Some("Failed"));
    assert_eq!(doc.provisioning_state.as_deref(), Some("Creating"));
    assert_eq!(doc.resource_location.as_deref(), Some("https://h/r"));
    assert_eq!(doc.percent_complete, Some(42.5));
    assert_eq!(doc.code_and_message(), (Some("Conflict"), Some("busy")));
}

#[test]
fn capitalised_and_numeric_codes() {
    let doc = StatusDoc::parse(br#"{"Error":{"Code":409,"Message":"no"}}"#).unwrap();
    assert_eq!(doc.code_and_message(), (Some("409"), Some("no")));
    let doc = StatusDoc::parse(br#"{"CODE":"X","Message":"m"}"#).unwrap();
    assert_eq!(doc.code_and_message(), (Some("X"), Some("m")));
}

#[test]
fn dataverse_background_errors_are_the_last_fallback() {
    let body = br#"{"backgroundOperationStateCode":3,"backgroundOperationStatusCode":31,
        "backgroundOperationErrorCode":-2147220970,"backgroundOperationErrorMessage":"boom"}"#;
    let doc = StatusDoc::parse(body).unwrap();
    assert_eq!(doc.code_and_message(), (Some("-2147220970"), Some("boom")));
    // `error` and a top-level code come first.
    let both = br#"{"error":{"code":"E"},"code":"T","backgroundOperationErrorCode":1}"#;
    let doc = StatusDoc::parse(both).unwrap();
    assert_eq!(doc.code_and_message(), (Some("E"), None));
    let top = br#"{"code":"T","backgroundOperationErrorCode":1}"#;
    let doc = StatusDoc::parse(top).unwrap();
    assert_eq!(doc.code_and_message(), (Some("T"), None));
}

#[test]
fn wrong_types_count_as_absent() {
    let doc = StatusDoc::parse(
        br#"{"status":5,"provisioningState":{"a":1},"properties":[1],"error":"x"}"#,
    )
    .unwrap();
    assert_eq!(doc, StatusDoc::default());
    let doc = StatusDoc::parse(br#"{"status":null,"properties":null}"#).unwrap();
    assert_eq!(doc.status, None);
}

#[test]
fn top_level_ps_is_the_fallback() {
    let doc = StatusDoc::parse(br#"{"provisioningState":"Updating"}"#).unwrap();
    assert_eq!(doc.provisioning_state.as_deref(), Some("Updating"));
    let doc =
        StatusDoc::parse(br#"{"provisioningState":"A","properties":{"provisioningState":"B"}}"#)
            .unwrap();
    assert_eq!(doc.provisioning_state.as_deref(), Some("B"));
}

#[test]
fn escapes_and_non_objects() {
    let doc = StatusDoc::parse(br#"{"status":"Succ\u0065eded"}"#).unwrap();
    assert_eq!(State::of(doc.status.as_deref().unwrap()), State::Succeeded);
    assert!(StatusDoc::parse(b"[1]").is_err());
    assert!(StatusDoc::parse(b"not json").is_err());
    assert!(StatusDoc::parse(b"").is_err());
    assert!(StatusDoc::parse(br#"{"status":"x"} trailing"#).is_err());
    let deep = "[".repeat(10_000);
    assert!(StatusDoc::parse(format!(r#"{{"a":{deep}}}"#).as_bytes()).is_err());
}

#[test]
fn running_words() {
    assert!(is_running_word("inProgress"));
    assert!(is_running_word("NOTSTARTED"));
    assert!(!is_running_word("ready"));
}

fn recase(word: &str, mask: u64) -> String {
    word.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

proptest::proptest! {
    #[test]
    fn terminal_words_in_any_case(mask in proptest::prelude::any::<u64>()) {
        for (word, state) in [("succeeded", State::Succeeded), ("completed", State::Succeeded),
                              ("failed", State::Failed), ("canceled", State::Canceled),
                              ("cancelled", State::Canceled)] {
            proptest::prop_assert_eq!(State::of(&recase(word, mask)), state);
        }
    }

    #[test]
    fn other_words_are_running(word in "[A-Za-z]{0,16}") {
        let lower = word.to_ascii_lowercase();
        let terminal = ["succeeded", "completed", "failed", "canceled", "cancelled"].contains(&lower.as_str());
        proptest::prop_assert_eq!(State::of(&word) == State::Running, !terminal);
    }

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = StatusDoc::parse(&bytes);
    }

    #[test]
    fn status_survives_any_surrounding_json(word in "[A-Za-z ]{1,12}", pad in "[a-z]{0,8}") {
        let body = format!(r#"{{"{pad}x":[1,{{"a":null}}],"status":"{word}","properties":{{"provisioningState":"{word}"}}}}"#);
        let doc = StatusDoc::parse(body.as_bytes()).unwrap();
        // A blank word is absent (behaviour, "Status words").
        let expected = Some(word.as_str()).filter(|w| !w.trim().is_empty());
        proptest::prop_assert_eq!(doc.status.as_deref(), expected);
        proptest::prop_assert_eq!(doc.provisioning_state.as_deref(), expected);
    }
}

#[test]
fn empty_words_are_absent() {
    let doc =
        StatusDoc::parse(br#"{"status":"","properties":{"provisioningState":"  "}}"#).unwrap();
    assert_eq!((doc.status, doc.provisioning_state), (None, None));
    let doc = StatusDoc::parse(br#"{"provisioningState":"","status":"Running"}"#).unwrap();
    assert_eq!(doc.status.as_deref(), Some("Running"));
    assert_eq!(doc.provisioning_state, None);
}
