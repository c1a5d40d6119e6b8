//! NodeRestriction, resource by resource (spec section 10).

mod authz_support;

use authz_support::{node_req, MapView};
use nodeauthz::authz::restriction::{
    is_forbidden_node_label, Admission, NodeRestriction, Operation,
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
        ("no body", create(), None, Admission::Unknown("the log has no requestObject (audit level below Request); needed for the mirror-pod checks".into())),
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
        ("delete missing pod", r("delete", "", "pods", "ns", "gone"), None, not_found("pod \"gone\" not found")),
        ("update pod", r("update", "", "pods", "ns", "web-1"), Some(json!({})), deny("pods \"web-1\" is forbidden: unexpected operation \"UPDATE\", node \"node-a\" can only create and delete mirror pods")),
        ("patch own status", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"status": {"phase": "Running"}})), Admission::Admit),
        ("patch status keeping labels", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"metadata": {"labels": {"app": "web"}}})), Admission::Admit),
        ("patch status changing labels", r("patch", "", "pods/status", "ns", "web-1"), Some(json!({"metadata": {"labels": {"app": "db"}}})), deny("pods \"web-1\" is forbidden: node \"node-a\" cannot update labels through pod status")),
        ("put status dropping labels", r("update", "", "pods/status", "ns", "web-1"), Some(json!({"metadata": {"name": "web-1"}, "status": {}})), deny("pods \"web-1\" is forbidden: node \"node-a\" cannot update labels through pod status")),
        ("patch other node's pod status", r("patch", "", "pods/status", "ns", "web-2"), None, deny("pods \"web-2\" is forbidden: node \"node-a\" can only update pod status for pods with spec.nodeName set to itself")),
        ("patch status of missing pod", r("patch", "", "pods/status", "ns", "gone"), None, not_found("pods \"gone\" not found")),
        ("status patch without body", r("patch", "", "pods/status", "ns", "web-1"), None, Admission::Unknown("the log has no requestObject (audit level below Request); needed for the label and resource-claim checks of pods/status".into())),
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
