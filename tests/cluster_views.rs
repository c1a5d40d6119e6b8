//! Object views: every pod reference of spec 6.3/6.5/6.6 and every PV secret reference of 6.4.

use nodeauthz::cluster::{PodView, PvView, PvcView, VolumeAttachmentView};
use serde_json::json;

fn pod(spec: serde_json::Value, status: serde_json::Value) -> PodView {
    let v = json!({"kind": "Pod", "metadata": {"name": "web", "namespace": "ns"}, "spec": spec, "status": status});
    PodView::from_value(&v).unwrap_or_else(|e| panic!("{e}"))
}

fn with_volume(volume: serde_json::Value) -> PodView {
    pod(json!({"volumes": [volume]}), json!({}))
}

fn with_container(field: &str, container: serde_json::Value) -> PodView {
    pod(json!({ field: [container] }), json!({}))
}

/// Spec 6.3, one row per field: (what, pod, secrets, config maps).
#[test]
#[rustfmt::skip]
fn every_secret_and_config_map_reference() {
    let rows: Vec<(&str, PodView, Vec<&str>, Vec<&str>)> = vec![
        ("imagePullSecrets", pod(json!({"imagePullSecrets": [{"name": "s"}]}), json!({})), vec!["s"], vec![]),
        ("envFrom.secretRef", with_container("containers", json!({"envFrom": [{"secretRef": {"name": "s"}}]})), vec!["s"], vec![]),
        ("envFrom.configMapRef", with_container("containers", json!({"envFrom": [{"configMapRef": {"name": "c"}}]})), vec![], vec!["c"]),
        ("env secretKeyRef", with_container("containers", json!({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]})), vec!["s"], vec![]),
        ("env configMapKeyRef", with_container("containers", json!({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]})), vec![], vec!["c"]),
        ("init container", with_container("initContainers", json!({"envFrom": [{"secretRef": {"name": "s"}}]})), vec!["s"], vec![]),
        ("ephemeral container", with_container("ephemeralContainers", json!({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "c"}}}]})), vec![], vec!["c"]),
        ("secret volume", with_volume(json!({"name": "v", "secret": {"secretName": "s"}})), vec!["s"], vec![]),
        ("projected secret", with_volume(json!({"name": "v", "projected": {"sources": [{"secret": {"name": "s"}}, {"configMap": {"name": "c"}}]}})), vec!["s"], vec!["c"]),
        ("azureFile", with_volume(json!({"name": "v", "azureFile": {"secretName": "s", "shareName": "x"}})), vec!["s"], vec![]),
        ("cephfs", with_volume(json!({"name": "v", "cephfs": {"monitors": ["m"], "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("cinder", with_volume(json!({"name": "v", "cinder": {"volumeID": "x", "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("flexVolume", with_volume(json!({"name": "v", "flexVolume": {"driver": "d", "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("rbd", with_volume(json!({"name": "v", "rbd": {"image": "i", "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("scaleIO", with_volume(json!({"name": "v", "scaleIO": {"gateway": "g", "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("iscsi", with_volume(json!({"name": "v", "iscsi": {"iqn": "q", "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("storageos", with_volume(json!({"name": "v", "storageos": {"volumeName": "x", "secretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("csi inline", with_volume(json!({"name": "v", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "s"}}})), vec!["s"], vec![]),
        ("configMap volume", with_volume(json!({"name": "v", "configMap": {"name": "c", "optional": true}})), vec![], vec!["c"]),
        // Not references.
        ("serviceAccountToken", with_volume(json!({"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}})), vec![], vec![]),
        ("downwardAPI", with_volume(json!({"name": "v", "downwardAPI": {"items": []}})), vec![], vec![]),
        ("clusterTrustBundle", with_volume(json!({"name": "v", "projected": {"sources": [{"clusterTrustBundle": {"name": "b", "path": "p"}}]}})), vec![], vec![]),
        ("image volume", with_volume(json!({"name": "v", "image": {"reference": "r"}})), vec![], vec![]),
        ("empty names", pod(json!({"imagePullSecrets": [{"name": ""}], "volumes": [{"name": "v", "secret": {}}]}), json!({})), vec![], vec![]),
    ];
    for (what, p, secrets, config_maps) in rows {
        assert_eq!(p.secrets, secrets, "{what}: secrets");
        assert_eq!(p.config_maps, config_maps, "{what}: config maps");
    }
}

#[test]
fn references_are_deduplicated_and_sorted() {
    let p = pod(
        json!({
            "imagePullSecrets": [{"name": "b"}, {"name": "a"}],
            "containers": [{"envFrom": [{"secretRef": {"name": "b"}}]}],
            "volumes": [{"name": "v", "secret": {"secretName": "a"}}]
        }),
        json!({}),
    );
    assert_eq!(p.secrets, vec!["a", "b"]);
}

#[test]
fn claim_and_ephemeral_volumes() {
    let p = pod(
        json!({"volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "db-data"}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}
        ]}),
        json!({}),
    );
    assert_eq!(p.claim_volumes, vec!["db-data"]);
    assert_eq!(p.ephemeral_pvcs, vec!["web-scratch"]);
    assert_eq!(p.pvcs().collect::<Vec<_>>(), vec!["db-data", "web-scratch"]);
}

/// Spec 6.5: (what, spec.resourceClaims, status, expected claims).
#[test]
#[rustfmt::skip]
fn resource_claims_by_name_and_through_status() {
    let rows = vec![
        ("by name", json!([{"name": "gpu", "resourceClaimName": "shared-gpu"}]), json!({}), vec!["shared-gpu"]),
        ("template, status names claim", json!([{"name": "gpu", "resourceClaimTemplateName": "t"}]), json!({"resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": "web-gpu-x7k2p"}]}), vec!["web-gpu-x7k2p"]),
        ("template, status entry without claim", json!([{"name": "gpu", "resourceClaimTemplateName": "t"}]), json!({"resourceClaimStatuses": [{"name": "gpu", "resourceClaimName": null}]}), vec![]),
        ("template, no status yet", json!([{"name": "gpu", "resourceClaimTemplateName": "t"}]), json!({}), vec![]),
        ("template, status for another claim", json!([{"name": "gpu", "resourceClaimTemplateName": "t"}]), json!({"resourceClaimStatuses": [{"name": "other", "resourceClaimName": "c"}]}), vec![]),
        ("neither", json!([{"name": "gpu"}]), json!({}), vec![]),
        ("1.26 source.resourceClaimName", json!([{"name": "gpu", "source": {"resourceClaimName": "old"}}]), json!({}), vec!["old"]),
        ("1.26 source template: <pod>-<claim>", json!([{"name": "gpu", "source": {"resourceClaimTemplateName": "t"}}]), json!({}), vec!["web-gpu"]),
        ("1.34 extended resource claim", json!([]), json!({"extendedResourceClaimStatus": {"resourceClaimName": "ext"}}), vec!["ext"]),
    ];
    for (what, claims, status, expected) in rows {
        let p = pod(json!({ "resourceClaims": claims }), status);
        assert_eq!(p.resource_claims, expected, "{what}");
    }
}

#[test]
fn pod_identity_fields_and_mirror_annotation() {
    let v = json!({"kind": "Pod", "metadata": {
        "name": "kube-proxy-node1", "namespace": "kube-system", "uid": "u1",
        "labels": {"k": "v"},
        "annotations": {"kubernetes.io/config.mirror": "", "other": "x"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "node1", "uid": "n-uid", "controller": true}]},
      "spec": {"nodeName": "node1", "serviceAccountName": "sa",
        "volumes": [{"name": "t", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "vault", "path": "a"}},
            {"serviceAccountToken": {"path": "b"}},
            {"clusterTrustBundle": {"signerName": "x", "path": "c"}}]}},
            {"name": "c", "csi": {"driver": "secrets-store.csi.k8s.io"}}]},
      "status": {"resourceClaimStatuses": [{"name": "a", "resourceClaimName": "b"}]}});
    let p = PodView::from_value(&v).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.mirror);
    assert_eq!(p.uid, "u1");
    assert_eq!(p.node_name, "node1");
    assert_eq!(p.service_account_name, "sa");
    assert_eq!(p.labels, vec![("k".to_string(), "v".to_string())]);
    assert_eq!(p.token_audiences, vec!["vault", ""]);
    assert!(p.cluster_trust_bundles);
    assert_eq!(p.csi_drivers, vec!["secrets-store.csi.k8s.io"]);
    assert_eq!(p.owner_references.len(), 1);
    assert_eq!(p.owner_references[0].kind, "Node");
    assert_eq!(p.owner_references[0].controller, Some(true));
    assert_eq!(p.owner_references[0].block_owner_deletion, None);
    assert_eq!(
        p.resource_claim_statuses,
        vec![("a".to_string(), Some("b".to_string()))]
    );
    // from_json reads the same thing.
    assert_eq!(PodView::from_json(&v.to_string()).ok(), Some(p));
    // Any value counts, and without the annotation it is an ordinary pod.
    let plain = PodView::from_json(r#"{"metadata":{"name":"a","annotations":{"x":"y"}}}"#);
    assert_eq!(plain.map(|p| p.mirror).ok(), Some(false));
}

fn pv(spec: serde_json::Value) -> PvView {
    PvView::from_value(
        &json!({"kind": "PersistentVolume", "metadata": {"name": "pv1"}, "spec": spec}),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// (source, expected (field, namespace, name, kubelet-visible)).
type PvRow = (
    serde_json::Value,
    Vec<(&'static str, &'static str, &'static str, bool)>,
);

/// Spec 6.4; the claimRef namespace is "claim-ns".
#[test]
#[rustfmt::skip]
fn pv_secret_references_and_namespace_rules() {
    let claim = json!({"namespace": "claim-ns", "name": "data"});
    let rows: Vec<PvRow> = vec![
        (json!({"azureFile": {"secretName": "s", "secretNamespace": "own"}}), vec![("azureFile.secretName", "own", "s", true)]),
        (json!({"azureFile": {"secretName": "s", "secretNamespace": ""}}), vec![("azureFile.secretName", "claim-ns", "s", true)]),
        (json!({"azureFile": {"secretName": "s"}}), vec![("azureFile.secretName", "claim-ns", "s", true)]),
        (json!({"cephfs": {"secretRef": {"name": "s", "namespace": "own"}}}), vec![("cephfs.secretRef", "own", "s", true)]),
        (json!({"cephfs": {"secretRef": {"name": "s"}}}), vec![("cephfs.secretRef", "claim-ns", "s", true)]),
        (json!({"cinder": {"secretRef": {"name": "s"}}}), vec![("cinder.secretRef", "", "s", true)]),
        (json!({"cinder": {"secretRef": {"name": "s", "namespace": "own"}}}), vec![("cinder.secretRef", "own", "s", true)]),
        (json!({"flexVolume": {"driver": "d", "secretRef": {"name": "s"}}}), vec![("flexVolume.secretRef", "claim-ns", "s", true)]),
        (json!({"rbd": {"secretRef": {"name": "s", "namespace": "own"}}}), vec![("rbd.secretRef", "own", "s", true)]),
        (json!({"scaleIO": {"secretRef": {"name": "s"}}}), vec![("scaleIO.secretRef", "claim-ns", "s", true)]),
        (json!({"iscsi": {"secretRef": {"name": "s"}}}), vec![("iscsi.secretRef", "claim-ns", "s", true)]),
        (json!({"storageos": {"secretRef": {"name": "s"}}}), vec![("storageos.secretRef", "", "s", true)]),
        (json!({"csi": {"driver": "d", "nodePublishSecretRef": {"name": "p", "namespace": "a"},
                "nodeStageSecretRef": {"name": "st", "namespace": "b"},
                "nodeExpandSecretRef": {"name": "ne", "namespace": "c"},
                "controllerPublishSecretRef": {"name": "cp", "namespace": "d"},
                "controllerExpandSecretRef": {"name": "ce", "namespace": "e"}}}),
         vec![("csi.controllerPublishSecretRef", "d", "cp", false),
              ("csi.controllerExpandSecretRef", "e", "ce", false),
              ("csi.nodePublishSecretRef", "a", "p", true),
              ("csi.nodeStageSecretRef", "b", "st", true),
              ("csi.nodeExpandSecretRef", "c", "ne", true)]),
        (json!({"csi": {"driver": "d", "nodeStageSecretRef": {"name": "", "namespace": "b"}}}), vec![]),
        (json!({"hostPath": {"path": "/x"}}), vec![]),
    ];
    for (source, expected) in rows {
        let mut spec = source.clone();
        spec["claimRef"] = claim.clone();
        let p = pv(spec);
        let got: Vec<(&str, &str, &str, bool)> = p.secret_refs.iter()
            .map(|r| (r.field, r.namespace.as_str(), r.name.as_str(), r.kubelet_visible))
            .collect();
        assert_eq!(got, expected, "{source}");
        assert_eq!(p.claim_ref.as_ref().map(|c| c.name.as_str()), Some("data"));
    }
}

#[test]
fn pvc_and_volume_attachment_views() {
    let pvc = PvcView::from_json(
        r#"{"metadata":{"name":"d","namespace":"n"},"spec":{"volumeName":"pv9"}}"#,
    );
    assert_eq!(pvc.map(|p| p.volume_name).ok().as_deref(), Some("pv9"));
    let va = VolumeAttachmentView::from_json(
        r#"{"metadata":{"name":"csi-1"},"spec":{"nodeName":"n1","source":{"persistentVolumeName":"pv9"}}}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (va.node_name.as_str(), va.persistent_volume_name.as_str()),
        ("n1", "pv9")
    );
    assert!(PodView::from_json(r#"{"spec": {"volumes": 3}}"#).is_err());
}
