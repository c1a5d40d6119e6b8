#!/usr/bin/env python3
"""Deterministic generator of large, realistic kube-apiserver audit logs.

Writes JSON lines of audit.k8s.io/v1 Events in the field order and encoding kube-apiserver
uses (Go's encoder: `&`, `<`, `>` escaped as \\u0026 etc., map keys sorted, RFC 3339 times
with six fractional digits). About half of the lines (--kubelet-share) come from kubelets;
the rest is controller, scheduler, add-on and user traffic.

Kubelet traffic per node: lease get + update every 10 s, get of the own Node followed by a
`nodes/status` patch every 10-60 s (every fifth one carries the image list, 3-5 KB), pod
status patches, single-object watches (and some gets) of every secret and config map its
pods reference, list/watch of pods with the spec.nodeName field selector, watch of the own
Node with the metadata.name selector, service-account token requests, PVC/PV gets, events.
Controllers create pods (requestObject with the full spec), the scheduler binds them
(`pods/binding`, requestObject with the target Node), controllers delete old pods and the
kubelet finishes the deletion.

A controlled share (--bad-share) of kubelet requests is something a real kubelet would not
be allowed under `Node,RBAC`; --truth-out writes the verdict every kubelet request must get
under the target scenario (Node,RBAC + NodeRestriction, Kubernetes 1.34, no legacy binding,
the --objects-out dump given). A refused request is logged without its body, so a mutation
NodeRestriction judges from the body is `indeterminate` in the truth when it was refused.
Python 3.11 standard library only.

Example (the 1 GB benchmark input):
    scripts/gen_audit_log.py --nodes 150 --pods-per-node 30 --duration 3h \\
        --target-bytes 1G --seed 1 --out target/bench-data/audit-1g.log
"""

from __future__ import annotations

import argparse
import gzip
import heapq
import json
import random
import sys
import time
from datetime import datetime, timezone

# ---------------------------------------------------------------------------------------------
# Exact strings. Reasons are those of the spec's section 5; nothing else in this file spells
# them out.

R_NO_RELATIONSHIP = "no relationship found between node '{node}' and this object"
R_NAMESPACED_ONLY = "can only read namespaced object of this type"
R_PODS_SELECTOR = "can only list/watch pods with spec.nodeName field selector"
R_NODE_OTHER = "node '{node}' cannot read '{name}', only its own Node object"
R_LEASE_OTHER = "can only access node lease with the same name as the requesting node"
LEGACY_RBAC_REASON = (
    'RBAC: allowed by ClusterRoleBinding "system:node" of ClusterRole "system:node" '
    'to Group "system:nodes"'
)

KUBE_VERSION = "v1.34.1"
KUBE_COMMIT = "93248f9"
KUBELET_UA = "kubelet/%s (linux/amd64) kubernetes/%s" % (KUBE_VERSION, KUBE_COMMIT)
NODE_GROUPS = '["system:nodes","system:authenticated"]'

# What NodeRestriction (spec section 10, 1.34) reads from the request body, by operation
# ("create", "update" for patch and update) and resource/subresource. A request it checks this
# way cannot be judged when the log has no requestObject, which is the case for every refused
# request: the apiserver refuses at authorization, before it reads the body. Mutations not
# listed are decided from the URL and the stored objects (lease update, pod delete) or not
# checked at all (events).
RESTRICTION_BODY_CHECKS = {
    ("create", "pods", ""): "the mirror-pod checks",
    ("update", "pods", "status"): "the label and resource-claim checks of pods/status",
    ("create", "nodes", ""): "the name of the new Node",
    ("update", "nodes", ""): "the taint and label checks of a Node update",
    ("update", "nodes", "status"): "the taint and label checks of a Node update",
    ("update", "persistentvolumeclaims", "status"): "the PVC status comparison",
    ("create", "serviceaccounts", "token"): "the TokenRequest's bound object",
    ("create", "leases", ""): "the name of the new Lease",
    ("create", "csinodes", ""): "the name of the new CSINode",
    ("create", "resourceslices", ""): "spec.nodeName of the new ResourceSlice",
    ("create", "certificatesigningrequests", ""): "the CSR signer and subject",
}
R_NO_BODY = ("no requestObject in the log (refused before the body was read); NodeRestriction "
             "needs it for {what}")

SCENARIOS = ("node-rbac", "rbac-only", "legacy-binding")
VERDICTS = ("allowed_by_node", "relies_on_rbac", "forbidden", "indeterminate")


def go_escape(s: str) -> str:
    """The body of a JSON string as Go's encoding/json writes it (HTML-safe escaping)."""
    return (
        json.dumps(s, ensure_ascii=False)[1:-1]
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )


def go_json(obj) -> str:
    """Compact JSON as Go writes it. Dict order is kept (callers build Go struct order)."""
    return (
        json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        .replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
    )


def parse_size(s: str) -> int:
    s = s.strip().upper()
    mult = 1
    for suffix, m in (("GB", 10**9), ("G", 10**9), ("MB", 10**6), ("M", 10**6),
                      ("KB", 10**3), ("K", 10**3)):
        if s.endswith(suffix):
            mult = m
            s = s[: -len(suffix)]
            break
    return int(float(s) * mult)


def parse_duration(s: str) -> int:
    """'1h', '90m', '30s', '1h30m' -> microseconds."""
    total = 0
    num = ""
    units = {"h": 3600, "m": 60, "s": 1}
    for ch in s.strip():
        if ch.isdigit() or ch == ".":
            num += ch
        elif ch in units and num:
            total += float(num) * units[ch]
            num = ""
        else:
            raise argparse.ArgumentTypeError("bad duration %r" % s)
    if num:
        total += float(num)
    return int(total * 1_000_000)


class Clock:
    """RFC 3339 formatting of microsecond timestamps with a per-second cache."""

    def __init__(self):
        self.cache: dict[int, str] = {}

    def fmt(self, us: int) -> str:
        sec, frac = divmod(us, 1_000_000)
        head = self.cache.get(sec)
        if head is None:
            if len(self.cache) > 4096:
                self.cache.clear()
            head = datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
            self.cache[sec] = head
        return "%s.%06dZ" % (head, frac)

    def fmt_s(self, us: int) -> str:
        """Second precision, as in object metadata (creationTimestamp, heartbeats)."""
        return datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------
# The cluster.

NAMESPACES = ["default", "kube-system", "payments", "web", "monitoring", "batch",
              "ingress-nginx", "team-a", "team-b", "team-c", "search", "billing"]
APP_WORDS = ["api", "web", "worker", "cache", "gateway", "auth", "cart", "checkout", "search",
             "indexer", "mailer", "reports", "scheduler", "frontend", "backend", "ledger",
             "notifier", "exporter", "collector", "proxy"]
ALNUM = "bcdfghjklmnpqrstvwxz2456789"


class App:
    """A Deployment or StatefulSet: its pods share a spec (and so their references)."""

    __slots__ = ("ns", "name", "kind", "secrets", "configmaps", "env_secret", "sa", "rs_hash",
                 "image", "pvc")

    def __init__(self, ns, name, kind, secrets, configmaps, env_secret, sa, rs_hash, image, pvc):
        self.ns, self.name, self.kind = ns, name, kind
        self.secrets, self.configmaps, self.env_secret = secrets, configmaps, env_secret
        self.sa, self.rs_hash, self.image, self.pvc = sa, rs_hash, image, pvc


class Pod:
    __slots__ = ("ns", "name", "uid", "app", "node", "visible", "api_access", "pvc", "pv",
                 "created_us", "ip", "alive", "terminating")

    def __init__(self, ns, name, uid, app, node, visible, api_access, created_us, ip):
        self.ns, self.name, self.uid, self.app, self.node = ns, name, uid, app, node
        self.visible, self.api_access, self.created_us, self.ip = visible, api_access, created_us, ip
        self.pvc = None
        self.pv = None
        self.alive = True
        self.terminating = False

    def secret_refs(self):
        app = self.app
        refs = list(app.secrets)
        if app.env_secret:
            refs.append(app.env_secret)
        return refs

    def configmap_refs(self):
        return list(self.app.configmaps) + ["kube-root-ca.crt"]


class Node:
    __slots__ = ("name", "uid", "ip", "pods", "refs", "images_json", "lease_uid", "rv")

    def __init__(self, name, uid, ip):
        self.name, self.uid, self.ip = name, uid, ip
        self.pods: list[Pod] = []
        # (kind, ns, name) -> {pod key: visible}; which pods on this node reference the object.
        self.refs: dict[tuple, dict] = {}
        self.lease_uid = ""
        self.rv = 0


