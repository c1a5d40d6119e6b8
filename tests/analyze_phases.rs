//! The recorded configuration of a log that spans configuration changes is inferred phase by
//! phase: the three-phase incident (RBAC only, then the legacy binding, then Node,RBAC) must
//! come out as exactly those three phases, at the boundaries `phases.json` gives, each
//! reproducing every recorded outcome of its phase (counts from `expected.json`, computed by
//! `scripts/check_fixtures.py` without the tool).

use serde_json::Value;

#[path = "support/cli.rs"]
mod cli;
use cli::{ok_json, run};

fn fixture(name: &str) -> String {
    format!(
        "{}/fixtures/incident-phases/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).expect("read fixture"))
        .expect("fixture is JSON")
}

/// `analyze --format json` of the three-phase incident at 1.19, with `extra` arguments.
fn analyze_json(extra: &[&str]) -> Value {
    let (log, objects) = (fixture("audit.log"), fixture("objects.json"));
    let mut args = vec!["analyze", &log, "--objects", &objects];
    args.extend(["--kube-version", "1.19", "--format", "json"]);
    args.extend_from_slice(extra);
    ok_json(&run(&args))
}

/// The start of the 10-second bucket holding `t` (the grid of a 30-minute log).
fn bucket_of(t: &str) -> String {
    format!("{}0.000000Z", &t[..18])
}

#[test]
fn three_phases_with_their_boundaries_and_full_agreement() {
    let doc = analyze_json(&[]);
    let phases = doc["summary"]["recorded_phases"]
        .as_array()
        .expect("recorded_phases");
    let boundaries = read_json("phases.json");
    let expected = read_json("expected.json");
    let count = |phase: &str| -> u64 {
        expected["phases"][phase]
            .as_object()
            .expect("phase counts")
            .values()
            .map(|v| v.as_u64().expect("count"))
            .sum()
    };
    let want = [
        (
            boundaries["start"].as_str().unwrap().to_string(),
            "RBAC +NodeRestriction v1.19",
            count("1"),
        ),
        (
            bucket_of(boundaries["binding_added"].as_str().unwrap()),
            "RBAC +NodeRestriction v1.19 +binding:system:node",
            count("2"),
        ),
        (
            bucket_of(boundaries["apiserver_started"].as_str().unwrap()),
            "Node,RBAC +NodeRestriction v1.19",
            count("3"),
        ),
    ];
    assert_eq!(phases.len(), want.len(), "{phases:#?}");
    for (phase, (from, configuration, n)) in phases.iter().zip(want) {
        assert_eq!(phase["from"], from.as_str());
        assert_eq!(phase["configuration"], configuration);
        assert_eq!(phase["compared"], n);
        assert_eq!(phase["agreed"], n);
    }
    assert_eq!(phases[2]["to"], boundaries["end"]);
    let agreement = &doc["summary"]["agreement"];
    assert_eq!(agreement["inferred"], true);
    assert_eq!(agreement["compared"], 3052);
    assert_eq!(agreement["agreed"], 3052);
    assert_eq!(agreement["disagreements_total"], 0);
}

#[test]
fn a_given_recorded_configuration_is_one_phase_with_its_disagreements() {
    let doc = analyze_json(&["--recorded-authorization-mode", "RBAC"]);
    assert!(doc["summary"].get("recorded_phases").is_none());
    let agreement = &doc["summary"]["agreement"];
    assert_eq!(agreement["inferred"], false);
    // Under RBAC alone, only phase 1's refusals are reproduced; every allowed request of
    // phases 2 and 3 is a disagreement.
    let expected = read_json("expected.json");
    let phase1: u64 = expected["phases"]["1"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(agreement["agreed"], phase1);
    assert_eq!(agreement["compared"], 3052);
    assert_eq!(agreement["disagreements_total"], 3052 - phase1);
}
