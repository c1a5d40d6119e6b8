//! YAML documents, read so that the YAML library's panics cannot escape.
//!
//! serde_norway 0.9 panics on some malformed inputs (`unexpected end of sequence`; found by
//! fuzzing with `[*d1111111z,]-e`). A user's manifest must never take the tool down, so the
//! parse runs under `catch_unwind` and a panic becomes an error for the document it hit.

use serde::Deserialize;

/// The documents of a (multi-document) YAML text, each as a JSON value or the error that
/// stopped it. After a syntax error the parser cannot resynchronise: reading stops there.
pub fn documents(text: &str) -> Vec<Result<serde_json::Value, String>> {
    let mut out = Vec::new();
    // The library's panic is expected and reported as a problem below: silence the default
    // hook's message (and backtrace) meanwhile. The hook is process-wide; objects are loaded
    // before any worker thread starts, so no other panic can be swallowed in the tool.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut last_error = String::new();
        for doc in serde_norway::Deserializer::from_str(text) {
            match serde_json::Value::deserialize(doc) {
                Ok(v) => out.push(Ok(v)),
                Err(e) => {
                    let msg = e.to_string();
                    // After a syntax error the YAML parser repeats the same error forever.
                    if msg == last_error {
                        break;
                    }
                    out.push(Err(msg.clone()));
                    last_error = msg;
                }
            }
        }
    }));
    std::panic::set_hook(hook);
    if parsed.is_err() {
        out.push(Err(
            "malformed YAML (the YAML parser gave up on this document)".into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_yaml_parser_panic_is_an_error_not_a_crash() {
        // The input the fuzzer found (fuzz/artifacts/cluster_objects).
        let docs = documents("[*d1111111z,]-e");
        assert!(matches!(docs.last(), Some(Err(_))), "{docs:?}");
    }

    #[test]
    fn documents_in_order_with_errors_in_place() {
        let docs = documents("a: 1\n---\nb: [\n");
        assert_eq!(docs[0], Ok(serde_json::json!({"a": 1})));
        assert!(docs[1].is_err());
    }
}
