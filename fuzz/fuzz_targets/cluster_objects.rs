//! Arbitrary text as an objects dump (JSON or YAML, Lists, multi-document) and the graph built
//! from it: nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodeauthz::cluster::ObjectSet;
use nodeauthz::graph::build_graph;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let mut set = ObjectSet::default();
    set.load_text(std::path::Path::new("fuzz.yaml"), &s);
    let _ = build_graph(&set, &[], (0, 1));
});
