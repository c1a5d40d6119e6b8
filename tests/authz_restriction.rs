//! NodeRestriction, resource by resource (spec section 10).

mod authz_support;

use authz_support::{node_req, MapView};
use nodeauthz::authz::restriction::{
    is_forbidden_node_create_label, is_forbidden_node_label, Admission, NodeRestriction, Operation,
};
use nodeauthz::authz::version::{FeatureGates, KubeVersion};
use nodeauthz::authz::Attributes;
use serde_json::{json, Value};

fn plugin(version: &str, gates: Option<&str>) -> NodeRestriction {
    NodeRestriction::new(&FeatureGates::parse(KubeVersion::parse(version).unwrap(), gates).unwrap())
}

fn view() -> MapView {
    MapView::new()
        .with_node("node-a", "uid-node-a")
        .with_pod(
            "ns",
            "web-1",
            "uid-web-1",
            "node-a",
            &[("app", "web")],
            &["", "vault"],
        )
        .with_pod("ns", "web-2", "uid-web-2", "node-b", &[], &[])
        .with_slice("slice-a", "node-a")
        .with_slice("slice-b", "node-b")
}

fn deny(msg: &str) -> Admission {
    Admission::Deny {
        code: 403,
        message: msg.into(),
    }
}

fn not_found(msg: &str) -> Admission {
    Admission::Deny {
        code: 404,
        message: msg.into(),
    }
}

fn admit_with(
    p: &NodeRestriction,
    attrs: &Attributes,
    body: Option<Value>,
    authorized: bool,
) -> Admission {
    let op = Operation::from_verb(&attrs.verb).expect("mutating verb");
    p.admit(attrs, op, body.as_ref(), &view(), 0, &|_| authorized)
}

