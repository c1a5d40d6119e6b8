//! The direct event reader against serde: whatever text it reads as an event, serde reads
//! as an equal event (the contract `parse_document` relies on to skip serde).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::input::event::RawEvent;
use nodeauthz::input::fast_event::read_event;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(fast) = read_event(text) {
        let serde: RawEvent<'_> = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("read directly, refused by serde ({e}): {text}"));
        assert_eq!(format!("{fast:?}"), format!("{serde:?}"), "{text}");
    }
});