class Gen:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.clock = Clock()
        self.start_us = int(datetime.fromisoformat(a.start.replace("Z", "+00:00")).timestamp()
                            * 1_000_000)
        self.end_us = self.start_us + a.duration_us if a.duration_us else None
        self.seq = 0
        self.rv = 4_000_000 + self.rng.randrange(1_000_000)
        self.heap: list = []  # (t_us, seq, fn, args)
        self.pending: list = []  # (t_us, seq, line) for late stages (watch completions)
        self.buf: list[str] = []
        self.buf_bytes = 0
        self.bytes_out = 0
        self.lines = 0
        self.kubelet_lines = 0
        self.kubelet_requests = 0
        self.bad_requests = 0
        self.requests = 0
        self.truth_counts = {v: 0 for v in VERDICTS}
        self.stop = False
        self.out = None
        self.truth = None
        self.nodes: list[Node] = []
        self.apps: list[App] = []
        self.pods: dict[tuple, Pod] = {}
        self.pvs: list[dict] = []
        self.pvcs: list[dict] = []

    # -- identifiers -----------------------------------------------------------------------

    def uuid(self) -> str:
        r = self.rng.getrandbits(128)
        h = "%032x" % r
        return "%s-%s-4%s-%s%s-%s" % (h[0:8], h[8:12], h[13:16], "89ab"[r & 3], h[17:20],
                                       h[20:32])

    def suffix(self, n=5) -> str:
        rng = self.rng
        return "".join(rng.choice(ALNUM) for _ in range(n))

    def next_rv(self) -> int:
        self.rv += self.rng.randrange(1, 40)
        return self.rv

    # -- output ----------------------------------------------------------------------------

    def emit(self, line: str, kubelet: bool):
        self.buf.append(line)
        self.buf_bytes += len(line)
        self.lines += 1
        if kubelet:
            self.kubelet_lines += 1
        if self.buf_bytes >= 1 << 22:
            self.flush()

    def flush(self):
        if self.buf:
            data = "".join(self.buf).encode()
            self.out.write(data)
            self.bytes_out += len(data)
            self.buf = []
            self.buf_bytes = 0

    def written(self) -> int:
        return self.bytes_out + self.buf_bytes

    def later(self, t_us: int, line: str, kubelet: bool):
        """Queues a late stage. It counts now, so that the kubelet share (and with it the random
        sequence) does not depend on when a stage is written."""
        self.seq += 1
        self.lines += 1
        if kubelet:
            self.kubelet_lines += 1
        heapq.heappush(self.pending, (t_us, self.seq, line))

    def write_late(self, line: str):
        self.buf.append(line)
        self.buf_bytes += len(line)
        if self.buf_bytes >= 1 << 22:
            self.flush()

    def schedule(self, t_us: int, fn, *args):
        self.seq += 1
        heapq.heappush(self.heap, (t_us, self.seq, fn, args))

    # -- one request ------------------------------------------------------------------------

    def request(self, t_us, *, level, uri, verb, user, ip, ua, objref, kubelet,
                code=200, allow=True, reason="", status_extra="", req_obj=None, resp_obj=None,
                watch_us=0, annotations_extra="", latency_us=None):
        """Writes the events of one request; a watch's completion is queued for later.

        `reason` is the authorization reason (already a JSON string body); for forbidden
        requests `status_extra` is the `"status":...,"message":...` part of responseStatus.
        Returns the auditID.
        """
        aid = self.uuid()
        rr_mid = None
        if verb == "create" and ',"subresource"' not in objref and ',"name":"' in objref:
            # objectRef.name of a create comes from the decoded body, after RequestReceived.
            a = objref.index(',"name":"')
            rr_objref = objref[:a] + objref[objref.index('"', a + 9) + 1:]
            rr_mid = None, rr_objref
        if "&" in uri:
            uri = uri.replace("&", "\\u0026")
        head = ('{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"%s","auditID":"%s",'
                '"stage":"' % (level, aid))
        mid = ('","requestURI":"%s","verb":"%s","user":%s,"sourceIPs":["%s"],"userAgent":"%s"%s'
               % (uri, verb, user, ip, ua, objref))
        recv = self.clock.fmt(t_us)
        ann = ('"annotations":{"authorization.k8s.io/decision":"%s",'
               '"authorization.k8s.io/reason":"%s"%s}}\n'
               % ("allow" if allow else "forbid", reason, annotations_extra))
        if code >= 400:
            rs = '"responseStatus":{"metadata":{},%s"code":%d},' % (status_extra, code)
        else:
            rs = '"responseStatus":{"metadata":{},"code":%d},' % code
        if rr_mid is not None:
            rr_mid = ('","requestURI":"%s","verb":"%s","user":%s,"sourceIPs":["%s"],"userAgent":"%s"%s'
                      % (uri, verb, user, ip, ua, rr_mid[1]))
        self.emit(head + "RequestReceived" + (rr_mid or mid) +
                  ',"requestReceivedTimestamp":"%s","stageTimestamp":"%s"}\n' % (recv, recv),
                  kubelet)
        body = ""
        if req_obj is not None and code < 400:
            body += '"requestObject":' + req_obj + ","
        if resp_obj is not None:
            body += '"responseObject":' + resp_obj + ","
        if latency_us is None:
            latency_us = self.rng.randrange(600, 9000)
        if verb == "watch":
            t1 = t_us + self.rng.randrange(200, 900)
            self.emit(head + "ResponseStarted" + mid + "," + rs +
                      '"requestReceivedTimestamp":"%s","stageTimestamp":"%s",' %
                      (recv, self.clock.fmt(t1)) + ann, kubelet)
            # Draw even when unused, so that the recorded scenario never shifts the random
            # sequence: every scenario then holds the same requests.
            refused_us = self.rng.randrange(100, 600)
            t2 = t1 + (watch_us if code < 400 else refused_us)
            line = (head + "ResponseComplete" + mid + "," + rs + body +
                    '"requestReceivedTimestamp":"%s","stageTimestamp":"%s",' %
                    (recv, self.clock.fmt(t2)) + ann)
            if code < 400:
                self.later(t2, line, kubelet)
            else:
                self.emit(line, kubelet)
        else:
            t2 = t_us + latency_us
            self.emit(head + "ResponseComplete" + mid + "," + rs + body +
                      '"requestReceivedTimestamp":"%s","stageTimestamp":"%s",' %
                      (recv, self.clock.fmt(t2)) + ann, kubelet)
        self.requests += 1
        return aid

    # -- kubelet requests --------------------------------------------------------------------

    def kubelet(self, t_us, node: Node, *, uri, verb, resource, ns="", name="", group="",
                version="v1", sub="", verdict="allowed_by_node", reason="", req_obj=None,
                watch_us=0, level="Metadata", bad=False, actual=None, admission=None):
        """One kubelet request, recorded as --scenario decides, with its truth row.

        `verdict` and `reason` are the target truth of the authorizers; `admission` is
        NodeRestriction's (verdict, reason) when it differs from passing and the body is
        logged; `actual` is whether the real Node authorizer (which knows every pod, also
        those missing from the dump) allows it, when that differs from what the verdict
        implies.
        """
        sc = self.a.scenario
        if actual is None:
            actual = verdict != "forbidden"
        user = '{"username":"system:node:%s","groups":%s}' % (node.name, NODE_GROUPS)
        if sc == "node-rbac":
            allowed = actual
            if allowed:
                rec_reason = ""
            elif verdict == "forbidden":
                rec_reason = go_escape(reason)
            else:
                rec_reason = go_escape(R_NO_RELATIONSHIP.format(node=node.name))
        elif sc == "rbac-only":
            allowed = False
            rec_reason = ""
        else:
            allowed = True
            rec_reason = go_escape(LEGACY_RBAC_REASON)
        # NodeRestriction runs on what the authorizers allow; request() logs the body of
        # allowed requests only, and the plugin reads the body before anything else.
        if verdict == "allowed_by_node":
            op = {"create": "create", "update": "update", "patch": "update"}.get(verb)
            what = RESTRICTION_BODY_CHECKS.get((op, resource, sub))
            if what is not None and not (allowed and req_obj is not None):
                verdict, reason = "indeterminate", R_NO_BODY.format(what=what)
            elif admission is not None:
                verdict, reason = admission
        # A create names its object in the body: the authorizer sees no name, and a refused
        # create never reaches the handler that copies the name into objectRef.
        body_named = verb == "create" and not sub
        shown = "" if (body_named and not allowed) else name
        objref = ',"objectRef":{"resource":"%s"%s%s%s,"apiVersion":"%s"%s}' % (
            resource,
            ',"namespace":"%s"' % ns if ns else "",
            ',"name":"%s"' % shown if shown else "",
            ',"apiGroup":"%s"' % group if group else "",
            version,
            ',"subresource":"%s"' % sub if sub else "")
        status_extra = ""
        code = 200 if verb != "create" else 201
        if not allowed:
            code = 403
            res_full = resource + ("/" + sub if sub else "")
            scope = ('in the namespace \\"%s\\"' % ns) if ns else "at the cluster scope"
            inner = ('User \\"system:node:%s\\" cannot %s resource \\"%s\\" in API group \\"%s\\" %s'
                     % (node.name, verb, res_full, group, scope))
            if rec_reason:
                inner += ": " + rec_reason
            wrap = resource + ("." + group if group else "")
            nm = "" if body_named else name
            msg = ('%s \\"%s\\" is forbidden: %s' % (wrap, nm, inner)) if nm else (
                "%s is forbidden: %s" % (wrap, inner))
            det = '"details":{%s%s"kind":"%s"},' % (
                '"name":"%s",' % nm if nm else "",
                '"group":"%s",' % group if group else "", resource)
            status_extra = '"status":"Failure","message":"%s","reason":"Forbidden",%s' % (msg, det)
        aid = self.request(t_us, level=level, uri=uri, verb=verb, user=user, ip=node.ip,
                           ua=KUBELET_UA, objref=objref, kubelet=True, code=code, allow=allowed,
                           reason=rec_reason, status_extra=status_extra, req_obj=req_obj,
                           watch_us=watch_us)
        self.kubelet_requests += 1
        self.truth_counts[verdict] += 1
        if bad:
            self.bad_requests += 1
        if self.truth is not None:
            recorded = "allow" if allowed else "forbid"
            target_allows = verdict in ("allowed_by_node", "relies_on_rbac")
            if verdict == "indeterminate":
                change = "indeterminate"
            elif allowed and not target_allows:
                change = "would_break"
            elif not allowed and target_allows:
                change = "fixed_by_target"
            else:
                change = "unchanged"
            row = {"audit_id": aid, "node": node.name, "verb": verb, "resource": resource,
                   "subresource": sub, "namespace": ns, "name": name, "verdict": verdict,
                   "recorded": recorded, "change": change}
            if verdict == "forbidden":
                row["reason"] = reason
            elif verdict == "indeterminate":
                row["missing"] = reason
            self.truth.write(json.dumps(row, separators=(",", ":")) + "\n")
        self.fill(t_us)
        # Injected requests keep their share of all kubelet requests at --bad-share.
        if not bad and self.bad_requests < self.a.bad_share * self.kubelet_requests:
            self.bad(t_us + self.rng.randrange(1000, 2_000_000), node)
        return aid

    def fill(self, t_us):
        """Non-kubelet traffic until the kubelet share of lines is back at --kubelet-share."""
        share = self.a.kubelet_share
        if share >= 1.0:
            return
        while self.kubelet_lines > share * self.lines and not self.stop:
            self.filler(t_us + self.rng.randrange(0, 400_000))

    # -- building the cluster -------------------------------------------------------------------

    def build(self):
        a, rng = self.a, self.rng
        for i in range(1, a.nodes + 1):
            n = Node("node-%d" % i, self.uuid(), "10.0.%d.%d" % (i // 250, 10 + i % 250))
            n.lease_uid = self.uuid()
            self.nodes.append(n)
            imgs = []
            for k in range(rng.randrange(12, 20)):
                imgs.append({"names": ["registry.example.com/%s/%s@sha256:%064x" % (
                    rng.choice(NAMESPACES), rng.choice(APP_WORDS), rng.getrandbits(256)),
                    "registry.example.com/%s:1.%d.%d" % (rng.choice(APP_WORDS), k, rng.randrange(9))],
                    "sizeBytes": rng.randrange(5_000_000, 900_000_000)})
            n.images_json = go_json(imgs)
        # Apps: shared secrets per namespace make several pods (on several nodes) reference the
        # same secret, the case the graph search exists for.
        n_apps = max(4, (a.nodes * a.pods_per_node) // 6)
        ns_shared = {ns: ["%s-db-credentials" % ns, "registry-pull"] for ns in NAMESPACES}
        for i in range(n_apps):
            ns = NAMESPACES[i % len(NAMESPACES)]
            name = "%s-%d" % (rng.choice(APP_WORDS), i)
            kind = "StatefulSet" if i % 7 == 3 else "Deployment"
            secrets = ["%s-tls" % name]
            if rng.random() < 0.5:
                secrets.append(ns_shared[ns][0])
            cms = ["%s-config" % name]
            if rng.random() < 0.3:
                cms.append("%s-shared-env" % ns)
            env_secret = "%s-api-key" % name if rng.random() < 0.4 else ""
            sa = name if rng.random() < 0.6 else "default"
            img = "registry.example.com/%s/%s:1.%d.%d" % (ns, name, rng.randrange(30), rng.randrange(9))
            self.apps.append(App(ns, name, kind, secrets, cms, env_secret, sa, self.suffix(10), img,
                                 kind == "StatefulSet"))
        t0 = self.start_us
        ordinal: dict[str, int] = {}
        hidden_left = int(round(a.hidden_share * a.nodes * a.pods_per_node))
        for node in self.nodes:
            for k in range(a.pods_per_node):
                app = self.apps[rng.randrange(len(self.apps))]
                visible = True
                if hidden_left > 0 and rng.random() < a.hidden_share * 1.5:
                    visible = False
                    hidden_left -= 1
                created = t0 - rng.randrange(3600, 40 * 86400) * 1_000_000
                self.add_pod(app, node, created, visible, ordinal)

    def pod_name(self, app: App, ordinal: dict) -> str:
        if app.kind == "StatefulSet":
            i = ordinal.get(app.name, 0)
            ordinal[app.name] = i + 1
            return "%s-%d" % (app.name, i)
        return "%s-%s-%s" % (app.name, app.rs_hash, self.suffix())

    def add_pod(self, app: App, node: Node, created_us: int, visible: bool, ordinal: dict) -> Pod:
        name = self.pod_name(app, ordinal)
        pod = Pod(app.ns, name, self.uuid(), app, node, visible, "kube-api-access-" + self.suffix(),
                  created_us, "10.244.%d.%d" % (self.rng.randrange(256), self.rng.randrange(2, 254)))
        if app.pvc:
            pod.pvc = "data-" + name
            pod.pv = "pvc-" + self.uuid()
            self.pvcs.append({"ns": app.ns, "name": pod.pvc, "pv": pod.pv, "uid": self.uuid()})
            self.pvs.append({"name": pod.pv, "ns": app.ns, "claim": pod.pvc, "uid": self.uuid()})
        self.pods[(pod.ns, pod.name)] = pod
        self.bind(pod, node)
        return pod

    def bind(self, pod: Pod, node: Node):
        pod.node = node
        node.pods.append(pod)
        for key in self.pod_refs(pod):
            node.refs.setdefault(key, {})[(pod.ns, pod.name)] = pod.visible

    def unbind(self, pod: Pod):
        node = pod.node
        pod.alive = False
        node.pods.remove(pod)
        for key in self.pod_refs(pod):
            holders = node.refs.get(key)
            if holders is not None:
                holders.pop((pod.ns, pod.name), None)
                if not holders:
                    del node.refs[key]
        del self.pods[(pod.ns, pod.name)]

    @staticmethod
    def pod_refs(pod: Pod):
        keys = [("secret", pod.ns, s) for s in pod.secret_refs()]
        keys += [("configmap", pod.ns, c) for c in pod.configmap_refs()]
        keys.append(("serviceaccount", pod.ns, pod.app.sa))
        if pod.pvc:
            keys.append(("pvc", pod.ns, pod.pvc))
            keys.append(("pv", "", pod.pv))
        return keys

    def access(self, node: Node, key):
        """Target verdict of a graph-checked request for `key` by `node` at this moment.

        Returns (verdict, reason) where reason is the Node authorizer's reason for `forbidden`
        and what is missing for `indeterminate`. The target is what can be known from the
        objects dump and the log: a path through known pods allows; no path on a node that
        runs pods missing from the dump (their status patches show them) is indeterminate.
        """
        holders = node.refs.get(key)
        if holders and any(holders.values()):
            return "allowed_by_node", ""
        hidden = sorted("%s/%s" % (p.ns, p.name) for p in node.pods if not p.visible)
        if hidden:
            return "indeterminate", "pods on node %s missing from the objects dump: %s" % (
                node.name, ",".join(hidden))
        return "forbidden", R_NO_RELATIONSHIP.format(node=node.name)

    def graph_args(self, node: Node, key) -> dict:
        verdict, reason = self.access(node, key)
        return {"verdict": verdict, "reason": reason, "actual": self.actually_allowed(node, key)}

    def actually_allowed(self, node: Node, key) -> bool:
        """What the real apiserver (which knows every pod) decides under Node,RBAC."""
        return key in node.refs

    # -- the objects dump ----------------------------------------------------------------------

    def pod_spec(self, pod: Pod, with_node: bool) -> dict:
        app = pod.app
        vols = []
        for s in app.secrets:
            vols.append({"name": s, "secret": {"secretName": s, "defaultMode": 420}})
        for c in app.configmaps:
            vols.append({"name": c, "configMap": {"name": c, "defaultMode": 420}})
        if pod.pvc:
            vols.append({"name": "data", "persistentVolumeClaim": {"claimName": pod.pvc}})
        vols.append({"name": pod.api_access, "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}], "defaultMode": 420}})
        mounts = [{"name": v["name"], "readOnly": True, "mountPath": "/etc/%s" % v["name"]}
                  for v in vols]
        env = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.name"}}}]
        if app.env_secret:
            env.append({"name": "API_KEY", "valueFrom": {"secretKeyRef": {
                "name": app.env_secret, "key": "api-key"}}})
        container = {
            "name": app.name.rsplit("-", 1)[0], "image": app.image,
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}], "env": env,
            "resources": {"limits": {"cpu": "500m", "memory": "512Mi"},
                          "requests": {"cpu": "100m", "memory": "128Mi"}},
            "volumeMounts": mounts,
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                              "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1,
                              "failureThreshold": 3},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}
        spec = {"volumes": vols, "containers": [container], "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                "serviceAccountName": app.sa, "serviceAccount": app.sa}
        if with_node:
            spec["nodeName"] = pod.node.name
        spec["securityContext"] = {}
        spec["imagePullSecrets"] = [{"name": "registry-pull"}] if "registry-pull" in app.secrets else []
        if not spec["imagePullSecrets"]:
            del spec["imagePullSecrets"]
        spec["schedulerName"] = "default-scheduler"
        spec["tolerations"] = [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}]
        spec["priority"] = 0
        spec["enableServiceLinks"] = True
        spec["preemptionPolicy"] = "PreemptLowerPriority"
        return spec

    def pod_meta(self, pod: Pod) -> dict:
        app = pod.app
        owner_kind = "ReplicaSet" if app.kind == "Deployment" else "StatefulSet"
        owner_name = "%s-%s" % (app.name, app.rs_hash) if app.kind == "Deployment" else app.name
        labels = {"app.kubernetes.io/name": app.name}
        if app.kind == "Deployment":
            labels["pod-template-hash"] = app.rs_hash
        return {"name": pod.name, "generateName": pod.name.rsplit("-", 1)[0] + "-",
                "namespace": pod.ns, "uid": pod.uid,
                "creationTimestamp": self.clock.fmt_s(pod.created_us), "labels": labels,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind,
                                     "name": owner_name, "uid": self.ctrl_uid(owner_name), "controller": True,
                                     "blockOwnerDeletion": True}]}

    def write_objects(self, path: str):
        items = []
        for node in self.nodes:
            items.append({"apiVersion": "v1", "kind": "Node", "metadata": {
                "name": node.name, "uid": node.uid,
                "labels": {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux",
                           "kubernetes.io/arch": "amd64"}},
                "spec": {"podCIDR": "10.244.%d.0/24" % (int(node.name.split("-")[1]) % 256)},
                "status": {"addresses": [{"type": "InternalIP", "address": node.ip},
                                         {"type": "Hostname", "address": node.name}],
                           "nodeInfo": {"kubeletVersion": KUBE_VERSION}}})
        for pod in self.pods.values():
            if not pod.visible:
                continue
            items.append({"apiVersion": "v1", "kind": "Pod", "metadata": self.pod_meta(pod),
                          "spec": self.pod_spec(pod, True),
                          "status": {"phase": "Running", "hostIP": pod.node.ip, "podIP": pod.ip}})
        visible_pvcs = {(p.ns, p.pvc) for p in self.pods.values() if p.pvc and p.visible}
        for c in self.pvcs:
            if (c["ns"], c["name"]) not in visible_pvcs:
                continue
            items.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
                "name": c["name"], "namespace": c["ns"], "uid": c["uid"]},
                "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": c["pv"],
                         "resources": {"requests": {"storage": "10Gi"}},
                         "storageClassName": "standard"},
                "status": {"phase": "Bound"}})
        for v in self.pvs:
            if (v["ns"], v["claim"]) not in visible_pvcs:
                continue
            items.append({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {
                "name": v["name"], "uid": v["uid"]},
                "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                         "claimRef": {"kind": "PersistentVolumeClaim", "namespace": v["ns"],
                                      "name": v["claim"], "apiVersion": "v1"},
                         "csi": {"driver": "pd.csi.storage.gke.io", "volumeHandle": v["name"]},
                         "persistentVolumeReclaimPolicy": "Delete",
                         "storageClassName": "standard"},
                "status": {"phase": "Bound"}})
        doc = {"apiVersion": "v1", "items": items, "kind": "List",
               "metadata": {"resourceVersion": ""}}
        with open(path, "w") as f:
            json.dump(doc, f, indent=4)
            f.write("\n")

    # -- kubelet behaviour -------------------------------------------------------------------

    def node_tick_lease(self, t, node: Node):
        lease = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + node.name
        self.kubelet(t, node, uri=lease + "?timeout=10s", verb="get", resource="leases",
                     ns="kube-node-lease", name=node.name, group="coordination.k8s.io")
        self.kubelet(t + 3000, node, uri=lease + "?timeout=10s", verb="update", resource="leases",
                     ns="kube-node-lease", name=node.name, group="coordination.k8s.io")
        self.schedule(t + 10_000_000 + self.rng.randrange(-40_000, 40_000), self.node_tick_lease, node)

    def node_tick_status(self, t, node: Node):
        rng = self.rng
        self.kubelet(t, node, uri="/api/v1/nodes/%s?resourceVersion=0&timeout=10s".replace(
            "&", "\\u0026") % node.name, verb="get", resource="nodes", name=node.name)
        hb = self.clock.fmt_s(t)
        conds = ",".join('{"lastHeartbeatTime":"%s","type":"%s"}' % (hb, c) for c in
                         ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready"))
        order = ('{"type":"MemoryPressure"},{"type":"DiskPressure"},{"type":"PIDPressure"},'
                 '{"type":"Ready"}')
        node.rv += 1
        if rng.random() < 0.2:
            extra = (',"images":%s,"allocatable":{"cpu":"7910m","ephemeral-storage":"95551679124",'
                     '"memory":"31563812Ki","pods":"110"}' % node.images_json)
        else:
            extra = ""
        patch = ('{"status":{"$setElementOrder/conditions":[%s],"conditions":[%s]%s}}'
                 % (order, conds, extra))
        self.kubelet(t + rng.randrange(1000, 4000), node,
                     uri="/api/v1/nodes/%s/status?timeout=10s" % node.name, verb="patch",
                     resource="nodes", name=node.name, sub="status", req_obj=patch, level="Request")
        self.schedule(t + rng.randrange(10_000_000, 60_000_000), self.node_tick_status, node)

    def pod_tick_status(self, t, pod: Pod):
        if not pod.alive:
            return
        node = pod.node
        hb = self.clock.fmt_s(t)
        patch = ('{"metadata":{"uid":"%s"},"status":{"$setElementOrder/conditions":'
                 '[{"type":"PodReadyToStartContainers"},{"type":"Initialized"},{"type":"Ready"},'
                 '{"type":"ContainersReady"},{"type":"PodScheduled"}],"conditions":'
                 '[{"lastTransitionTime":"%s","status":"True","type":"Ready"},'
                 '{"lastTransitionTime":"%s","status":"True","type":"ContainersReady"}],'
                 '"containerStatuses":[{"containerID":"containerd://%064x","image":"%s",'
                 '"imageID":"%s@sha256:%064x","lastState":{},"name":"%s","ready":true,'
                 '"restartCount":%d,"started":true,"state":{"running":{"startedAt":"%s"}}}]}}'
                 % (pod.uid, hb, hb, self.rng.getrandbits(256), pod.app.image,
                    pod.app.image.split(":")[0], self.rng.getrandbits(256),
                    pod.app.name.rsplit("-", 1)[0], self.rng.randrange(3), hb))
        verdict = "allowed_by_node" if pod.visible else "indeterminate"
        self.kubelet(t, node, uri="/api/v1/namespaces/%s/pods/%s/status" % (pod.ns, pod.name),
                     verb="patch", resource="pods", ns=pod.ns, name=pod.name, sub="status",
                     req_obj=patch, level="Request", verdict=verdict,
                     reason="" if pod.visible else "pod %s/%s not in the objects dump" % (pod.ns, pod.name))
        self.schedule(t + self.rng.randrange(120_000_000, 900_000_000), self.pod_tick_status, pod)

    def watch_timeout(self):
        secs = self.rng.randrange(300, 600)
        return secs, "%dm%ds" % divmod(secs, 60)

    def node_watch(self, t, node: Node, what: str):
        """Long-running watches the kubelet keeps open: own node, its pods, cluster-wide lists."""
        secs, tstr = self.watch_timeout()
        rv = self.next_rv()
        amp = "\\u0026"
        if what == "node":
            q = ("allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s&resourceVersion=%d"
                 "&timeout=%s&timeoutSeconds=%d&watch=true" % (node.name, rv, tstr, secs))
            self.kubelet(t, node, uri="/api/v1/nodes?" + q.replace("&", amp), verb="watch",
                         resource="nodes", name=node.name, watch_us=secs * 1_000_000)
        elif what == "pods":
            q = ("allowWatchBookmarks=true&fieldSelector=spec.nodeName%%3D%s&resourceVersion=%d"
                 "&timeoutSeconds=%d&watch=true" % (node.name, rv, secs))
            self.kubelet(t, node, uri="/api/v1/pods?" + q.replace("&", amp), verb="watch",
                         resource="pods", watch_us=secs * 1_000_000)
        elif what == "services":
            q = ("allowWatchBookmarks=true&resourceVersion=%d&timeout=%s&timeoutSeconds=%d"
                 "&watch=true" % (rv, tstr, secs))
            self.kubelet(t, node, uri="/api/v1/services?" + q.replace("&", amp), verb="watch",
                         resource="services", watch_us=secs * 1_000_000)
        elif what == "csidrivers":
            q = ("allowWatchBookmarks=true&resourceVersion=%d&timeout=%s&timeoutSeconds=%d"
                 "&watch=true" % (rv, tstr, secs))
            self.kubelet(t, node, uri="/apis/storage.k8s.io/v1/csidrivers?" + q.replace("&", amp),
                         verb="watch", resource="csidrivers", group="storage.k8s.io",
                         watch_us=secs * 1_000_000)
        elif what == "runtimeclasses":
            q = ("allowWatchBookmarks=true&resourceVersion=%d&timeout=%s&timeoutSeconds=%d"
                 "&watch=true" % (rv, tstr, secs))
            self.kubelet(t, node, uri="/apis/node.k8s.io/v1/runtimeclasses?" + q.replace("&", amp),
                         verb="watch", resource="runtimeclasses", group="node.k8s.io",
                         watch_us=secs * 1_000_000)
        # Occasionally the watch ends with "too old resource version" and the reflector relists.
        nxt = t + secs * 1_000_000 + self.rng.randrange(1000, 50_000)
        if self.rng.random() < 0.08:
            self.schedule(nxt, self.node_relist, node, what)
        else:
            self.schedule(nxt, self.node_watch, node, what)

    def node_relist(self, t, node: Node, what: str):
        amp = "\\u0026"
        if what == "node":
            self.kubelet(t, node, uri=("/api/v1/nodes?fieldSelector=metadata.name%%3D%s&limit=500"
                                       "&resourceVersion=0" % node.name).replace("&", amp),
                         verb="list", resource="nodes", name=node.name)
        elif what == "pods":
            self.kubelet(t, node, uri=("/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&limit=500"
                                       "&resourceVersion=0" % node.name).replace("&", amp),
                         verb="list", resource="pods")
        elif what == "services":
            self.kubelet(t, node, uri="/api/v1/services?limit=500\\u0026resourceVersion=0",
                         verb="list", resource="services")
        elif what == "csidrivers":
            self.kubelet(t, node, uri="/apis/storage.k8s.io/v1/csidrivers?limit=500\\u0026resourceVersion=0",
                         verb="list", resource="csidrivers", group="storage.k8s.io")
        else:
            self.kubelet(t, node, uri="/apis/node.k8s.io/v1/runtimeclasses?limit=500\\u0026resourceVersion=0",
                         verb="list", resource="runtimeclasses", group="node.k8s.io")
        self.schedule(t + self.rng.randrange(2000, 30_000), self.node_watch, node, what)

    def object_watch(self, t, node: Node, key, first: bool):
        """Single-object watch of a secret or config map, re-opened while a pod needs it."""
        kind, ns, name = key
        if key not in node.refs:
            return  # no pod on this node needs it any more: the kubelet stops watching
        resource = "secrets" if kind == "secret" else "configmaps"
        rv = self.next_rv()
        amp = "\\u0026"
        if first:
            self.kubelet(t, node, uri=("/api/v1/namespaces/%s/%s?fieldSelector=metadata.name%%3D%s"
                                       "&limit=500&resourceVersion=0" % (ns, resource, name)).replace("&", amp),
                         verb="list", resource=resource, ns=ns, name=name,
                         **self.graph_args(node, key))
            t += self.rng.randrange(2000, 20_000)
        secs, tstr = self.watch_timeout()
        q = ("allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s&resourceVersion=%d"
             "&timeout=%s&timeoutSeconds=%d&watch=true" % (name, rv, tstr, secs))
        self.kubelet(t, node, uri="/api/v1/namespaces/%s/%s?%s" % (ns, resource, q.replace("&", amp)),
                     verb="watch", resource=resource, ns=ns, name=name,
                     **self.graph_args(node, key),
                     watch_us=secs * 1_000_000)
        self.schedule(t + secs * 1_000_000 + self.rng.randrange(1000, 30_000),
                      self.object_watch, node, key, False)

    def object_get(self, t, node: Node, key):
        kind, ns, name = key
        if kind == "secret":
            uri, res = "/api/v1/namespaces/%s/secrets/%s" % (ns, name), "secrets"
        elif kind == "configmap":
            uri, res = "/api/v1/namespaces/%s/configmaps/%s" % (ns, name), "configmaps"
        elif kind == "pvc":
            uri, res = "/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (ns, name), "persistentvolumeclaims"
        else:
            uri, res = "/api/v1/persistentvolumes/%s" % name, "persistentvolumes"
        self.kubelet(t, node, uri=uri, verb="get", resource=res, ns=ns, name=name,
                     **self.graph_args(node, key))

    def pod_tick_volumes(self, t, pod: Pod):
        """Periodic PVC/PV gets of the volume manager, and occasional env-var secret gets."""
        if not pod.alive:
            return
        node = pod.node
        if pod.pvc:
            self.object_get(t, node, ("pvc", pod.ns, pod.pvc))
            self.object_get(t + 2000, node, ("pv", "", pod.pv))
        if pod.app.env_secret:
            self.object_get(t + 4000, node, ("secret", pod.ns, pod.app.env_secret))
        self.schedule(t + self.rng.randrange(120_000_000, 600_000_000), self.pod_tick_volumes, pod)

    def pod_tick_token(self, t, pod: Pod):
        if not pod.alive:
            return
        node = pod.node
        body = ('{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":'
                '{"name":"%s","namespace":"%s","creationTimestamp":null},"spec":{"audiences":null,'
                '"expirationSeconds":3607,"boundObjectRef":{"kind":"Pod","apiVersion":"v1",'
                '"name":"%s","uid":"%s"}},"status":{"token":"","expirationTimestamp":null}}'
                % (pod.app.sa, pod.ns, pod.name, pod.uid))
        key = ("serviceaccount", pod.ns, pod.app.sa)
        args = self.graph_args(node, key)
        if not pod.visible:
            # NodeRestriction compares the boundObjectRef with the pod's UID and node (spec
            # 10.7); for a pod missing from the dump (and never created in the log) neither
            # is known.
            args["admission"] = ("indeterminate", "pod %s/%s not in the objects dump" % (pod.ns, pod.name))
        self.kubelet(t, node, uri="/api/v1/namespaces/%s/serviceaccounts/%s/token" % (pod.ns, pod.app.sa),
                     verb="create", resource="serviceaccounts", ns=pod.ns, name=pod.app.sa,
                     sub="token", req_obj=body, level="Request", **args)
        self.schedule(t + self.rng.randrange(2_800_000_000, 2_900_000_000), self.pod_tick_token, pod)

    def start_pod_activity(self, t, pod: Pod, fresh: bool):
        """Schedules a pod's periodic kubelet traffic; for a new pod also its start-up reads."""
        rng = self.rng
        node = pod.node
        if fresh:
            for key in self.pod_refs(pod):
                if key[0] in ("secret", "configmap"):
                    holders = node.refs.get(key, {})
                    if len(holders) == 1:  # first pod on this node that needs it
                        self.schedule(t + rng.randrange(5000, 300_000), self.object_watch, node, key, True)
            if pod.pvc:
                self.schedule(t + rng.randrange(5000, 200_000), self.object_get, node, ("pvc", pod.ns, pod.pvc))
                self.schedule(t + rng.randrange(200_000, 400_000), self.object_get, node, ("pv", "", pod.pv))
            self.schedule(t + rng.randrange(300_000, 900_000), self.pod_tick_token, pod)
            self.schedule(t + rng.randrange(1_000_000, 5_000_000), self.pod_tick_status, pod)
            self.schedule(t + rng.randrange(1_000_000, 5_000_000), self.kubelet_event, pod, "Pulled")
            self.schedule(t + rng.randrange(120_000_000, 600_000_000), self.pod_tick_volumes, pod)
        else:
            # A pod missing from the dump shows itself early through its status patches, so
            # that the analyzer can know that its node's graph is incomplete.
            self.schedule(t + rng.randrange(0, 600_000_000 if pod.visible else 60_000_000),
                          self.pod_tick_status, pod)
            self.schedule(t + rng.randrange(0, 2_900_000_000), self.pod_tick_token, pod)
            self.schedule(t + rng.randrange(0, 600_000_000), self.pod_tick_volumes, pod)

    def kubelet_event(self, t, pod: Pod, reason: str):
        if not pod.alive:
            return
        node = pod.node
        ev_name = "%s.%x" % (pod.name, self.rng.getrandbits(60))
        body = ('{"kind":"Event","apiVersion":"v1","metadata":{"name":"%s","namespace":"%s",'
                '"creationTimestamp":null},"involvedObject":{"kind":"Pod","namespace":"%s",'
                '"name":"%s","uid":"%s","apiVersion":"v1","fieldPath":"spec.containers{%s}"},'
                '"reason":"%s","message":"Container image \\"%s\\" already present on machine",'
                '"source":{"component":"kubelet","host":"%s"},"firstTimestamp":"%s",'
                '"lastTimestamp":"%s","count":1,"type":"Normal","eventTime":null,'
                '"reportingComponent":"kubelet","reportingInstance":"%s"}'
                % (ev_name, pod.ns, pod.ns, pod.name, pod.uid, pod.app.name.rsplit("-", 1)[0],
                   reason, pod.app.image, node.name, self.clock.fmt_s(t), self.clock.fmt_s(t),
                   node.name))
        self.kubelet(t, node, uri="/api/v1/namespaces/%s/events" % pod.ns, verb="create",
                     resource="events", ns=pod.ns, name=ev_name, req_obj=body, level="Request")

    # -- requests a kubelet would not be allowed ----------------------------------------------

    def bad(self, t, node: Node):
        rng = self.rng
        kind = rng.randrange(5)
        others = [n for n in self.nodes if n is not node]
        if kind == 0:
            # A secret that only pods on other nodes reference.
            for _ in range(20):
                other = rng.choice(others) if others else None
                if other is None or not other.pods:
                    break
                pod = rng.choice(other.pods)
                cands = [("secret", pod.ns, s) for s in pod.secret_refs()
                         if ("secret", pod.ns, s) not in node.refs]
                if cands:
                    key = rng.choice(cands)
                    self.kubelet(t, node, uri="/api/v1/namespaces/%s/secrets/%s" % (key[1], key[2]),
                                 verb="get", resource="secrets", ns=key[1], name=key[2],
                                 bad=True, **self.graph_args(node, key))
                    return
            kind = 1
        if kind == 1:
            self.kubelet(t, node, uri="/api/v1/secrets?limit=500\\u0026resourceVersion=0",
                         verb="list", resource="secrets", verdict="forbidden",
                         reason=R_NAMESPACED_ONLY, bad=True)
        elif kind == 2:
            self.kubelet(t, node, uri="/api/v1/pods?limit=500\\u0026resourceVersion=0", verb="list",
                         resource="pods", verdict="forbidden", reason=R_PODS_SELECTOR, bad=True)
        elif kind == 3 and others:
            other = rng.choice(others)
            self.kubelet(t, node, uri="/api/v1/nodes/%s" % other.name, verb="get",
                         resource="nodes", name=other.name, verdict="forbidden",
                         reason=R_NODE_OTHER.format(node=node.name, name=other.name), bad=True)
        elif kind == 4 and others:
            other = rng.choice(others)
            self.kubelet(t, node, uri="/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s?timeout=10s"
                         % other.name, verb="get", resource="leases", ns="kube-node-lease",
                         name=other.name, group="coordination.k8s.io", verdict="forbidden",
                         reason=R_LEASE_OTHER, bad=True)

    # -- pod churn: controller create, scheduler binding, controller delete, kubelet delete -----

    def churn(self, t):
        rng = self.rng
        pods = [p for p in self.pods.values()
                if p.app.kind == "Deployment" and not p.terminating and p.node is not None]
        if pods:
            old = rng.choice(pods)
            app = old.app
            self.controller_delete(t, old)
            node = rng.choice(self.nodes)
            self.controller_create(t + rng.randrange(5000, 50_000), app, node)
        interval = max(1_000_000, int(3_600_000_000 / max(1.0, self.a.churn_per_hour)))
        self.schedule(t + rng.randrange(interval // 2, interval * 3 // 2), self.churn)

    def controller_create(self, t, app: App, node: Node):
        rng = self.rng
        pod = Pod(app.ns, self.pod_name(app, {}), self.uuid(), app, None, True,
                  "kube-api-access-" + self.suffix(), t, "10.244.%d.%d" % (rng.randrange(256), rng.randrange(2, 254)))
        meta = self.pod_meta(pod)
        del meta["uid"]
        meta["creationTimestamp"] = None
        del meta["name"]
        body = go_json({"kind": "Pod", "apiVersion": "v1", "metadata": meta,
                        "spec": self.pod_spec(pod, False), "status": {}})
        user = ('{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"%s",'
                '"groups":["system:serviceaccounts","system:serviceaccounts:kube-system",'
                '"system:authenticated"]}' % self.ctrl_uid("replicaset-controller"))
        objref = ',"objectRef":{"resource":"pods","namespace":"%s","name":"%s","apiVersion":"v1"}' % (
            app.ns, pod.name)
        reason = go_escape('RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller" '
                           'of ClusterRole "system:controller:replicaset-controller" to ServiceAccount '
                           '"replicaset-controller/kube-system"')
        self.request(t, level="Request", uri="/api/v1/namespaces/%s/pods" % app.ns, verb="create",
                     user=user, ip="10.0.0.2",
                     ua="kube-controller-manager/%s (linux/amd64) kubernetes/%s/system:serviceaccount:kube-system:replicaset-controller"
                     % (KUBE_VERSION, KUBE_COMMIT), objref=objref, kubelet=False, code=201,
                     reason=reason, req_obj=body,
                     annotations_extra=',"pod-security.kubernetes.io/enforce-policy":"privileged:latest"')
        t2 = t + rng.randrange(20_000, 400_000)
        self.pods[(pod.ns, pod.name)] = pod
        # The graph gains the pod's edges when the binding is logged, not before.
        self.schedule(t2, self.scheduler_bind, pod, node)

    def scheduler_bind(self, t2, pod: Pod, node: Node):
        rng = self.rng
        binding = ('{"kind":"Binding","apiVersion":"v1","metadata":{"name":"%s","namespace":"%s",'
                   '"uid":"%s","creationTimestamp":null},"target":{"kind":"Node","name":"%s"}}'
                   % (pod.name, pod.ns, pod.uid, node.name))
        objref = (',"objectRef":{"resource":"pods","namespace":"%s","name":"%s","apiVersion":"v1",'
                  '"subresource":"binding"}' % (pod.ns, pod.name))
        self.request(t2, level="Request", uri="/api/v1/namespaces/%s/pods/%s/binding" % (pod.ns, pod.name),
                     verb="create", user='{"username":"system:kube-scheduler","groups":["system:authenticated"]}',
                     ip="10.0.0.2", ua="kube-scheduler/%s (linux/amd64) kubernetes/%s/scheduler" % (KUBE_VERSION, KUBE_COMMIT),
                     objref=objref, kubelet=False, code=201, req_obj=binding,
                     reason=go_escape('RBAC: allowed by ClusterRoleBinding "system:kube-scheduler" of '
                                      'ClusterRole "system:kube-scheduler" to User "system:kube-scheduler"'))
        self.bind(pod, node)
        self.start_pod_activity(t2 + rng.randrange(50_000, 500_000), pod, True)

    def controller_delete(self, t, pod: Pod):
        pod.terminating = True
        user = ('{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"%s",'
                '"groups":["system:serviceaccounts","system:serviceaccounts:kube-system",'
                '"system:authenticated"]}' % self.ctrl_uid("replicaset-controller"))
        objref = ',"objectRef":{"resource":"pods","namespace":"%s","name":"%s","apiVersion":"v1"}' % (
            pod.ns, pod.name)
        self.request(t, level="Request", uri="/api/v1/namespaces/%s/pods/%s" % (pod.ns, pod.name),
                     verb="delete", user=user, ip="10.0.0.2",
                     ua="kube-controller-manager/%s (linux/amd64) kubernetes/%s/system:serviceaccount:kube-system:replicaset-controller"
                     % (KUBE_VERSION, KUBE_COMMIT), objref=objref, kubelet=False,
                     req_obj='{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}',
                     reason=go_escape('RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller" '
                                      'of ClusterRole "system:controller:replicaset-controller" to ServiceAccount '
                                      '"replicaset-controller/kube-system"'))
        # Graceful termination: the kubelet stops the containers, then deletes the pod for good.
        self.schedule(t + self.rng.randrange(2_000_000, 30_000_000), self.kubelet_final_delete, pod)

    def kubelet_final_delete(self, t, pod: Pod):
        node = pod.node
        verdict = "allowed_by_node" if pod.visible else "indeterminate"
        self.kubelet(t, node, uri="/api/v1/namespaces/%s/pods/%s" % (pod.ns, pod.name),
                     verb="delete", resource="pods", ns=pod.ns, name=pod.name, level="Request",
                     req_obj='{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0,'
                             '"preconditions":{"uid":"%s"}}' % pod.uid, verdict=verdict,
                     reason="" if pod.visible else "pod %s/%s not in the objects dump" % (pod.ns, pod.name))
        # Under rbac-only the kubelet's delete is refused: the pod stays (terminating).
        if self.a.scenario != "rbac-only":
            self.unbind(pod)

    # -- everything that is not a kubelet ---------------------------------------------------------

    def ctrl_uid(self, name: str) -> str:
        cache = self.__dict__.setdefault("_ctrl_uids", {})
        if name not in cache:
            r = random.Random(name)
            h = "%032x" % r.getrandbits(128)
            cache[name] = "%s-%s-4%s-a%s-%s" % (h[0:8], h[8:12], h[13:16], h[17:20], h[20:32])
        return cache[name]

    def filler(self, t):
        rng = self.rng
        r = rng.random()
        ns = rng.choice(NAMESPACES)
        app = rng.choice(self.apps)
        amp = "\\u0026"
        if r < 0.18:
            who = rng.choice(("kube-controller-manager", "kube-scheduler"))
            user = '{"username":"system:%s","groups":["system:authenticated"]}' % who
            verb = rng.choice(("get", "update"))
            self.request(t, level="Metadata",
                         uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/%s?timeout=5s" % who,
                         verb=verb, user=user, ip="10.0.0.2",
                         ua="%s/%s (linux/amd64) kubernetes/%s/leader-election" % (who, KUBE_VERSION, KUBE_COMMIT),
                         objref=',"objectRef":{"resource":"leases","namespace":"kube-system","name":"%s",'
                                '"apiGroup":"coordination.k8s.io","apiVersion":"v1"}' % who,
                         kubelet=False,
                         reason=go_escape('RBAC: allowed by ClusterRoleBinding "system:%s" of ClusterRole '
                                          '"system:%s" to User "system:%s"' % (who, who, who)))
        elif r < 0.40:
            ctrl = rng.choice(("endpointslice-controller", "deployment-controller",
                               "replicaset-controller", "generic-garbage-collector",
                               "resourcequota-controller", "horizontal-pod-autoscaler",
                               "endpoint-controller", "statefulset-controller"))
            user = ('{"username":"system:serviceaccount:kube-system:%s","uid":"%s","groups":'
                    '["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"],'
                    '"extra":{"authentication.kubernetes.io/credential-id":["JTI=%s"]}}'
                    % (ctrl, self.ctrl_uid(ctrl), self.ctrl_uid(ctrl + "jti")))
            res, grp = rng.choice((("endpointslices", "discovery.k8s.io"), ("deployments", "apps"),
                                   ("replicasets", "apps"), ("statefulsets", "apps"),
                                   ("horizontalpodautoscalers", "autoscaling")))
            verb = rng.choice(("update", "get", "list", "watch"))
            base = "/apis/%s/v%d/namespaces/%s/%s" % (grp, 2 if grp == "autoscaling" else 1, ns, res)
            reason = go_escape('RBAC: allowed by ClusterRoleBinding "system:controller:%s" of ClusterRole '
                               '"system:controller:%s" to ServiceAccount "%s/kube-system"' % (ctrl, ctrl, ctrl))
            ua = ("kube-controller-manager/%s (linux/amd64) kubernetes/%s/system:serviceaccount:kube-system:%s"
                  % (KUBE_VERSION, KUBE_COMMIT, ctrl))
            ver = "v2" if grp == "autoscaling" else "v1"
            if verb in ("update", "get"):
                name = "%s-%s" % (app.name, self.suffix(5)) if res == "endpointslices" else app.name
                sub = "status" if verb == "update" and res != "endpointslices" else ""
                uri = base + "/" + name + ("/status" if sub else "")
                objref = (',"objectRef":{"resource":"%s","namespace":"%s","name":"%s","apiGroup":"%s",'
                          '"apiVersion":"%s"%s}' % (res, ns, name, grp, ver,
                                                    ',"subresource":"status"' if sub else ""))
                req_obj = None
                level = "Metadata"
                if verb == "update" and res == "endpointslices":
                    level = "Request"
                    eps = ",".join('{"addresses":["10.244.%d.%d"],"conditions":{"ready":true,"serving":true,'
                                   '"terminating":false},"targetRef":{"kind":"Pod","namespace":"%s","name":"%s-%s",'
                                   '"uid":"%s"},"nodeName":"node-%d"}'
                                   % (rng.randrange(256), rng.randrange(2, 254), ns, app.name, self.suffix(),
                                      self.uuid(), rng.randrange(1, self.a.nodes + 1))
                                   for _ in range(rng.randrange(1, 6)))
                    req_obj = ('{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"%s",'
                               '"generateName":"%s-","namespace":"%s","uid":"%s","resourceVersion":"%d",'
                               '"labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io",'
                               '"kubernetes.io/service-name":"%s"}},"addressType":"IPv4","endpoints":[%s],'
                               '"ports":[{"name":"http","protocol":"TCP","port":8080}]}'
                               % (name, app.name, ns, self.uuid(), self.next_rv(), app.name, eps))
                self.request(t, level=level, uri=uri, verb=verb, user=user, ip="10.0.0.2", ua=ua,
                             objref=objref, kubelet=False, reason=reason, req_obj=req_obj)
            else:
                secs, tstr = self.watch_timeout()
                q = ("allowWatchBookmarks=true&resourceVersion=%d&timeout=%s&timeoutSeconds=%d&watch=true"
                     % (self.next_rv(), tstr, secs)) if verb == "watch" else "limit=500&resourceVersion=0"
                uri = "/apis/%s/%s/%s?%s" % (grp, ver, res, q.replace("&", amp))
                objref = ',"objectRef":{"resource":"%s","apiGroup":"%s","apiVersion":"%s"}' % (res, grp, ver)
                self.request(t, level="Metadata", uri=uri, verb=verb, user=user, ip="10.0.0.2", ua=ua,
                             objref=objref, kubelet=False, reason=reason, watch_us=secs * 1_000_000)
        elif r < 0.55:
            # Add-ons with bound service-account tokens (pod-bound extra).
            sa_ns, sa, ua = rng.choice((
                ("kube-system", "coredns", "coredns/v1.12.0 (linux/amd64) kubernetes/v1.12.0"),
                ("ingress-nginx", "ingress-nginx", "nginx-ingress-controller/v1.11.3 (linux/amd64) ingress-nginx/ef4b2b5"),
                ("monitoring", "prometheus", "Prometheus/2.54.1"),
                ("monitoring", "kube-state-metrics", "v2.13.0 (linux/amd64) kubernetes/$Format")))
            podname = "%s-%s-%s" % (sa, self.ctrl_uid(sa)[:10].replace("-", "x"), self.ctrl_uid(sa)[24:29])
            user = ('{"username":"system:serviceaccount:%s:%s","uid":"%s","groups":["system:serviceaccounts",'
                    '"system:serviceaccounts:%s","system:authenticated"],"extra":{'
                    '"authentication.kubernetes.io/credential-id":["JTI=%s"],'
                    '"authentication.kubernetes.io/node-name":["node-1"],'
                    '"authentication.kubernetes.io/node-uid":["%s"],'
                    '"authentication.kubernetes.io/pod-name":["%s"],'
                    '"authentication.kubernetes.io/pod-uid":["%s"]}}'
                    % (sa_ns, sa, self.ctrl_uid(sa), sa_ns, self.ctrl_uid(sa + "jti"),
                       self.ctrl_uid("node-1"), podname, self.ctrl_uid(sa + "pod")))
            res = rng.choice(("endpointslices", "services", "namespaces", "pods", "ingresses"))
            grp = {"endpointslices": "discovery.k8s.io", "ingresses": "networking.k8s.io"}.get(res, "")
            verb = "watch" if rng.random() < 0.5 else "list"
            secs, tstr = self.watch_timeout()
            q = ("allowWatchBookmarks=true&resourceVersion=%d&timeout=%s&timeoutSeconds=%d&watch=true"
                 % (self.next_rv(), tstr, secs)) if verb == "watch" else "limit=500&resourceVersion=0"
            prefix = "/apis/%s/v1" % grp if grp else "/api/v1"
            uri = "%s/%s?%s" % (prefix, res, q.replace("&", amp))
            objref = ',"objectRef":{"resource":"%s"%s,"apiVersion":"v1"}' % (
                res, ',"apiGroup":"%s"' % grp if grp else "")
            reason = go_escape('RBAC: allowed by ClusterRoleBinding "%s" of ClusterRole "%s" to '
                               'ServiceAccount "%s/%s"' % (sa, sa, sa, sa_ns))
            self.request(t, level="Metadata", uri=uri, verb=verb, user=user, ip="10.244.%d.%d" % (
                len(sa) * 7 % 256, len(sa_ns) * 13 % 250 + 2), ua=ua, objref=objref, kubelet=False,
                reason=reason, watch_us=secs * 1_000_000)
        elif r < 0.80:
            # People with kubectl, through OIDC.
            who = rng.choice(("alice@example.com", "bob@example.com", "carol@example.com",
                              "deploy-bot@example.com"))
            user = ('{"username":"oidc:%s","groups":["oidc:developers","system:authenticated"]}' % who)
            ua = "kubectl/v1.34.1 (darwin/arm64) kubernetes/93248f9"
            reason = go_escape('RBAC: allowed by RoleBinding "developers/%s" of ClusterRole "edit" to '
                               'Group "oidc:developers"' % ns)
            kind = rng.randrange(5)
            if kind == 0:
                self.request(t, level="Metadata", uri="/api/v1/namespaces/%s/pods?limit=500" % ns,
                             verb="list", user=user, ip="203.0.113.%d" % (len(who) * 5 % 250), ua=ua,
                             objref=',"objectRef":{"resource":"pods","namespace":"%s","apiVersion":"v1"}' % ns,
                             kubelet=False, reason=reason)
            elif kind == 1:
                cm = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {
                    "name": "%s-config" % app.name, "namespace": app.ns, "uid": self.uuid(),
                    "resourceVersion": str(self.next_rv()),
                    "creationTimestamp": "2026-10-01T09:12:44Z"},
                    "data": {"config.yaml": "server:\n  port: 8080\n  logLevel: info\nfeatures:\n"
                             + "".join("  flag%d: %s\n" % (i, rng.random() < 0.5) for i in range(rng.randrange(5, 40)))}}
                self.request(t, level="RequestResponse",
                             uri="/api/v1/namespaces/%s/configmaps/%s-config" % (app.ns, app.name),
                             verb="get", user=user, ip="203.0.113.%d" % (len(who) * 5 % 250), ua=ua,
                             objref=',"objectRef":{"resource":"configmaps","namespace":"%s","name":"%s-config",'
                                    '"apiVersion":"v1"}' % (app.ns, app.name),
                             kubelet=False, reason=reason, resp_obj=go_json(cm))
            elif kind == 2:
                self.request(t, level="Metadata",
                             uri="/apis/apps/v1/namespaces/%s/deployments/%s" % (app.ns, app.name),
                             verb="get", user=user, ip="203.0.113.%d" % (len(who) * 5 % 250), ua=ua,
                             objref=',"objectRef":{"resource":"deployments","namespace":"%s","name":"%s",'
                                    '"apiGroup":"apps","apiVersion":"v1"}' % (app.ns, app.name),
                             kubelet=False, reason=reason)
            elif kind == 3:
                self.request(t, level="Metadata",
                             uri="/api/v1/namespaces/%s/events?fieldSelector=involvedObject.name%%3D%s%s"
                                 "involvedObject.namespace%%3D%s&limit=500" % (app.ns, app.name, "%2C", app.ns),
                             verb="list", user=user, ip="203.0.113.%d" % (len(who) * 5 % 250), ua=ua,
                             objref=',"objectRef":{"resource":"events","namespace":"%s","apiVersion":"v1"}' % app.ns,
                             kubelet=False, reason=reason)
            else:
                self.request(t, level="Metadata", uri="/apis/apps/v1/namespaces/%s/deployments/%s/scale" % (ns, app.name),
                             verb="get", user=user, ip="203.0.113.%d" % (len(who) * 5 % 250), ua=ua,
                             objref=',"objectRef":{"resource":"deployments","namespace":"%s","name":"%s",'
                                    '"apiGroup":"apps","apiVersion":"v1","subresource":"scale"}' % (ns, app.name),
                             kubelet=False, reason=reason)
        elif r < 0.9:
            # Non-resource discovery requests: no objectRef.
            path = rng.choice(("/api", "/apis", "/version", "/openapi/v3", "/healthz"))
            self.request(t, level="Metadata", uri=path + ("?timeout=32s" if path.startswith("/api") else ""),
                         verb="get", user='{"username":"oidc:alice@example.com","groups":["oidc:developers",'
                                          '"system:authenticated"]}',
                         ip="203.0.113.17", ua="kubectl/v1.34.1 (darwin/arm64) kubernetes/93248f9", objref="",
                         kubelet=False, reason=go_escape('RBAC: allowed by ClusterRoleBinding "system:discovery" of '
                                                         'ClusterRole "system:discovery" to Group "system:authenticated"'))
        else:
            user = '{"username":"system:apiserver","uid":"%s","groups":["system:authenticated"]}' % self.ctrl_uid("apiserver")
            res = rng.choice(("configmaps", "secrets", "namespaces", "resourcequotas", "limitranges"))
            secs, tstr = self.watch_timeout()
            q = ("allowWatchBookmarks=true&resourceVersion=%d&timeout=%s&timeoutSeconds=%d&watch=true"
                 % (self.next_rv(), tstr, secs))
            self.request(t, level="Metadata", uri="/api/v1/%s?%s" % (res, q.replace("&", amp)), verb="watch",
                         user=user, ip="::1", ua="kube-apiserver/%s (linux/amd64) kubernetes/%s" % (KUBE_VERSION, KUBE_COMMIT),
                         objref=',"objectRef":{"resource":"%s","apiVersion":"v1"}' % res, kubelet=False,
                         reason="", watch_us=secs * 1_000_000)

    # -- main loop -----------------------------------------------------------------------------

    def run(self):
        a, rng = self.a, self.rng
        t0 = self.start_us
        for node in self.nodes:
            self.schedule(t0 + rng.randrange(0, 10_000_000), self.node_tick_lease, node)
            self.schedule(t0 + rng.randrange(0, 30_000_000), self.node_tick_status, node)
            for what in ("node", "pods", "services", "csidrivers", "runtimeclasses"):
                self.schedule(t0 + rng.randrange(0, 540_000_000), self.node_watch, node, what)
            for key in list(node.refs):
                if key[0] in ("secret", "configmap"):
                    self.schedule(t0 + rng.randrange(0, 600_000_000), self.object_watch, node, key, False)
        for pod in list(self.pods.values()):
            self.start_pod_activity(t0, pod, False)
        if a.churn_per_hour > 0:
            self.schedule(t0 + rng.randrange(0, 60_000_000), self.churn)
        target = a.target_bytes
        end = self.end_us
        while self.heap:
            t, _, fn, args = heapq.heappop(self.heap)
            if end is not None and t >= end:
                while self.pending and self.pending[0][0] < end:
                    self.write_late(heapq.heappop(self.pending)[2])
                break
            while self.pending and self.pending[0][0] <= t:
                self.write_late(heapq.heappop(self.pending)[2])
            fn(t, *args)
            if target and self.written() >= target:
                self.stop = True
                break
        # Watches still open at the end of the window have only their first two stages.
        self.flush()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", "-o", default="-", help="output file ('-' = stdout)")
    p.add_argument("--nodes", type=int, default=10)
    p.add_argument("--pods-per-node", type=int, default=20)
    p.add_argument("--duration", default="1h", help="time window, e.g. 1h, 90m (0 = unbounded)")
    p.add_argument("--target-bytes", default="0", help="stop at about this many bytes (e.g. 1G)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default="2026-11-02T08:00:00Z", help="start of the window (UTC)")
    p.add_argument("--scenario", choices=SCENARIOS, default="node-rbac",
                   help="configuration the log was recorded under")
    p.add_argument("--kubelet-share", type=float, default=0.5, help="share of lines from kubelets")
    p.add_argument("--bad-share", type=float, default=0.02,
                   help="share of kubelet requests a kubelet would not be allowed")
    p.add_argument("--hidden-share", type=float, default=0.0,
                   help="share of initial pods left out of the objects dump (gives indeterminate)")
    p.add_argument("--churn-per-hour", type=float, default=60.0,
                   help="pod replacements per hour (create, bind, delete)")
    p.add_argument("--gzip", action="store_true", help="gzip the output")
    p.add_argument("--gzip-level", type=int, default=6)
    p.add_argument("--objects-out", help="write a kubectl-style List of the objects at the start")
    p.add_argument("--truth-out", help="write the expected target verdict of every kubelet request")
    p.add_argument("--quiet", "-q", action="store_true")
    a = p.parse_args(argv)
    a.duration_us = parse_duration(a.duration) if a.duration not in ("0", "") else 0
    a.target_bytes = parse_size(a.target_bytes)
    if not 0.0 < a.kubelet_share <= 1.0:
        p.error("--kubelet-share must be in (0, 1]")
    g = Gen(a)
    g.build()
    if a.objects_out:
        g.write_objects(a.objects_out)
    if a.out == "-":
        raw = sys.stdout.buffer
    else:
        raw = open(a.out, "wb")
    out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=a.gzip_level, mtime=0) if a.gzip else raw
    g.out = out
    if a.truth_out:
        g.truth = open(a.truth_out, "w")
    t_start = time.monotonic()
    g.run()
    if a.gzip:
        out.close()
    if raw is not sys.stdout.buffer:
        raw.close()
    else:
        raw.flush()
    if g.truth is not None:
        g.truth.close()
    dt = time.monotonic() - t_start
    if not a.quiet:
        mb = g.bytes_out / 1e6
        sys.stderr.write(
            "gen_audit_log: %d events generated (%.1f%% kubelet), %d requests, %d kubelet requests, "
            "%.1f MB uncompressed in %.1f s = %.1f MB/s; truth %s\n"
            % (g.lines, 100.0 * g.kubelet_lines / max(1, g.lines), g.requests, g.kubelet_requests,
               mb, dt, mb / dt if dt > 0 else 0.0,
               " ".join("%s=%d" % kv for kv in g.truth_counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