/// (description, request, body, expected)
fn check(p: &NodeRestriction, rows: Vec<(&str, Attributes, Option<Value>, Admission)>) {
    let mut failures = Vec::new();
    for (desc, attrs, body, want) in rows {
        let got = admit_with(p, &attrs, body, false);
        if got != want {
            failures.push(format!("{desc}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn r(verb: &str, group: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    node_req("node-a", verb, group, resource, ns, name)
}

fn mirror_pod(spec: Value, owners: Value) -> Value {
    json!({
        "metadata": {"name": "static-web-node-a", "namespace": "ns",
                     "annotations": {"kubernetes.io/config.mirror": "abc"}, "ownerReferences": owners},
        "spec": spec
    })
}

fn owner(extra: Value) -> Value {
    let mut o = json!({"apiVersion": "v1", "kind": "Node", "name": "node-a", "uid": "uid-node-a", "controller": true});
    if let (Some(o), Some(e)) = (o.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    json!([o])
}

/// `openssl req -new -subj "/O=system:nodes/CN=system:node:node-a"`, base64 as in the API.
const CSR_NODE_A: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlIdk1JR1dBZ0VBTURReEZUQVRCZ05WQkFvTURITjVjM1JsYlRwdWIyUmxjekViTUJrR0ExVUVBd3dTYzNsegpkR1Z0T201dlpHVTZibTlrWlMxaE1Ga3dFd1lIS29aSXpqMENBUVlJS29aSXpqMERBUWNEUWdBRTRoVlJuVDlyClpESWNTOTFZbEtxMFdXUzFNSHp3Q1p6L1JGdlZxc3V3eHp5ejg0ejg1c3IzdndET3kxN24vZ1EzWnVRQmZ3UUoKY1ZYMXVMNU5ZUnVXTHFBQU1Bb0dDQ3FHU000OUJBTUNBMGdBTUVVQ0lRQ09VdG1rZ0ZTSG5SUFBUOTRzbTZpQwplcExIYVN1bjVFYUJ1VmpiYkV4dW1RSWdMUThMWEtFZEdVT25uODlKajhJa2QySjFwdm83TURxT3VIdi9GOGVzCktrYz0KLS0tLS1FTkQgQ0VSVElGSUNBVEUgUkVRVUVTVC0tLS0tCg==";
/// The same for `system:node:node-b`.
const CSR_NODE_B: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0KTUlId01JR1dBZ0VBTURReEZUQVRCZ05WQkFvTURITjVjM1JsYlRwdWIyUmxjekViTUJrR0ExVUVBd3dTYzNsegpkR1Z0T201dlpHVTZibTlrWlMxaU1Ga3dFd1lIS29aSXpqMENBUVlJS29aSXpqMERBUWNEUWdBRVdVT1pYNTlIClh2aWJKVkVtVm9ML1RYL2NYVHFUaUJKT2FiNG5KZFkwbkt1Y1JSNm5QWGJ4TjBpZDBnWmM0T2lxdU5haW9ZS3oKL01uZFRIUWNuTFM4cGFBQU1Bb0dDQ3FHU000OUJBTUNBMGtBTUVZQ0lRQ1g1R200RnB1Mm5la0xhOHlZamlBbApQV0o4Y2tMeVhGMGtLRUQraXhYelpBSWhBUFdUWWVqZ3J4MGZxZDNHOVZhU0g4TTkrSGtTNVRHaDM0ekV2TnRKClA3TkgKLS0tLS1FTkQgQ0VSVElGSUNBVEUgUkVRVUVTVC0tLS0tCg==";

const FORBIDDEN_POD: &str = "pods \"static-web-node-a\" is forbidden: ";

#[test]
fn mirror_pod_create_rules_in_order() {
    let p = plugin("1.32", None);
    let create = || r("create", "", "pods", "ns", "");
    let ok_spec = json!({"nodeName": "node-a", "containers": [{"name": "c", "image": "nginx"}]});
    let f = |t: &str| deny(&format!("{FORBIDDEN_POD}{t}"));
    let mut no_annotation = mirror_pod(ok_spec.clone(), owner(json!({})));
    no_annotation["metadata"]["annotations"] = json!({});
    check(&p, vec![
        ("valid mirror pod", create(), Some(mirror_pod(ok_spec.clone(), owner(json!({})))), Admission::Admit),
        ("1 no mirror annotation", create(), Some(no_annotation), f("pod does not have \"kubernetes.io/config.mirror\" annotation, node \"node-a\" can only create mirror pods")),
        ("2 other node", create(), Some(mirror_pod(json!({"nodeName": "node-b"}), owner(json!({})))), f("node \"node-a\" can only create pods with spec.nodeName set to itself")),
        ("3 two owners", create(), Some(mirror_pod(ok_spec.clone(), json!([{}, {}]))), f("node \"node-a\" can only create pods with a single owner reference set to itself")),
        ("4 no owner", create(), Some(mirror_pod(ok_spec.clone(), json!([]))), f("node \"node-a\" can only create pods with an owner reference set to itself")),
        ("5 owner is another node", create(), Some(mirror_pod(ok_spec.clone(), owner(json!({"name": "node-b"})))), f("node \"node-a\" can only create pods with an owner reference set to itself")),
        ("5 owner is not a Node", create(), Some(mirror_pod(ok_spec.clone(), owner(json!({"kind": "ReplicaSet"})))), f("node \"node-a\" can only create pods with an owner reference set to itself")),
        ("6 not controller", create(), Some(mirror_pod(ok_spec.clone(), owner(json!({"controller": false})))), f("node \"node-a\" can only create pods with a controller owner reference set to itself")),
        ("7 blockOwnerDeletion", create(), Some(mirror_pod(ok_spec.clone(), owner(json!({"blockOwnerDeletion": true})))), f("node \"node-a\" must not set blockOwnerDeletion on an owner reference")),
        ("8 uid mismatch", create(), Some(mirror_pod(ok_spec.clone(), owner(json!({"uid": "stale"})))), f("node node-a UID mismatch: expected stale got uid-node-a")),
        ("9 service account", create(), Some(mirror_pod(json!({"nodeName": "node-a", "serviceAccountName": "default"}), owner(json!({})))), f("node \"node-a\" can not create pods that reference a service account")),
        ("10 image pull secret", create(), Some(mirror_pod(json!({"nodeName": "node-a", "imagePullSecrets": [{"name": "reg"}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference secrets")),
        ("10 env secret in init container", create(), Some(mirror_pod(json!({"nodeName": "node-a", "initContainers": [{"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference secrets")),
        ("10 csi nodePublishSecretRef", create(), Some(mirror_pod(json!({"nodeName": "node-a", "volumes": [{"name": "v", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "s"}}}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference secrets")),
        ("11 configmap volume", create(), Some(mirror_pod(json!({"nodeName": "node-a", "volumes": [{"name": "v", "configMap": {"name": "c"}}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference configmaps")),
        ("11 envFrom configmap", create(), Some(mirror_pod(json!({"nodeName": "node-a", "containers": [{"envFrom": [{"configMapRef": {"name": "c"}}]}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference configmaps")),
        ("12 cluster trust bundle", create(), Some(mirror_pod(json!({"nodeName": "node-a", "volumes": [{"name": "v", "projected": {"sources": [{"clusterTrustBundle": {"name": "b", "path": "p"}}]}}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference clustertrustbundles")),
        ("13 pvc", create(), Some(mirror_pod(json!({"nodeName": "node-a", "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]}), owner(json!({})))), f("node \"node-a\" can not create pods that reference persistentvolumeclaims")),
        ("ephemeral volume not checked", create(), Some(mirror_pod(json!({"nodeName": "node-a", "volumes": [{"name": "v", "ephemeral": {}}]}), owner(json!({})))), Admission::Admit),
        ("service account token projection is not a secret", create(), Some(mirror_pod(json!({"nodeName": "node-a", "volumes": [{"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]}), owner(json!({})))), Admission::Admit),
        ("no body", create(), None, Admission::Unknown("the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the mirror-pod checks".into())),
    ]);
    let unknown_node = MapView {
        unknown_nodes: ["node-a".to_string()].into(),
        ..view()
    };
    let got = p.admit(
        &create(),
        Operation::Create,
        Some(&mirror_pod(ok_spec.clone(), owner(json!({})))),
        &unknown_node,
        0,
        &|_| false,
    );
    assert_eq!(
        got,
        Admission::Unknown("node node-a not in the inputs".into())
    );
    let no_node = MapView::new();
    let got = p.admit(
        &create(),
        Operation::Create,
        Some(&mirror_pod(ok_spec, owner(json!({})))),
        &no_node,
        0,
        &|_| false,
    );
    assert_eq!(got, not_found("node \"node-a\" not found"));
}

#[test]
fn pods_delete_update_status_eviction() {
    let p = plugin("1.32", None);
    check(&p, vec![
        ("delete own pod", r("delete", "", "pods", "ns", "web-1"), None, Admission::Admit),
        ("delete other node's pod", r("delete", "", "pods", "ns", "web-2"), None, deny("pods \"web-2\" is forbidden: node \"node-a\" can only delete pods with spec.nodeName set to itself")),
        ("delete missing pod (storage NotFound before admission)", r("delete", "", "pods", "ns", "gone"), None, not_found("pods \"gone\" not found")),
        ("update pod", r("update", "", "pods", "ns", "web-1"), Some(json!({})), deny("pods \"web-1\" is forbidden: unexpected operation \"UPDATE\", node \"node-a\" can only create and delete mirror pods")),
        ("patch own status", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"status": {"phase": "Running"}})), Admission::Admit),
        ("patch status keeping labels", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"metadata": {"labels": {"app": "web"}}})), Admission::Admit),
        ("patch status changing labels", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"metadata": {"labels": {"app": "db"}}})), deny("pods \"web-1\" is forbidden: node \"node-a\" cannot update labels through pod status")),
        ("put status dropping labels", r("update", "", "pods/status", "ns", "web-1"), Some(json!({"metadata": {"name": "web-1"}, "status": {}})), deny("pods \"web-1\" is forbidden: node \"node-a\" cannot update labels through pod status")),
        ("patch other node's pod status", r("patch", "", "pods/status", "ns", "web-2"), None, deny("pods \"web-2\" is forbidden: node \"node-a\" can only update pod status for pods with spec.nodeName set to itself")),
        ("patch status of missing pod", r("patch", "", "pods/status", "ns", "gone"), None, not_found("pods \"gone\" not found")),
        ("status patch without body", r("patch", "", "pods/status", "ns", "web-1"), None, Admission::Unknown("the log has no requestObject (the audit level is below Request, or the request was refused before its body was read); needed for the label and resource-claim checks of pods/status".into())),
        ("status patch touching claims", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"status": {"resourceClaimStatuses": []}})), Admission::Unknown("the request sets status.resourceClaimStatuses; the stored statuses are not known".into())),
        ("evict own pod", r("create", "", "pods/eviction", "ns", "web-1"), None, Admission::Admit),
        ("evict other node's pod", r("create", "", "pods/eviction", "ns", "web-2"), None, deny("pods \"web-2\" is forbidden: node node-a can only evict pods with spec.nodeName set to itself")),
        ("evict missing pod", r("create", "", "pods/eviction", "ns", "gone"), None, not_found("pod \"gone\" not found")),
        ("ephemeral containers", r("patch", "", "pods/ephemeralcontainers", "ns", "web-1"), None, deny("pods \"web-1\" is forbidden: unexpected pod subresource \"ephemeralcontainers\", only 'status' and 'eviction' are allowed")),
        ("binding", r("create", "", "pods/binding", "ns", "web-1"), None, deny("pods \"web-1\" is forbidden: unexpected pod subresource \"binding\", only 'status' and 'eviction' are allowed")),
        ("exec is CONNECT", r("create", "", "pods/exec", "ns", "web-1"), None, Admission::NotApplicable),
    ]);
}

#[test]
fn nodes() {
    let p = plugin("1.32", None);
    let node =
        |labels: Value| json!({"metadata": {"name": "node-a", "labels": labels}, "spec": {}});
    check(&p, vec![
        ("register own node", r("create", "", "nodes", "", ""), Some(node(json!({"kubernetes.io/hostname": "node-a", "node.kubernetes.io/exclude-from-external-load-balancers": "", "topology.kubernetes.io/zone": "z", "example.com/x": "y"}))), Admission::Admit),
        ("register another node", r("create", "", "nodes", "", ""), Some(json!({"metadata": {"name": "node-b"}})), deny("nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\"")),
        ("register with configSource", r("create", "", "nodes", "", ""), Some(json!({"metadata": {"name": "node-a"}, "spec": {"configSource": {"configMap": {}}}})), deny("nodes \"node-a\" is forbidden: node \"node-a\" is not allowed to create pods with a non-nil configSource")),
        ("register with forbidden labels", r("create", "", "nodes", "", ""), Some(node(json!({"node-role.kubernetes.io/master": "", "foo.node-restriction.kubernetes.io/x": "1", "k8s.io/a": "b", "kubernetes.io/hostname": "node-a"}))), deny("nodes \"node-a\" is forbidden: node \"node-a\" is not allowed to set the following labels: foo.node-restriction.kubernetes.io/x, k8s.io/a, node-role.kubernetes.io/master")),
        ("patch own status", r("patch", "", "nodes/status", "", "node-a"), Some(json!({"status": {"conditions": []}, "$setElementOrder/conditions": []})), Admission::Admit),
        ("patch other node", r("patch", "", "nodes/status", "", "node-b"), Some(json!({})), deny("nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\"")),
        ("patch allowed label", r("patch", "", "nodes", "", "node-a"), Some(json!({"metadata": {"labels": {"example.com/x": "z"}}})), Admission::Admit),
        ("patch forbidden label", r("patch", "", "nodes", "", "node-a"), Some(json!({"metadata": {"labels": {"node-role.kubernetes.io/worker": ""}}})), Admission::Unknown("the patch sets the restricted labels node-role.kubernetes.io/worker; whether they change the stored values is not known".into())),
        ("patch taints", r("patch", "", "nodes", "", "node-a"), Some(json!({"spec": {"taints": []}})), Admission::Unknown("the patch touches spec.taints; whether they differ from the stored taints is not known".into())),
        ("full update", r("update", "", "nodes", "", "node-a"), Some(node(json!({}))), Admission::Unknown("a full Node update is compared with the stored Node (taints, labels, configSource), which the inputs lack".into())),
        ("delete own node", r("delete", "", "nodes", "", "node-a"), None, Admission::Admit),
        ("delete other node", r("delete", "", "nodes", "", "node-b"), None, deny("nodes \"node-b\" is forbidden: node \"node-a\" is not allowed to modify node \"node-b\"")),
    ]);
    let v = KubeVersion::new(1, 16);
    assert!(is_forbidden_node_label("topology.kubernetes.io/zone", v));
    assert!(!is_forbidden_node_label(
        "topology.kubernetes.io/zone",
        KubeVersion::new(1, 17)
    ));
    assert!(!is_forbidden_node_label("kubelet.kubernetes.io/x", v));
    assert!(!is_forbidden_node_label("a.node.kubernetes.io/x", v));
    assert!(!is_forbidden_node_label("plain", v));
}

#[test]
fn pvcs() {
    let p = plugin("1.32", None);
    let old = plugin("1.31", None);
    let status = || r("patch", "", "persistentvolumeclaims/status", "ns", "data");
    check(&p, vec![
        ("capacity and conditions", status(), Some(json!({"status": {"capacity": {"storage": "2Gi"}, "conditions": []}})), Admission::Admit),
        ("allocatedResources with RecoverVolumeExpansionFailure (on in 1.32)", status(), Some(json!({"status": {"allocatedResources": {"storage": "2Gi"}}})), Admission::Admit),
        ("phase", status(), Some(json!({"status": {"phase": "Bound"}})), Admission::Unknown("the update may change PVC fields other than status.capacity and status.conditions; the stored PVC is not known".into())),
        ("create status", r("create", "", "persistentvolumeclaims/status", "ns", "data"), None, deny("persistentvolumeclaims \"data\" is forbidden: unexpected operation \"CREATE\"")),
        ("update pvc", r("update", "", "persistentvolumeclaims", "ns", "data"), None, deny("persistentvolumeclaims \"data\" is forbidden: may only update PVC status")),
        ("create pvc", r("create", "", "persistentvolumeclaims", "ns", ""), Some(json!({"metadata": {"generateName": "data-"}})), deny("persistentvolumeclaims \"data-\" is forbidden: may only update PVC status")),
    ]);
    check(&old, vec![(
        "allocatedResources with the gate off (1.31)",
        status(),
        Some(json!({"status": {"allocatedResources": {"storage": "2Gi"}}})),
        Admission::Unknown("the update may change PVC fields other than status.capacity and status.conditions; the stored PVC is not known".into()),
    )]);
}

#[test]
fn service_account_tokens() {
    let p = plugin("1.32", None);
    let tok = || r("create", "", "serviceaccounts/token", "ns", "default");
    let tr = |bound: Value| json!({"spec": {"boundObjectRef": bound}});
    let f = |t: &str| deny(&format!("serviceaccounts \"default\" is forbidden: {t}"));
    check(&p, vec![
        ("bound to own pod", tok(), Some(tr(json!({"apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": "uid-web-1"}))), Admission::Admit),
        ("unbound", tok(), Some(json!({"spec": {}})), f("node requested token not bound to a pod")),
        ("bound to a secret", tok(), Some(tr(json!({"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "u"}))), f("node requested token not bound to a pod")),
        ("no uid", tok(), Some(tr(json!({"apiVersion": "v1", "kind": "Pod", "name": "web-1"}))), f("node requested token with a pod binding without a uid")),
        ("missing pod", tok(), Some(tr(json!({"apiVersion": "v1", "kind": "Pod", "name": "gone", "uid": "u"}))), not_found("pod \"gone\" not found")),
        ("stale uid", tok(), Some(tr(json!({"apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": "old"}))), f("the UID in the bound object reference (old) does not match the UID in record. The object might have been deleted and then recreated")),
        ("other node's pod", tok(), Some(tr(json!({"apiVersion": "v1", "kind": "Pod", "name": "web-2", "uid": "uid-web-2"}))), f("node requested token bound to a pod scheduled on a different node")),
        ("get sa passes", r("update", "", "serviceaccounts", "ns", "default"), None, Admission::Admit),
    ]);
    // 1.33: audiences checked by default.
    let p133 = plugin("1.33", None);
    let with_aud = |auds: Value| json!({"spec": {"audiences": auds, "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": "uid-web-1"}}});
    check(&p133, vec![
        ("no audience, projected default", tok(), Some(with_aud(json!([]))), Admission::Admit),
        ("referenced audience", tok(), Some(with_aud(json!(["vault"]))), Admission::Admit),
        ("two audiences", tok(), Some(with_aud(json!(["a", "b"]))), f("node may only request 0 or 1 audiences")),
        ("unreferenced audience", tok(), Some(with_aud(json!(["aws"]))), Admission::Unknown("audience \"aws\" is not referenced by a projected serviceAccountToken of the pod and the node is not authorized for it; a CSI driver's spec.tokenRequests may still reference it (not modelled)".into())),
    ]);
    let granted = admit_with(&p133, &tok(), Some(with_aud(json!(["aws"]))), true);
    assert_eq!(granted, Admission::Admit);
    // 1.32 default: the audience is not checked.
    assert_eq!(
        admit_with(&p, &tok(), Some(with_aud(json!(["a", "b"]))), false),
        Admission::Admit
    );
}

#[test]
fn leases_csinodes_slices_csrs() {
    let p = plugin("1.32", None);
    let lease =
        |verb: &str, ns: &str, name: &str| r(verb, "coordination.k8s.io", "leases", ns, name);
    let named = |n: &str| Some(json!({"metadata": {"name": n}}));
    check(&p, vec![
        ("create own lease", lease("create", "kube-node-lease", ""), named("node-a"), Admission::Admit),
        ("create other lease", lease("create", "kube-node-lease", ""), named("node-b"), deny("leases.coordination.k8s.io \"node-b\" is forbidden: can only access node lease with the same name as the requesting node")),
        ("update other lease", lease("update", "kube-node-lease", "node-b"), None, deny("leases.coordination.k8s.io \"node-b\" is forbidden: can only access node lease with the same name as the requesting node")),
        ("lease elsewhere", lease("update", "default", "node-a"), None, deny("leases.coordination.k8s.io \"node-a\" is forbidden: can only access leases in the \"kube-node-lease\" system namespace")),
        ("create own csinode", r("create", "storage.k8s.io", "csinodes", "", ""), named("node-a"), Admission::Admit),
        ("create other csinode", r("create", "storage.k8s.io", "csinodes", "", ""), named("node-b"), deny("csinodes.storage.k8s.io \"node-b\" is forbidden: can only access CSINode with the same name as the requesting node")),
        ("delete other csinode", r("delete", "storage.k8s.io", "csinodes", "", "node-b"), None, deny("csinodes.storage.k8s.io \"node-b\" is forbidden: can only access CSINode with the same name as the requesting node")),
        ("create own slice", r("create", "resource.k8s.io", "resourceslices", "", ""), Some(json!({"metadata": {"generateName": "node-a-gpu-"}, "spec": {"nodeName": "node-a"}})), Admission::Admit),
        ("create other slice", r("create", "resource.k8s.io", "resourceslices", "", ""), Some(json!({"metadata": {"generateName": "node-b-gpu-"}, "spec": {"nodeName": "node-b"}})), deny("resourceslices.resource.k8s.io \"node-b-gpu-\" is forbidden: can only create ResourceSlice with the same NodeName as the requesting node")),
        ("delete own slice", r("delete", "resource.k8s.io", "resourceslices", "", "slice-a"), None, Admission::Admit),
        ("delete other slice", r("delete", "resource.k8s.io", "resourceslices", "", "slice-b"), None, deny("resourceslices.resource.k8s.io \"slice-b\" is forbidden: can only delete ResourceSlice with the same NodeName as the requesting node")),
        ("deletecollection slices", r("deletecollection", "resource.k8s.io", "resourceslices", "", ""), None, Admission::Unknown("deletecollection is admitted item by item and the log does not name the items".into())),
        ("update slice passes", r("update", "resource.k8s.io", "resourceslices", "", "slice-b"), None, Admission::Admit),
        ("events pass", r("create", "", "events", "ns", ""), None, Admission::Admit),
        ("csr of another signer", r("create", "certificates.k8s.io", "certificatesigningrequests", "", ""), Some(json!({"spec": {"signerName": "example.com/x", "request": ""}})), Admission::Admit),
        ("kubelet serving csr for itself", r("create", "certificates.k8s.io", "certificatesigningrequests", "", ""), Some(json!({"metadata": {"generateName": "csr-"}, "spec": {"signerName": "kubernetes.io/kubelet-serving", "request": CSR_NODE_A}})), Admission::Admit),
        ("kubelet client csr for another node", r("create", "certificates.k8s.io", "certificatesigningrequests", "", ""), Some(json!({"metadata": {"generateName": "csr-"}, "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet", "request": CSR_NODE_B}})), deny("certificatesigningrequests.certificates.k8s.io \"csr-\" is forbidden: can only create a node CSR with CN=system:node:node-a")),
        ("kubelet csr that is not PEM", r("create", "certificates.k8s.io", "certificatesigningrequests", "", ""), Some(json!({"metadata": {"name": "x"}, "spec": {"signerName": "kubernetes.io/kubelet-serving", "request": "aGVsbG8="}})), deny("certificatesigningrequests.certificates.k8s.io \"x\" is forbidden: unable to parse csr: PEM block type must be CERTIFICATE REQUEST")),
    ]);
    // Before 1.31 NodeRestriction had no ResourceSlice checks (they came with kubelet's
    // deletecollection of its slices, kubernetes PR 125163 / issue 125355).
    check(
        &plugin("1.30", None),
        vec![(
            "1.30 create other slice",
            r("create", "resource.k8s.io", "resourceslices", "", ""),
            Some(json!({"spec": {"nodeName": "node-b"}})),
            Admission::Admit,
        )],
    );
    // AllowInsecureKubeletCertificateSigningRequests skips the CSR check; before 1.31 it did not exist.
    let csr = Some(
        json!({"spec": {"signerName": "kubernetes.io/kubelet-serving", "request": CSR_NODE_B}}),
    );
    let r_csr = r(
        "create",
        "certificates.k8s.io",
        "certificatesigningrequests",
        "",
        "",
    );
    check(
        &plugin(
            "1.32",
            Some("AllowInsecureKubeletCertificateSigningRequests=true"),
        ),
        vec![(
            "insecure allowed",
            r_csr.clone(),
            csr.clone(),
            Admission::Admit,
        )],
    );
    check(
        &plugin("1.30", None),
        vec![("1.30", r_csr, csr, Admission::Admit)],
    );
}

#[test]
fn identities() {
    let p = plugin("1.32", None);
    let mut not_node = r("delete", "", "pods", "ns", "web-2");
    not_node.groups = vec![];
    let mut empty = r("delete", "", "pods", "ns", "web-2");
    empty.username = "system:node:".into();
    check(&p, vec![
        ("not a node", not_node, None, Admission::NotApplicable),
        ("empty node name", empty, None, deny("pods \"web-2\" is forbidden: could not determine node from user \"system:node:\"")),
    ]);
}

#[test]
fn csr_parsing_never_panics_on_truncated_input() {
    use nodeauthz::authz::csr::{csr_common_name, CsrError};
    assert_eq!(
        csr_common_name(CSR_NODE_A).as_deref(),
        Ok("system:node:node-a")
    );
    assert_eq!(csr_common_name(""), Err(CsrError::NotPem));
    assert_eq!(csr_common_name("!!"), Err(CsrError::NotPem));
    // The last base64 quantum ("Cg==") only carries the newline after the END line: cutting
    // into it keeps a complete PEM block; any shorter prefix loses the END line.
    let full = CSR_NODE_A.len() - 4;
    for n in 0..CSR_NODE_A.len() {
        let want = if n >= full {
            Ok("system:node:node-a".to_string())
        } else {
            Err(CsrError::NotPem)
        };
        assert_eq!(
            csr_common_name(&CSR_NODE_A[..n]),
            want,
            "prefix of {n} characters"
        );
    }
    // A PEM block whose DER is cut short is Undecodable, not a panic.
    let pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIBFjCBvgIBADA0MRUwEwYDVQQKDAxzeXN0ZW\n-----END CERTIFICATE REQUEST-----\n";
    let b64 = base64_encode(pem.as_bytes());
    assert_eq!(csr_common_name(&b64), Err(CsrError::Undecodable));
}

fn base64_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The objects of upstream `Test_nodePlugin_Admit` (`admission_test.go`): node `mynode`
/// (UID `mynode-uid`) and the pods `makeTestPod` builds, all with UID `pod-uid`.
fn upstream_view() -> MapView {
    let pod =
        |v: MapView, name: &str, node: &str| v.with_pod("ns", name, "pod-uid", node, &[], &[]);
    let v = MapView::new().with_node("mynode", "mynode-uid");
    let v = pod(v, "mymirrorpod", "mynode");
    let v = pod(v, "othermirrorpod", "othernode");
    let v = pod(v, "unboundmirrorpod", "");
    let v = pod(v, "mypod", "mynode");
    let v = pod(v, "otherpod", "othernode");
    pod(v, "unboundpod", "")
}

/// `makeTestPod(ns, name, node, mirror)`: a mirror pod carries the valid owner reference.
fn upstream_pod(name: &str, node: &str, mirror: bool) -> Value {
    let mut pod = json!({"metadata": {"name": name, "namespace": "ns", "uid": "pod-uid"}, "spec": {"nodeName": node}});
    if mirror {
        pod["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "true"});
        pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "Node", "name": node, "uid": format!("{node}-uid"), "controller": true}]);
    }
    pod
}

/// Upstream's test asserts `strings.Contains(err, want)`; rows here keep that form and add
/// the exact message where the model has all of it.
enum Want {
    Admit,
    Contains(&'static str),
    Exact(u16, &'static str),
}

fn check_upstream(p: &NodeRestriction, rows: Vec<(&str, Attributes, Option<Value>, Want)>) {
    let view = upstream_view();
    let mut failures = Vec::new();
    for (desc, attrs, body, want) in rows {
        let op = Operation::from_verb(&attrs.verb).expect("mutating verb");
        let got = p.admit(&attrs, op, body.as_ref(), &view, 0, &|_| false);
        let ok = match (&want, &got) {
            (Want::Admit, Admission::Admit) => true,
            (Want::Contains(s), Admission::Deny { message, .. }) => message.contains(s),
            (Want::Exact(c, s), Admission::Deny { code, message }) => code == c && message == s,
            _ => false,
        };
        if !ok {
            let want = match want {
                Want::Admit => "admit".to_string(),
                Want::Contains(s) => format!("deny containing {s:?}"),
                Want::Exact(c, s) => format!("{c} {s:?}"),
            };
            failures.push(format!("{desc}: want {want}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn my(verb: &str, resource: &str, ns: &str, name: &str) -> Attributes {
    node_req("mynode", verb, "", resource, ns, name)
}

/// Ported from upstream `Test_nodePlugin_Admit` (admission_test.go, the copy with the
/// ServiceAccountNodeAudienceRestriction cases): pods, evictions, nodes, tokens. Row names are
/// upstream's.
#[test]
fn upstream_test_node_plugin_admit() {
    use Want::*;
    let p = plugin("1.32", None);
    let evict = |name: &str| Some(json!({"metadata": {"name": name, "namespace": "ns"}}));
    let sa_token = |pod: &str, uid: &str| {
        Some(
            json!({"spec": {"audiences": ["foo"], "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": pod, "uid": uid}}}),
        )
    };
    let tok = || my("create", "serviceaccounts/token", "ns", "mysa");
    let mynode_obj = |labels: Value| json!({"metadata": {"name": "mynode", "uid": "mynode-uid", "labels": labels}, "spec": {}});
    let forbidden_create_labels = json!({"node-restriction.kubernetes.io/foo": "value", "foo.node-restriction.kubernetes.io/foo": "value", "other.kubernetes.io/foo": "value", "other.k8s.io/foo": "value"});
    let allowed_labels = json!({"foo": "value", "example.com/foo": "value", "kubernetes.io/hostname": "value",
        "failure-domain.beta.kubernetes.io/zone": "value", "failure-domain.beta.kubernetes.io/region": "value",
        "topology.kubernetes.io/zone": "value", "topology.kubernetes.io/region": "value",
        "beta.kubernetes.io/instance-type": "value", "node.kubernetes.io/instance-type": "value",
        "beta.kubernetes.io/os": "value", "beta.kubernetes.io/arch": "value", "kubernetes.io/os": "value", "kubernetes.io/arch": "value",
        "kubelet.kubernetes.io/foo": "value", "foo.kubelet.kubernetes.io/foo": "value", "node.kubernetes.io/foo": "value", "foo.node.kubernetes.io/foo": "value"});
    check_upstream(&p, vec![
        // Mirror pods bound to us
        ("allow creating a mirror pod bound to self", my("create", "pods", "ns", "mymirrorpod"), Some(upstream_pod("mymirrorpod", "mynode", true)), Admit),
        ("forbid update of mirror pod bound to self", my("update", "pods", "ns", "mymirrorpod"), Some(upstream_pod("mymirrorpod", "mynode", true)), Exact(403, "pods \"mymirrorpod\" is forbidden: unexpected operation \"UPDATE\", node \"mynode\" can only create and delete mirror pods")),
        ("allow delete of mirror pod bound to self", my("delete", "pods", "ns", "mymirrorpod"), None, Admit),
        ("forbid create of mirror pod status bound to self", my("create", "pods/status", "ns", "mymirrorpod"), Some(upstream_pod("mymirrorpod", "mynode", true)), Exact(403, "pods \"mymirrorpod\" is forbidden: unexpected operation \"CREATE\"")),
        ("allow update of mirror pod status bound to self", my("update", "pods/status", "ns", "mymirrorpod"), Some(upstream_pod("mymirrorpod", "mynode", true)), Admit),
        ("forbid delete of mirror pod status bound to self", my("delete", "pods/status", "ns", "mymirrorpod"), None, Exact(403, "pods \"mymirrorpod\" is forbidden: unexpected operation \"DELETE\"")),
        ("allow create of eviction for mirror pod bound to self", my("create", "pods/eviction", "ns", "mymirrorpod"), evict("mymirrorpod"), Admit),
        ("forbid update of eviction for mirror pod bound to self", my("update", "pods/eviction", "ns", "mymirrorpod"), evict("mymirrorpod"), Exact(403, "pods \"mymirrorpod\" is forbidden: unexpected operation UPDATE")),
        ("forbid delete of eviction for mirror pod bound to self", my("delete", "pods/eviction", "ns", "mymirrorpod"), None, Exact(403, "pods \"mymirrorpod\" is forbidden: unexpected operation DELETE")),
        ("allow create of unnamed eviction for mirror pod bound to self", my("create", "pods/eviction", "ns", "mymirrorpod"), evict(""), Admit),
        // Mirror pods bound to another node
        ("forbid creating a mirror pod bound to another", my("create", "pods", "ns", "othermirrorpod"), Some(upstream_pod("othermirrorpod", "othernode", true)), Exact(403, "pods \"othermirrorpod\" is forbidden: node \"mynode\" can only create pods with spec.nodeName set to itself")),
        ("forbid delete of mirror pod bound to another", my("delete", "pods", "ns", "othermirrorpod"), None, Exact(403, "pods \"othermirrorpod\" is forbidden: node \"mynode\" can only delete pods with spec.nodeName set to itself")),
        ("forbid update of mirror pod status bound to another", my("update", "pods/status", "ns", "othermirrorpod"), Some(upstream_pod("othermirrorpod", "othernode", true)), Exact(403, "pods \"othermirrorpod\" is forbidden: node \"mynode\" can only update pod status for pods with spec.nodeName set to itself")),
        ("forbid create of eviction for mirror pod bound to another", my("create", "pods/eviction", "ns", "othermirrorpod"), evict("othermirrorpod"), Exact(403, "pods \"othermirrorpod\" is forbidden: node mynode can only evict pods with spec.nodeName set to itself")),
        ("forbid create of unnamed eviction for mirror pod to another", my("create", "pods/eviction", "ns", "othermirrorpod"), evict(""), Contains("spec.nodeName set to itself")),
        // Mirror pods not bound to any node
        ("forbid creating a mirror pod unbound", my("create", "pods", "ns", "unboundmirrorpod"), Some(upstream_pod("unboundmirrorpod", "", true)), Contains("spec.nodeName set to itself")),
        ("forbid delete of mirror pod unbound", my("delete", "pods", "ns", "unboundmirrorpod"), None, Contains("spec.nodeName set to itself")),
        ("forbid update of mirror pod status unbound", my("update", "pods/status", "ns", "unboundmirrorpod"), Some(upstream_pod("unboundmirrorpod", "", true)), Contains("spec.nodeName set to itself")),
        ("forbid create of eviction for mirror pod unbound", my("create", "pods/eviction", "ns", "unboundmirrorpod"), evict("unboundmirrorpod"), Contains("spec.nodeName set to itself")),
        // Normal pods
        ("forbid creating a normal pod bound to self", my("create", "pods", "ns", "mypod"), Some(upstream_pod("mypod", "mynode", false)), Exact(403, "pods \"mypod\" is forbidden: pod does not have \"kubernetes.io/config.mirror\" annotation, node \"mynode\" can only create mirror pods")),
        ("allow delete of normal pod bound to self", my("delete", "pods", "ns", "mypod"), None, Admit),
        ("allow update of normal pod status bound to self", my("update", "pods/status", "ns", "mypod"), Some(upstream_pod("mypod", "mynode", false)), Admit),
        ("forbid addition of pod status labels", my("update", "pods/status", "ns", "mypod"), Some(json!({"metadata": {"name": "mypod", "labels": {"label-a": "value-a"}}})), Exact(403, "pods \"mypod\" is forbidden: node \"mynode\" cannot update labels through pod status")),
        ("allow create of unnamed eviction for normal pod bound to self", my("create", "pods/eviction", "ns", "mypod"), evict(""), Admit),
        ("forbid creating a normal pod bound to another", my("create", "pods", "ns", "otherpod"), Some(upstream_pod("otherpod", "othernode", false)), Contains("can only create mirror pods")),
        ("forbid delete of normal pod bound to another", my("delete", "pods", "ns", "otherpod"), None, Contains("spec.nodeName set to itself")),
        ("forbid update of normal pod status bound to another", my("update", "pods/status", "ns", "otherpod"), Some(upstream_pod("otherpod", "othernode", false)), Contains("spec.nodeName set to itself")),
        ("forbid create of eviction for normal pod bound to another", my("create", "pods/eviction", "ns", "otherpod"), evict("otherpod"), Contains("spec.nodeName set to itself")),
        ("forbid creating a normal pod unbound", my("create", "pods", "ns", "unboundpod"), Some(upstream_pod("unboundpod", "", false)), Contains("can only create mirror pods")),
        ("forbid delete of normal pod unbound", my("delete", "pods", "ns", "unboundpod"), None, Contains("spec.nodeName set to itself")),
        // Missing pod
        // Upstream's unit test calls the plugin with an empty lister; in the apiserver the
        // registry's Delete reads the pod first, so the client sees the storage's NotFound.
        ("forbid delete of unknown pod", my("delete", "pods", "ns", "nopod"), None, Exact(404, "pods \"nopod\" not found")),
        ("forbid create of eviction for unknown pod", my("create", "pods/eviction", "ns", "nopod"), evict("nopod"), Exact(404, "pod \"nopod\" not found")),
        ("forbid update of eviction for unknown pod", my("update", "pods/eviction", "ns", "nopod"), evict("nopod"), Contains("forbidden: unexpected operation")),
        // My node object
        ("allow create of my node", my("create", "nodes", "", ""), Some(mynode_obj(json!({}))), Admit),
        ("allow create of my node with labels", my("create", "nodes", "", ""), Some(mynode_obj(allowed_labels)), Admit),
        ("forbid create of my node with forbidden labels", my("create", "nodes", "", ""), Some(mynode_obj(forbidden_create_labels)), Exact(403, "nodes \"mynode\" is forbidden: node \"mynode\" is not allowed to set the following labels: foo.node-restriction.kubernetes.io/foo, node-restriction.kubernetes.io/foo, other.k8s.io/foo, other.kubernetes.io/foo")),
        ("allow delete of my node", my("delete", "nodes", "", "mynode"), None, Admit),
        ("forbid create of my node with non-nil configSource", my("create", "nodes", "", ""), Some(json!({"metadata": {"name": "mynode"}, "spec": {"configSource": {"configMap": {"name": "foo", "namespace": "bar", "uid": "fooUID", "kubeletConfigKey": "kubelet"}}}})), Exact(403, "nodes \"mynode\" is forbidden: node \"mynode\" is not allowed to create pods with a non-nil configSource")),
        // Other node object
        ("forbid create of other node", my("create", "nodes", "", ""), Some(json!({"metadata": {"name": "othernode"}})), Exact(403, "nodes \"othernode\" is forbidden: node \"mynode\" is not allowed to modify node \"othernode\"")),
        ("forbid update of other node", my("update", "nodes", "", "othernode"), Some(json!({"metadata": {"name": "othernode"}})), Contains("is not allowed to modify node")),
        ("forbid delete of other node", my("delete", "nodes", "", "othernode"), None, Contains("is not allowed to modify node")),
        ("forbid update of other node status", my("update", "nodes/status", "", "othernode"), Some(json!({"metadata": {"name": "othernode"}})), Contains("is not allowed to modify node")),
        // Service accounts
        ("forbid create of unbound token", tok(), Some(json!({"spec": {"audiences": ["foo"]}})), Exact(403, "serviceaccounts \"mysa\" is forbidden: node requested token not bound to a pod")),
        ("forbid create of token bound to nonexistant pod", tok(), sa_token("nopod", "someuid"), Exact(404, "pod \"nopod\" not found")),
        ("forbid create of token bound to pod without uid", tok(), sa_token("mypod", ""), Contains("pod binding without a uid")),
        ("forbid create of token bound to pod scheduled on another node", tok(), sa_token("otherpod", "pod-uid"), Contains("pod scheduled on a different node")),
        ("allow create of token bound to pod scheduled this node", tok(), sa_token("mypod", "pod-uid"), Admit),
    ]);
    // "forbid create of token with multiple audiences in token request and
    // ServiceAccountNodeAudienceRestriction is enabled".
    check_upstream(
        &plugin("1.32", Some("ServiceAccountNodeAudienceRestriction=true")),
        vec![(
            "multiple audiences",
            tok(),
            Some(
                json!({"spec": {"audiences": ["foo", "bar"], "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "mypod", "uid": "pod-uid"}}}),
            ),
            Exact(
                403,
                "serviceaccounts \"mysa\" is forbidden: node may only request 0 or 1 audiences",
            ),
        )],
    );
}

/// Ported from upstream `TestAdmitResourceSlice`: create and delete are checked against the
/// node, update is not; the DynamicResourceAllocation gate does not matter.
#[test]
fn upstream_test_admit_resource_slice() {
    use Want::*;
    let create_err = "can only create ResourceSlice with the same NodeName as the requesting node";
    let delete_err = "can only delete ResourceSlice with the same NodeName as the requesting node";
    let view = MapView::new()
        .with_slice("something", "mynode")
        .with_slice("something-other", "mynode-other")
        .with_slice("something-none", "");
    let slice =
        |node: &str| Some(json!({"metadata": {"name": "something"}, "spec": {"nodeName": node}}));
    let rs = |verb: &str, name: &str| {
        node_req(
            "mynode",
            verb,
            "resource.k8s.io",
            "resourceslices",
            "",
            name,
        )
    };
    for gates in [
        "DynamicResourceAllocation=true",
        "DynamicResourceAllocation=false",
    ] {
        let p = plugin("1.32", Some(gates));
        let rows: Vec<(&str, Attributes, Option<Value>, Want)> = vec![
            ("create allowed", rs("create", ""), slice("mynode"), Admit),
            ("create disallowed", rs("create", ""), slice("mynode-other"), Contains(create_err)),
            ("create disallowed, no node name", rs("create", ""), slice(""), Contains(create_err)),
            ("update allowed, other node", rs("update", "something-other"), slice("mynode-other"), Admit),
            ("delete allowed", rs("delete", "something"), None, Admit),
            ("delete disallowed", rs("delete", "something-other"), None, Exact(403, "resourceslices.resource.k8s.io \"something-other\" is forbidden: can only delete ResourceSlice with the same NodeName as the requesting node")),
            ("delete disallowed, no node name", rs("delete", "something-none"), None, Contains(delete_err)),
        ];
        let mut failures = Vec::new();
        for (desc, attrs, body, want) in rows {
            let op = Operation::from_verb(&attrs.verb).unwrap();
            let got = p.admit(&attrs, op, body.as_ref(), &view, 0, &|_| false);
            let ok = match (&want, &got) {
                (Admit, Admission::Admit) => true,
                (Contains(s), Admission::Deny { message, .. }) => message.contains(s),
                (Exact(c, s), Admission::Deny { code, message }) => code == c && message == s,
                _ => false,
            };
            if !ok {
                failures.push(format!("{gates} {desc}: got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// Release history of the node checks, from upstream copies of admission.go: 1.17/1.18 refused
/// only `node-restriction.kubernetes.io` labels at registration (`getForbiddenCreateLabels`,
/// "TODO(liggitt): in 1.19, expand"), kubernetes PR 90307 (1.19) applied the update rules to
/// create; the 1.14 `well_known_labels.go` allowed the never-used GA names
/// `failure-domain.kubernetes.io/*` and `kubernetes.io/instance-type`, which 1.17 replaced
/// with `topology.kubernetes.io/*`.
#[test]
fn node_label_rules_by_release() {
    let labels = json!({"node-role.kubernetes.io/worker": "", "k8s.io/a": "b", "kubernetes.io/hostname": "node-a"});
    let register = |v: &str, labels: &Value| {
        admit_with(
            &plugin(v, None),
            &r("create", "", "nodes", "", ""),
            Some(json!({"metadata": {"name": "node-a", "labels": labels}})),
            false,
        )
    };
    assert_eq!(register("1.18", &labels), Admission::Admit);
    assert_eq!(
        register("1.19", &labels),
        deny("nodes \"node-a\" is forbidden: node \"node-a\" is not allowed to set the following labels: k8s.io/a, node-role.kubernetes.io/worker")
    );
    let restricted = json!({"node-restriction.kubernetes.io/pool": "a", "k8s.io/a": "b"});
    assert_eq!(
        register("1.16", &restricted),
        deny("nodes \"node-a\" is forbidden: node \"node-a\" is not allowed to set the following labels: node-restriction.kubernetes.io/pool")
    );

    for key in [
        "failure-domain.kubernetes.io/zone",
        "failure-domain.kubernetes.io/region",
        "kubernetes.io/instance-type",
    ] {
        assert!(
            !is_forbidden_node_label(key, KubeVersion::new(1, 16)),
            "{key} in 1.16"
        );
        assert!(
            is_forbidden_node_label(key, KubeVersion::new(1, 17)),
            "{key} in 1.17"
        );
    }
    assert!(!is_forbidden_node_create_label(
        "other.kubernetes.io/foo",
        KubeVersion::new(1, 18)
    ));
    assert!(is_forbidden_node_create_label(
        "other.kubernetes.io/foo",
        KubeVersion::new(1, 19)
    ));
    assert!(is_forbidden_node_create_label(
        "foo.node-restriction.kubernetes.io/foo",
        KubeVersion::new(1, 14)
    ));
}

/// Mirror-pod owner references: none checked before 1.17 (kubernetes PR 84657 added the
/// single-owner checks for 1.17); a pod with no owner reference is refused only from 1.19
/// (PR 91683).
#[test]
fn mirror_pod_owner_references_by_release() {
    let spec = json!({"nodeName": "node-a"});
    let create = || r("create", "", "pods", "ns", "");
    let f = |t: &str| deny(&format!("{FORBIDDEN_POD}{t}"));
    let stale_owner = mirror_pod(spec.clone(), owner(json!({"uid": "stale"})));
    let no_owner = mirror_pod(spec.clone(), json!([]));
    check(
        &plugin("1.16", None),
        vec![
            (
                "1.16 stale owner",
                create(),
                Some(stale_owner.clone()),
                Admission::Admit,
            ),
            (
                "1.16 no owner",
                create(),
                Some(no_owner.clone()),
                Admission::Admit,
            ),
        ],
    );
    check(
        &plugin("1.18", None),
        vec![
            (
                "1.18 stale owner",
                create(),
                Some(stale_owner.clone()),
                f("node node-a UID mismatch: expected stale got uid-node-a"),
            ),
            (
                "1.18 no owner",
                create(),
                Some(no_owner.clone()),
                Admission::Admit,
            ),
        ],
    );
    check(
        &plugin("1.19", None),
        vec![(
            "1.19 no owner",
            create(),
            Some(no_owner),
            f("node \"node-a\" can only create pods with an owner reference set to itself"),
        )],
    );
}

/// CVE-2025-5187: from 1.34.0 (and 1.31.12 / 1.32.8 / 1.33.4) a node may not change its
/// Node's ownerReferences (`node %q is not allowed to modify ownerReferences`). The stored
/// references are not in the inputs, so a patch that sets them is Unknown; before 1.31 it passes.
#[test]
fn node_owner_references_patch() {
    let patch = || r("patch", "", "nodes", "", "node-a");
    let body = Some(
        json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "x", "uid": "u"}]}}),
    );
    let json_patch = Some(json!([{"op": "add", "path": "/metadata/ownerReferences", "value": []}]));
    check(
        &plugin("1.30", None),
        vec![
            ("1.30 merge patch", patch(), body.clone(), Admission::Admit),
            (
                "1.30 json patch",
                patch(),
                json_patch.clone(),
                Admission::Admit,
            ),
        ],
    );
    check(&plugin("1.34", None), vec![
        ("1.34 merge patch", patch(), body, Admission::Unknown("the patch sets metadata.ownerReferences; NodeRestriction refuses a change (CVE-2025-5187 fix) but the stored ones are not known".into())),
        ("1.34 json patch", patch(), json_patch, Admission::Unknown("the JSON patch touches spec, labels or ownerReferences of the Node, which are compared with the stored Node".into())),
    ]);
}

/// The 1.14-1.18 plugin's branches for gates switched off (the 1.17/1.18 copy of admission.go:
/// `disabled by feature gates CSINodeInfo`, no check of tokens without TokenRequest, PVC status
/// refused without ExpandPersistentVolumes; the NodeLease branch from the older copy).
#[test]
fn old_gates_switched_off() {
    let named = |n: &str| Some(json!({"metadata": {"name": n}}));
    check(&plugin("1.16", Some("NodeLease=false,CSINodeInfo=false,TokenRequest=false,ExpandPersistentVolumes=false")), vec![
        ("lease", r("update", "coordination.k8s.io", "leases", "kube-node-lease", "node-a"), None, deny("leases.coordination.k8s.io \"node-a\" is forbidden: disabled by feature gate NodeLease")),
        ("csinode", r("create", "storage.k8s.io", "csinodes", "", ""), named("node-a"), deny("csinodes.storage.k8s.io \"node-a\" is forbidden: disabled by feature gates CSINodeInfo")),
        ("token of another node's pod", r("create", "", "serviceaccounts/token", "ns", "default"), Some(json!({"spec": {}})), Admission::Admit),
        ("pvc status", r("patch", "", "persistentvolumeclaims/status", "ns", "data"), Some(json!({"status": {"capacity": {}}})), deny("persistentvolumeclaims \"data\" is forbidden: node \"node-a\" is not allowed to update persistentvolumeclaim metadata")),
    ]);
}

/// `VisitPodSecretNames` visits an azureFile volume only when its `secretName` is set.
#[test]
fn mirror_pod_azure_file_without_secret() {
    let spec = |vol: Value| json!({"nodeName": "node-a", "volumes": [vol]});
    check(
        &plugin("1.32", None),
        vec![
            (
                "azureFile without secretName",
                r("create", "", "pods", "ns", ""),
                Some(mirror_pod(
                    spec(json!({"name": "v", "azureFile": {"shareName": "s"}})),
                    owner(json!({})),
                )),
                Admission::Admit,
            ),
            (
                "azureFile with secretName",
                r("create", "", "pods", "ns", ""),
                Some(mirror_pod(
                    spec(json!({"name": "v", "azureFile": {"shareName": "s", "secretName": "k"}})),
                    owner(json!({})),
                )),
                deny(&format!(
                    "{FORBIDDEN_POD}node \"node-a\" can not create pods that reference secrets"
                )),
            ),
        ],
    );
}

/// 1.31 already had the ResourceSlice checks.
#[test]
fn resource_slices_checked_from_1_31() {
    check(&plugin("1.31", None), vec![(
        "1.31 create other slice",
        r("create", "resource.k8s.io", "resourceslices", "", ""),
        Some(json!({"metadata": {"name": "s"}, "spec": {"nodeName": "node-b"}})),
        deny("resourceslices.resource.k8s.io \"s\" is forbidden: can only create ResourceSlice with the same NodeName as the requesting node"),
    )]);
}

/// A raw body is parsed only when a check reads it, and then as the parsed body would be.
#[test]
fn raw_bodies_are_parsed_only_when_read() {
    use nodeauthz::authz::restriction::RequestBody;
    let p = plugin("1.32", None);
    let admit = |attrs: &Attributes, body: &RequestBody<'_>| {
        let op = Operation::from_verb(&attrs.verb).expect("mutating verb");
        p.admit_body(attrs, op, body, &view(), 0, &|_| true)
    };
    let unread = |body: &RequestBody<'_>| matches!(body, RequestBody::Raw { parsed, .. } if parsed.get().is_none());

    // A lease renewal is decided on its name: the body (here not even JSON) stays unread.
    let renew = node_req(
        "node-a",
        "update",
        "coordination.k8s.io",
        "leases",
        "kube-node-lease",
        "node-a",
    );
    let body = RequestBody::raw(Some("{not json"));
    assert_eq!(admit(&renew, &body), Admission::Admit);
    assert!(unread(&body));

    // Creating a lease reads the new object's name.
    let create = node_req(
        "node-a",
        "create",
        "coordination.k8s.io",
        "leases",
        "kube-node-lease",
        "",
    );
    let other = r#"{"metadata":{"name":"node-b"}}"#;
    let body = RequestBody::raw(Some(other));
    let parsed: Value = serde_json::from_str(other).unwrap();
    let want = admit_with(&p, &create, Some(parsed), true);
    assert_eq!(want, deny("leases.coordination.k8s.io \"node-b\" is forbidden: can only access node lease with the same name as the requesting node"));
    assert_eq!(admit(&create, &body), want);
    assert!(!unread(&body));

    // A body that does not parse is no body.
    let body = RequestBody::raw(Some("{not json"));
    assert_eq!(admit(&create, &body), admit_with(&p, &create, None, true));
}

/// A JSON value of a few levels: objects (sometimes with a `status` key), arrays, scalars.
fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[a-z\"\\\\{}]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["status", "spec", "metadata", "a"]),
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

proptest::proptest! {
    /// A Node's body is read without its top-level `status` (no check reads it): JSON text
    /// (whole, cut, padded) parses or not alike, to the same value but for that key. (What a
    /// `Value` refuses only for the content of a status, see the test after, is read.)
    #[test]
    fn a_node_body_is_read_alike_but_for_its_status(
        value in json_value(),
        dup_status in proptest::bool::ANY,
        cut in 0usize..200,
    ) {
        use nodeauthz::authz::restriction::RequestBody;
        let mut text = value.to_string();
        if dup_status && text.starts_with("{\"") {
            // A key given twice: the last value counts for every other key as well.
            text = format!("{{\"status\":[1,{{}}],\"spec\":1,{}", &text[1..]);
        }
        for text in [text.clone(), text[..text.len().saturating_sub(cut % (text.len() + 1))].to_string(), format!(" {text} ")] {
            let whole = RequestBody::raw(Some(&text));
            let node = RequestBody::raw_for(Some(&text), "", "nodes");
            let want = whole.get().cloned().map(|mut v| {
                if let Some(m) = v.as_object_mut() {
                    m.remove("status");
                }
                v
            });
            proptest::prop_assert_eq!(node.get(), want.as_ref(), "{}", text);
            // Other resources keep it.
            let pod = RequestBody::raw_for(Some(&text), "", "pods");
            proptest::prop_assert_eq!(pod.get(), whole.get());
        }
    }
}

#[test]
fn a_kubelet_status_patch_is_admitted_alike_without_its_status() {
    use nodeauthz::authz::restriction::RequestBody;
    let p = plugin("1.32", None);
    let patch = r#"{"metadata":{"labels":{"node-role.kubernetes.io/worker":""}},"status":{"conditions":[{"type":"Ready","status":"True"}],"images":[{"names":["registry.k8s.io/pause:3.10"],"sizeBytes":320368}]},"$setElementOrder/conditions":[{"type":"Ready"}]}"#;
    for (attrs, body) in [
        (r("patch", "", "nodes/status", "", "node-a"), patch),
        (
            r("patch", "", "nodes/status", "", "node-a"),
            r#"{"status":{"conditions":[]}}"#,
        ),
        (r("patch", "", "nodes", "", "node-b"), patch),
        (
            r("create", "", "nodes", "", ""),
            r#"{"metadata":{"name":"node-a"},"status":{"capacity":{"cpu":"2"}}}"#,
        ),
        (
            r("patch", "", "nodes/status", "", "node-a"),
            r#"{"status":{"conditions":[}}"#,
        ),
    ] {
        let op = Operation::from_verb(&attrs.verb).unwrap();
        let admit = |body: &RequestBody<'_>| p.admit_body(&attrs, op, body, &view(), 0, &|_| false);
        let pruned = admit(&RequestBody::raw_for(
            Some(body),
            &attrs.api_group,
            &attrs.resource,
        ));
        assert_eq!(pruned, admit(&RequestBody::raw(Some(body))), "{body}");
    }
    // The first: its label patch is judged from the metadata, the status read past.
    let attrs = r("patch", "", "nodes/status", "", "node-a");
    let op = Operation::from_verb(&attrs.verb).unwrap();
    assert_eq!(
        p.admit_body(&attrs, op, &RequestBody::raw_for(Some(patch), "", "nodes"), &view(), 0, &|_| false),
        Admission::Unknown("the patch sets the restricted labels node-role.kubernetes.io/worker; whether they change the stored values is not known".into())
    );
}

#[test]
fn a_node_status_is_checked_as_json_syntax_only() {
    use nodeauthz::authz::restriction::RequestBody;
    let meta = r#""metadata":{"name":"node-a"}"#;
    let deep = |key: &str| {
        format!(
            r#"{{{meta},"{key}":{}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        )
    };
    // JSON a `Value` refuses only for what its status holds: the Node's body is still read
    // (documented on `WithoutStatus`); elsewhere, or for another resource, it is no body.
    for text in [
        format!(r#"{{{meta},"status":1e400}}"#),
        format!(r#"{{{meta},"status":"\ud800"}}"#),
        deep("status"),
    ] {
        assert_eq!(RequestBody::raw(Some(&text)).get(), None, "{text}");
        assert_eq!(
            RequestBody::raw_for(Some(&text), "", "nodes").get(),
            Some(&json!({"metadata": {"name": "node-a"}})),
            "{text}"
        );
        assert_eq!(RequestBody::raw_for(Some(&text), "", "pods").get(), None);
    }
    assert_eq!(
        RequestBody::raw_for(Some(&deep("spec")), "", "nodes").get(),
        None
    );
    // A status that is no JSON makes no body, as it does for a `Value`.
    let broken = format!(r#"{{{meta},"status":{{"a":tru}}}}"#);
    assert_eq!(RequestBody::raw_for(Some(&broken), "", "nodes").get(), None);
    // Only the core group's Nodes: another group's `nodes` keep their status.
    let text = format!(r#"{{{meta},"status":{{"phase":"x"}}}}"#);
    assert_eq!(
        RequestBody::raw_for(Some(&text), "example.com", "nodes").get(),
        RequestBody::raw(Some(&text)).get()
    );
    assert!(RequestBody::raw_for(Some(&text), "example.com", "nodes")
        .get()
        .is_some_and(|b| b.get("status").is_some()));
}
