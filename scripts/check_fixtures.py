#!/usr/bin/env python3
"""Independent checks of the fixtures under fixtures/incident-1.19, fixtures/incident-phases
and fixtures/generated, and the source of their expected.json counts.

It shares no code with the generators (scripts/gen_audit_log.py,
scripts/make_incident_fixtures.py) nor with nodeauthz: it re-reads the files and recomputes
everything from the JSON.

    scripts/check_fixtures.py                   # verify; exit 1 on any problem
    scripts/check_fixtures.py --write-expected  # (re)write the expected.json files
    scripts/check_fixtures.py --summary DIR     # print the counts of one folder

Counts follow the `analyze --format json` definitions of issue 2: `lines` = lines in the file,
`events` = audit events, `requests` = distinct auditIDs, `kubelet_requests` = distinct
auditIDs whose user (or impersonated user) starts with `system:node:` or whose user agent
starts with `kubelet/`; per node the kept event of a request is the one of the most preferred
stage (ResponseComplete > Panic > ResponseStarted > RequestReceived) and is counted as
`allowed` (decision allow), `forbidden` (decision forbid) or `no_response` (no decision
recorded: only RequestReceived was logged).
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import os
import re
import sys
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "fixtures")

EVENT_KEYS = ["kind", "apiVersion", "level", "auditID", "stage", "requestURI", "verb", "user",
              "impersonatedUser", "sourceIPs", "userAgent", "objectRef", "responseStatus",
              "requestObject", "responseObject", "requestReceivedTimestamp", "stageTimestamp",
              "annotations"]
OBJREF_KEYS = ["resource", "namespace", "name", "uid", "apiGroup", "apiVersion", "resourceVersion",
               "subresource"]
STAGE_PREF = {"RequestReceived": 0, "ResponseStarted": 1, "Panic": 2, "ResponseComplete": 3}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
LEGACY = ('RBAC: allowed by ClusterRoleBinding "system:node" of ClusterRole "system:node" '
          'to Group "system:nodes"')
# The Node authorizer reasons the generator may inject (spec section 5), as patterns.
NODE_REASONS = [
    re.compile(r"^no relationship found between node '[^']+' and this object$"),
    re.compile(r"^can only read namespaced object of this type$"),
    re.compile(r"^can only list/watch pods with spec\.nodeName field selector$"),
    re.compile(r"^node '([^']+)' cannot read '([^']+)', only its own Node object$"),
    re.compile(r"^can only access node lease with the same name as the requesting node$"),
]

problems: list[str] = []


def problem(where: str, msg: str):
    problems.append("%s: %s" % (where, msg))


def open_text(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_events(path):
    """Yields (line number, raw line, event) and checks the line's form."""
    rel = os.path.relpath(path, ROOT)
    with open_text(path) as f:
        for n, raw in enumerate(f, 1):
            where = "%s:%d" % (rel, n)
            if not raw.endswith("\n"):
                problem(where, "last line has no newline")
            if "&" in raw or "<" in raw or ">" in raw:
                problem(where, "raw &, < or > (Go's encoder writes \\u0026, \\u003c, \\u003e)")
            try:
                ev = json.loads(raw)
            except ValueError as e:
                problem(where, "invalid JSON: %s" % e)
                continue
            yield n, raw, ev, where


def check_event_form(ev, where):
    keys = list(ev)
    order = [k for k in EVENT_KEYS if k in ev]
    if keys != order:
        problem(where, "field order %s" % keys)
    if ev.get("kind") != "Event" or ev.get("apiVersion") != "audit.k8s.io/v1":
        problem(where, "not an audit.k8s.io/v1 Event")
    if not UUID_RE.match(ev.get("auditID", "")):
        problem(where, "auditID %r is not uuid4-shaped" % ev.get("auditID"))
    for k in ("requestReceivedTimestamp", "stageTimestamp"):
        if not TS_RE.match(ev.get(k, "")):
            problem(where, "%s %r" % (k, ev.get(k)))
    if ev.get("stageTimestamp", "") < ev.get("requestReceivedTimestamp", ""):
        problem(where, "stageTimestamp before requestReceivedTimestamp")
    if "objectRef" in ev and list(ev["objectRef"]) != [k for k in OBJREF_KEYS if k in ev["objectRef"]]:
        problem(where, "objectRef field order %s" % list(ev["objectRef"]))
    stage = ev.get("stage")
    o = ev.get("objectRef", {})
    if stage == "RequestReceived" and ev.get("verb") == "create" and not o.get("subresource") and "name" in o:
        problem(where, "RequestReceived of a create names the object (the name comes from the body later)")
    if stage == "RequestReceived":
        for k in ("responseStatus", "annotations", "requestObject", "responseObject"):
            if k in ev:
                problem(where, "RequestReceived with %s" % k)
    else:
        ann = ev.get("annotations", {})
        if list(ann) != sorted(ann):
            problem(where, "annotation keys not sorted")
        code = ev.get("responseStatus", {}).get("code")
        dec = ann.get("authorization.k8s.io/decision")
        if dec == "forbid" and code != 403:
            problem(where, "decision forbid with code %r" % code)
        if dec == "allow" and code == 403:
            problem(where, "decision allow with code 403 (admission refusals do not occur here)")


def node_of(ev):
    for u in (ev.get("impersonatedUser"), ev.get("user")):
        if u and u.get("username", "").startswith("system:node:"):
            return u["username"][len("system:node:"):]
    if ev.get("userAgent", "").startswith("kubelet/"):
        return ev.get("user", {}).get("username", "?")
    return None


def authz_name(ev):
    """The name the authorizer saw, derived from requestURI (not objectRef)."""
    u = urlsplit(ev["requestURI"])
    parts = [p for p in u.path.split("/") if p]
    if parts[:1] == ["api"]:
        rest = parts[2:]
    elif parts[:1] == ["apis"]:
        rest = parts[3:]
    else:
        return ""
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    name = rest[1] if len(rest) >= 2 else ""
    if not name and ev["verb"] in ("list", "watch"):
        fs = parse_qs(u.query).get("fieldSelector", [""])[0]
        for term in fs.split(","):
            m = re.match(r"^metadata\.name==?(.+)$", term)
            if m:
                name = m.group(1)
    return unquote(name)


def expected_message(ev, node, reason):
    o = ev["objectRef"]
    res = o["resource"] + ("/" + o["subresource"] if o.get("subresource") else "")
    grp = o.get("apiGroup", "")
    scope = 'in the namespace "%s"' % o["namespace"] if o.get("namespace") else "at the cluster scope"
    inner = 'User "system:node:%s" cannot %s resource "%s" in API group "%s" %s' % (
        node, ev["verb"], res, grp, scope)
    if reason:
        inner += ": " + reason
    wrap = o["resource"] + ("." + grp if grp else "")
    name = authz_name(ev)
    return ('%s "%s" is forbidden: %s' % (wrap, name, inner)) if name else "%s is forbidden: %s" % (wrap, inner)


def summarize(path):
    """Counts in the shape of `analyze --format json`, plus breakdowns for the README."""
    lines = 0
    with open_text(path) as f:
        for _ in f:
            lines += 1
    events = 0
    kept = {}
    for _, _, ev, where in read_events(path):
        events += 1
        check_event_form(ev, where)
        aid = ev["auditID"]
        prev = kept.get(aid)
        if prev is not None:
            for k in ("requestURI", "verb", "user", "requestReceivedTimestamp"):
                if prev[k] != ev[k]:
                    problem(where, "events of %s disagree on %s" % (aid, k))
        if prev is None or STAGE_PREF[ev["stage"]] > STAGE_PREF[prev["stage"]]:
            kept[aid] = ev
    nodes = collections.defaultdict(lambda: {"requests": 0, "allowed": 0, "forbidden": 0, "no_response": 0})
    by_vr = collections.Counter()
    kubelet = 0
    for aid, ev in kept.items():
        node = node_of(ev)
        if node is None:
            continue
        kubelet += 1
        dec = ev.get("annotations", {}).get("authorization.k8s.io/decision")
        outcome = {"allow": "allowed", "forbid": "forbidden", None: "no_response"}[dec]
        nodes[node]["requests"] += 1
        nodes[node][outcome] += 1
        o = ev.get("objectRef", {})
        res = o.get("resource", "") + ("/" + o["subresource"] if o.get("subresource") else "")
        by_vr[(node, ev["verb"], res, outcome)] += 1
    doc = {"lines": lines, "events": events, "requests": len(kept), "kubelet_requests": kubelet,
           "nodes": {k: nodes[k] for k in sorted(nodes)}}
    return doc, kept, by_vr


def expected_path(folder):
    return os.path.join(folder, "expected.json")


def compare_expected(folder, doc, write):
    path = expected_path(folder)
    if write:
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        return
    try:
        with open(path) as f:
            want = json.load(f)
    except OSError:
        problem(os.path.relpath(path, ROOT), "missing (run with --write-expected)")
        return
    for k in doc:
        if want.get(k) != doc[k]:
            problem(os.path.relpath(path, ROOT), "%s: expected.json has %r, the log gives %r" % (k, want.get(k), doc[k]))


def check_forbidden_messages(kept, version_119: bool, rel):
    """Every 403 of a node carries the apiserver's message, derived here independently."""
    n = 0
    for aid, ev in kept.items():
        node = node_of(ev)
        if node is None or ev.get("responseStatus", {}).get("code") != 403:
            continue
        n += 1
        reason = ev["annotations"]["authorization.k8s.io/reason"]
        want = expected_message(ev, node, reason)
        rs = ev["responseStatus"]
        if version_119:
            if set(rs) != {"metadata", "status", "reason", "code"}:
                problem(rel, "%s: 1.19 responseStatus keeps only status, reason, code: %s" % (aid, rs))
            msg = ev.get("responseObject", {}).get("message")
            if ev["level"] == "RequestResponse":
                if msg != want:
                    problem(rel, "%s: message %r, want %r" % (aid, msg, want))
                det = ev["responseObject"].get("details", {})
                if det.get("kind") != ev["objectRef"]["resource"] or det.get("name", "") != authz_name(ev):
                    problem(rel, "%s: details %r" % (aid, det))
        else:
            if rs.get("message") != want or rs.get("status") != "Failure" or rs.get("reason") != "Forbidden":
                problem(rel, "%s: responseStatus %r, want message %r" % (aid, rs, want))
    return n


# ---------------------------------------------------------------------------------------------

def admission_without_body(events):
    """Kubelet requests that NodeRestriction judges from a body the log does not have, by
    `verb resource[/subresource]`: under the target they are indeterminate whatever the Node
    authorizer says (the incident READMEs give these numbers)."""
    c = collections.Counter()
    for ev in events:
        if node_of(ev) is None or "requestObject" in ev:
            continue
        if GraphOracle.admission_needs_body(ev):
            o = ev.get("objectRef", {})
            c["%s %s%s" % (ev["verb"], o.get("resource", ""),
                           "/" + o["subresource"] if o.get("subresource") else "")] += 1
    return dict(sorted(c.items()))


def check_incident_119(write):
    folder = os.path.join(FIX, "incident-1.19")
    rel = "fixtures/incident-1.19"
    doc, kept, by_vr = summarize(os.path.join(folder, "audit.log"))
    compare_expected(folder, doc, write)
    # README, expected diagnosis: the Node authorizer allows every kubelet request, and 6 of
    # them are indeterminate because NodeRestriction needs a body the log does not have.
    got = admission_without_body(kept.values())
    if got != {"create leases": 3, "patch nodes/status": 3}:
        problem(rel, "requests NodeRestriction judges from an unlogged body: %s" % got)
    for aid, ev in kept.items():
        node = node_of(ev)
        ann = ev.get("annotations", {})
        if node is not None:
            if node not in ("node1", "node2", "node3"):
                problem(rel, "unexpected node %s" % node)
            if ev["userAgent"] != "kubelet/v1.19.16 (linux/amd64) kubernetes/e37e4ab":
                problem(rel, "%s: user agent %s" % (aid, ev["userAgent"]))
            if ev["user"]["groups"] != ["system:nodes", "system:authenticated"]:
                problem(rel, "%s: groups %s" % (aid, ev["user"]["groups"]))
            if ev["stage"] != "RequestReceived" and (ann.get("authorization.k8s.io/decision") != "forbid"
                                                     or ann.get("authorization.k8s.io/reason") != ""):
                problem(rel, "%s: kubelet request not refused with an empty reason: %s" % (aid, ann))
        elif ann.get("authorization.k8s.io/decision") != "allow":
            if ev["stage"] != "RequestReceived":
                problem(rel, "%s: non-kubelet request not allowed" % aid)
    n403 = check_forbidden_messages(kept, True, rel)
    # The messages quoted in the issue must be there verbatim.
    msgs = {ev.get("responseObject", {}).get("message") for ev in kept.values()}
    for m in ('nodes "node1" is forbidden: User "system:node:node1" cannot get resource "nodes" in API group "" at the cluster scope',
              'leases.coordination.k8s.io "node1" is forbidden: User "system:node:node1" cannot get resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"',
              'nodes "node1" is forbidden: User "system:node:node1" cannot list resource "nodes" in API group "" at the cluster scope',
              'nodes "node1" is forbidden: User "system:node:node1" cannot patch resource "nodes/status" in API group "" at the cluster scope',
              'nodes "node1" is forbidden: User "system:node:node1" cannot watch resource "nodes" in API group "" at the cluster scope',
              'leases.coordination.k8s.io "node1" is forbidden: User "system:node:node1" cannot update resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"',
              'leases.coordination.k8s.io is forbidden: User "system:node:node1" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-node-lease"'):
        if m not in msgs:
            problem(rel, "message missing: %s" % m)
    # Every verb/resource the story names occurs for every node.
    seen = {(n, v, r) for (n, v, r, _o) in by_vr}
    for node in ("node1", "node2", "node3"):
        for v, r in (("get", "nodes"), ("list", "nodes"), ("watch", "nodes"), ("get", "leases"),
                     ("create", "leases"), ("update", "leases"), ("patch", "nodes/status")):
            if (node, v, r) not in seen:
                problem(rel, "no %s %s from %s" % (v, r, node))
    objs = json.load(open(os.path.join(folder, "objects.json")))
    check_objects(objs, rel, {"node1", "node2", "node3"})
    return doc, by_vr, n403


def check_objects(objs, rel, nodes):
    if objs.get("kind") != "List" or objs.get("apiVersion") != "v1":
        problem(rel, "objects.json is not a v1 List")
    names = {o["metadata"]["name"] for o in objs["items"] if o["kind"] == "Node"}
    if names != nodes:
        problem(rel, "objects.json nodes %s" % sorted(names))
    for o in objs["items"]:
        if o["kind"] == "Pod" and o["spec"].get("nodeName") not in nodes:
            problem(rel, "pod %s bound to %r" % (o["metadata"]["name"], o["spec"].get("nodeName")))


def to_us(s):
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return int(d.timestamp()) * 1_000_000 + d.microsecond


def klog_parse(line):
    m = re.match(r"^([IWEF])(\d{4}) (\d\d:\d\d:\d\d\.\d{6}) +(\d+) ([\w.]+:\d+)\] (.*)$", line)
    return m.groups() if m else None


def check_incident_phases(write):
    folder = os.path.join(FIX, "incident-phases")
    rel = "fixtures/incident-phases"
    doc, kept, by_vr = summarize(os.path.join(folder, "audit.log"))
    bounds = json.load(open(os.path.join(folder, "phases.json")))
    b1, b2_down, b2_up, end = (bounds["binding_added"], bounds["apiserver_stopped"],
                               bounds["apiserver_started"], bounds["end"])
    start = bounds["start"]
    per_phase = {1: collections.Counter(), 2: collections.Counter(), 3: collections.Counter()}
    for aid, ev in kept.items():
        t = ev["requestReceivedTimestamp"]
        if not start <= t < end:
            problem(rel, "%s outside the window" % aid)
        if b2_down <= t < b2_up:
            problem(rel, "%s received while the apiserver was down" % aid)
        phase = 1 if t < b1 else (2 if t < b2_down else 3)
        node = node_of(ev)
        if node is None:
            continue
        ann = ev.get("annotations", {})
        dec, reason = ann.get("authorization.k8s.io/decision"), ann.get("authorization.k8s.io/reason")
        code = ev.get("responseStatus", {}).get("code")
        per_phase[phase][(dec, reason, code)] += 1
        want = {1: ("forbid", ""), 2: ("allow", LEGACY), 3: ("allow", "")}[phase]
        if (dec, reason) != want:
            problem(rel, "%s in phase %d: decision %r reason %r" % (aid, phase, dec, reason))
    # The boundary event: the admin's update of ClusterRoleBinding system:node at b1.
    crb = [ev for ev in kept.values() if ev.get("objectRef", {}).get("resource") == "clusterrolebindings"
           and ev["verb"] == "update"]
    if len(crb) != 1 or crb[0]["requestReceivedTimestamp"] != b1:
        problem(rel, "binding update at %s not found exactly once" % b1)
    else:
        subj = crb[0]["requestObject"]["subjects"]
        if subj != [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:nodes"}]:
            problem(rel, "binding subjects %s" % subj)
    n403 = check_forbidden_messages(kept, True, rel)
    # Manifests.
    for fname, mode in (("kube-apiserver.yaml", "RBAC"), ("kube-apiserver.phase3.yaml", "Node,RBAC")):
        text = open(os.path.join(folder, fname)).read()
        flags = re.findall(r"^\s+- (--[\w-]+)(?:=(.*))?$", text, re.M)
        fl = dict(flags)
        if fl.get("--authorization-mode") != mode:
            problem(rel, "%s: --authorization-mode=%r" % (fname, fl.get("--authorization-mode")))
        if fl.get("--enable-admission-plugins") != "NodeRestriction":
            problem(rel, "%s: --enable-admission-plugins=%r" % (fname, fl.get("--enable-admission-plugins")))
        if "image: registry.k8s.io/kube-apiserver:v1.19.16" not in text:
            problem(rel, "%s: image" % fname)
        if len(flags) < 25:
            problem(rel, "%s: only %d flags" % (fname, len(flags)))
    # Kubelet logs: every authorization error matches a refused audit request of node1 that
    # completed shortly before it, in phase 1; the journal holds the same klog lines.
    raw = [l.rstrip("\n") for l in open(os.path.join(folder, "kubelet.log"))]
    journal = [l.rstrip("\n") for l in open(os.path.join(folder, "kubelet.journal.log"))]
    jre = re.compile(r"^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d node1 kubelet\[\d+\]: (.*)$")
    jbody = []
    for l in journal:
        if l.startswith("-- "):
            continue
        m = jre.match(l)
        if not m:
            problem(rel, "journal line not in journalctl form: %s" % l[:80])
        else:
            jbody.append(m.group(1))
    if jbody != raw:
        problem(rel, "kubelet.journal.log does not hold the same klog lines as kubelet.log")
    refused = collections.defaultdict(list)  # message -> completion times
    for ev in kept.values():
        if node_of(ev) == "node1" and ev.get("responseStatus", {}).get("code") == 403:
            m = ev.get("responseObject", {}).get("message")
            if m:
                refused[m].append(ev["stageTimestamp"])
    forb = 0
    for l in raw:
        p = klog_parse(l)
        if p is None:
            problem(rel, "not a klog line: %s" % l[:80])
            continue
        lvl, mmdd, hms, _pid, _where, msg = p
        t = "2021-%s-%sT%sZ" % (mmdd[:2], mmdd[2:], hms)
        if t >= b1:
            problem(rel, "kubelet log line after phase 1: %s" % l[:80])
        m = re.search(r'((?:[\w.]+)(?: "[^"]*")? is forbidden: User "system:node:node1" cannot \w+ resource "[^"]+" in API group "[^"]*" (?:at the cluster scope|in the namespace "[^"]+"))$', msg)
        if m is None:
            if "forbidden" in msg:
                problem(rel, "unparsed forbidden line: %s" % l[:100])
            continue
        forb += 1
        tl = to_us(t)
        if not any(0 <= tl - to_us(s) < 2_000_000 for s in refused.get(m.group(1), [])):
            problem(rel, "no refused request within 2 s before kubelet line %s" % l[:100])
    if forb == 0:
        problem(rel, "no forbidden lines in kubelet.log")
    check_objects(json.load(open(os.path.join(folder, "objects.json"))), rel, {"node1", "node2", "node3"})
    doc["phases"] = {str(k): {"%s|%s|%s" % kk: v for kk, v in sorted(c.items(), key=str)} for k, c in per_phase.items()}
    # README, phase 1: the 270 refused registrations are indeterminate under Node,RBAC (no
    # body for NodeRestriction's name check); allowed requests of phases 2 and 3 have theirs.
    got = admission_without_body(kept.values())
    if got != {"create nodes": 270} or any(
            ev["requestReceivedTimestamp"] >= b1 for ev in kept.values()
            if node_of(ev) and "requestObject" not in ev and GraphOracle.admission_needs_body(ev)):
        problem(rel, "requests NodeRestriction judges from an unlogged body: %s (want 270 "
                "create nodes, all in phase 1)" % got)
    compare_expected(folder, doc, write)
    return doc, by_vr, n403, forb


class GraphOracle:
    """An independent model of the Node authorizer's answers for the generated fixtures
    (Kubernetes 1.34, Node,RBAC + NodeRestriction, no extra RBAC): the graph is rebuilt from the
    objects dump and the pod creates, bindings and kubelet deletions in the log."""

    def __init__(self, objects, kept):
        self.spec = {}      # (ns, name) -> pod spec
        self.bound = {}     # (ns, name) -> list of (time, node)
        self.deleted = {}   # (ns, name) -> time of the kubelet's final delete
        self.pv_claim = {}  # pv name -> (ns, claim)
        for o in objects["items"]:
            if o["kind"] == "Pod":
                key = (o["metadata"]["namespace"], o["metadata"]["name"])
                self.spec[key] = o["spec"]
                self.bound[key] = [("", o["spec"]["nodeName"])]
            elif o["kind"] == "PersistentVolume" and o["spec"].get("claimRef"):
                c = o["spec"]["claimRef"]
                self.pv_claim[o["metadata"]["name"]] = (c["namespace"], c["name"])
        self.unknown = collections.defaultdict(set)  # node -> pods it touched that nobody declared
        evs = sorted(kept.values(), key=lambda e: e["requestReceivedTimestamp"])
        for ev in evs:
            o = ev.get("objectRef", {})
            if o.get("resource") != "pods" or ev.get("responseStatus", {}).get("code", 0) >= 300:
                continue
            key = (o.get("namespace", ""), o.get("name", ""))
            t = ev["requestReceivedTimestamp"]
            sub = o.get("subresource", "")
            if ev["verb"] == "create" and not sub and "requestObject" in ev:
                self.spec[key] = ev["requestObject"]["spec"]
            elif ev["verb"] == "create" and sub == "binding":
                self.bound.setdefault(key, []).append((t, ev["requestObject"]["target"]["name"]))
            elif ev["verb"] == "delete" and not sub and node_of(ev) is not None:
                self.deleted[key] = t
        for ev in evs:
            node = node_of(ev)
            o = ev.get("objectRef", {})
            if node and o.get("resource") == "pods" and o.get("name") and ev["verb"] in ("patch", "delete"):
                key = (o.get("namespace", ""), o["name"])
                if key not in self.spec:
                    self.unknown[node].add(key)

    def pods_on(self, node, t):
        for key, binds in self.bound.items():
            if key not in self.spec:
                continue
            d = self.deleted.get(key)
            if d is not None and d < t:
                continue
            cur = None
            for bt, n in binds:
                if bt <= t:
                    cur = n
            if cur == node:
                yield key, self.spec[key]

    @staticmethod
    def refs(spec):
        out = set()
        for v in spec.get("volumes", []):
            if "secret" in v:
                out.add(("secrets", v["secret"]["secretName"]))
            if "configMap" in v:
                out.add(("configmaps", v["configMap"]["name"]))
            if "persistentVolumeClaim" in v:
                out.add(("persistentvolumeclaims", v["persistentVolumeClaim"]["claimName"]))
            for src in v.get("projected", {}).get("sources", []):
                if "secret" in src:
                    out.add(("secrets", src["secret"]["name"]))
                if "configMap" in src:
                    out.add(("configmaps", src["configMap"]["name"]))
        for ps in spec.get("imagePullSecrets", []):
            out.add(("secrets", ps["name"]))
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            for e in c.get("env", []):
                vf = e.get("valueFrom", {})
                if "secretKeyRef" in vf:
                    out.add(("secrets", vf["secretKeyRef"]["name"]))
                if "configMapKeyRef" in vf:
                    out.add(("configmaps", vf["configMapKeyRef"]["name"]))
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    out.add(("secrets", e["secretRef"]["name"]))
                if "configMapRef" in e:
                    out.add(("configmaps", e["configMapRef"]["name"]))
        if spec.get("serviceAccountName"):
            out.add(("serviceaccounts", spec["serviceAccountName"]))
        return out

    def incomplete(self, node, t):
        return any(self.deleted.get(k) is None or self.deleted[k] >= t for k in self.unknown.get(node, ()))

    def graph(self, node, t, resource, ns, name):
        if resource == "persistentvolumes":
            claim = self.pv_claim.get(name)
            if claim is None:
                ok = False
            else:
                ok = any(k[0] == claim[0] and ("persistentvolumeclaims", claim[1]) in self.refs(sp)
                         for k, sp in self.pods_on(node, t))
        else:
            ok = any(k[0] == ns and (resource, name) in self.refs(sp) for k, sp in self.pods_on(node, t))
        if ok:
            return "allowed_by_node", ""
        if self.incomplete(node, t):
            return "indeterminate", ""
        return "forbidden", "no relationship found between node '%s' and this object" % node

    def verdict(self, ev, node):
        """The Node authorizer's answer, then NodeRestriction's for what it allows."""
        v, why = self.authorize(ev, node)
        if v == "forbidden" or not self.admission_needs_body(ev):
            return v, why
        body = ev.get("requestObject")
        if body is None:
            return "indeterminate", ""
        o = ev.get("objectRef", {})
        if (o.get("resource"), o.get("subresource")) == ("serviceaccounts", "token"):
            # The token's pod must be known to compare its UID and node.
            ref = (body.get("spec") or {}).get("boundObjectRef") or {}
            pod = (o.get("namespace", ""), ref.get("name", ""))
            if pod not in self.spec:
                return "indeterminate", ""
        return v, why

    @staticmethod
    def admission_needs_body(ev):
        """Whether NodeRestriction (spec section 10, 1.34) decides this request from its body:
        a refused request has none in the log (authorization runs before the body is read)."""
        o = ev.get("objectRef", {})
        res, sub, verb = o.get("resource", ""), o.get("subresource", ""), ev["verb"]
        if verb == "create":
            # The new object's name (nodes, leases, csinodes), its spec (mirror pods,
            # ResourceSlices, CSRs) or the TokenRequest's boundObjectRef.
            return (sub == "" and res in ("pods", "nodes", "leases", "csinodes", "resourceslices",
                                          "certificatesigningrequests")) or \
                (res, sub) == ("serviceaccounts", "token")
        if verb in ("update", "patch"):
            # Node taints and labels (any subresource), pod labels and resource-claim
            # statuses, the PVC status diff. A pod update without subresource is refused
            # whatever it says; leases, CSINodes are judged by the URL's name.
            return res == "nodes" or (res, sub) in (("pods", "status"),
                                                    ("persistentvolumeclaims", "status"))
        return False

    def authorize(self, ev, node):
        o = ev.get("objectRef", {})
        res, sub, ns = o.get("resource", ""), o.get("subresource", ""), o.get("namespace", "")
        verb, name, t = ev["verb"], authz_name(ev), ev["requestReceivedTimestamp"]
        q = parse_qs(urlsplit(ev["requestURI"]).query)
        if res == "leases":
            if verb == "create" or name == node:
                return "allowed_by_node", ""
            return "forbidden", "can only access node lease with the same name as the requesting node"
        if res == "nodes":
            if sub == "status" and verb in ("patch", "update"):
                return "allowed_by_node", ""
            if not name:
                return "forbidden", "node '%s' cannot read all nodes, only its own Node object" % node
            if name == node:
                return "allowed_by_node", ""
            return "forbidden", "node '%s' cannot read '%s', only its own Node object" % (node, name)
        if res == "pods":
            if verb in ("list", "watch") and not sub:
                if "spec.nodeName=" + node in q.get("fieldSelector", [""])[0].split(","):
                    return "allowed_by_node", ""
                return "forbidden", "can only list/watch pods with spec.nodeName field selector"
            key = (ns, name)
            if key in self.spec:
                mine = any(k == key for k, _ in self.pods_on(node, t))
                return ("allowed_by_node", "") if mine else ("forbidden", "pod on another node")
            return "indeterminate", ""
        if res in ("secrets", "configmaps"):
            if not ns:
                return "forbidden", "can only read namespaced object of this type"
            return self.graph(node, t, res, ns, name)
        if res in ("persistentvolumeclaims", "persistentvolumes") and verb == "get":
            return self.graph(node, t, res, ns, name)
        if res == "serviceaccounts" and sub == "token" and verb == "create":
            return self.graph(node, t, "serviceaccounts", ns, name)
        if (res, verb) in (("events", "create"),) or (res in ("services", "csidrivers", "runtimeclasses")
                                                     and verb in ("list", "watch")):
            return "allowed_by_node", ""
        return None, "unhandled %s %s/%s" % (verb, res, sub)


def check_generated(write):
    """fixtures/generated/<scenario>/: the same seed under three recorded scenarios."""
    base = os.path.join(FIX, "generated")
    if not os.path.isdir(base):
        problem("fixtures/generated", "missing")
        return {}
    truths = {}
    out = {}
    for sc in sorted(os.listdir(base)):
        folder = os.path.join(base, sc)
        if not os.path.isdir(folder):
            continue
        rel = "fixtures/generated/" + sc
        log = os.path.join(folder, "audit.log")
        doc, kept, _ = summarize(log)
        gz = log + ".gz"
        if os.path.exists(gz):
            gdoc, _, _ = summarize(gz)
            if gdoc != doc:
                problem(rel, "audit.log.gz counts differ from audit.log")
        truth = [json.loads(l) for l in open(os.path.join(folder, "truth.jsonl"))]
        truths[sc] = truth
        ids = {t["audit_id"] for t in truth}
        kubelet_ids = {aid for aid, ev in kept.items() if node_of(ev) is not None}
        if ids != kubelet_ids:
            problem(rel, "truth rows (%d) and kubelet requests (%d) differ" % (len(ids), len(kubelet_ids)))
        vc = collections.Counter(t["verdict"] for t in truth)
        oracle = GraphOracle(json.load(open(os.path.join(base, "objects.json"))), kept)
        agree = 0
        for t in truth:
            ev = kept.get(t["audit_id"])
            if ev is None:
                continue
            v, why = oracle.verdict(ev, t["node"])
            if v != t["verdict"] or (v == "forbidden" and why != t["reason"]):
                problem(rel, "truth %s %s %s/%s %s says %s %r, the oracle %s %r" % (
                    t["audit_id"], t["verb"], t["namespace"], t["name"], t["resource"], t["verdict"],
                    t.get("reason", t.get("missing")), v, why))
            else:
                agree += 1
            if ev["verb"] != t["verb"] or node_of(ev) != t["node"]:
                problem(rel, "truth row %s does not match its event" % t["audit_id"])
            dec = ev.get("annotations", {}).get("authorization.k8s.io/decision")
            reason = ev.get("annotations", {}).get("authorization.k8s.io/reason")
            if dec is not None and {"allow": "allow", "forbid": "forbid"}[dec] != t["recorded"]:
                problem(rel, "truth %s recorded %s, log %s" % (t["audit_id"], t["recorded"], dec))
            if t["verdict"] == "forbidden":
                if not any(p.match(t["reason"]) for p in NODE_REASONS):
                    problem(rel, "truth reason not a spec string: %r" % t["reason"])
                m = NODE_REASONS[3].match(t["reason"])
                if m and (m.group(1) != t["node"] or m.group(2) != authz_name(ev)):
                    problem(rel, "node reason names %r" % (m.groups(),))
                if sc == "node-rbac" and dec is not None and reason != t["reason"]:
                    problem(rel, "recorded reason %r != truth %r" % (reason, t["reason"]))
            if (sc == "node-rbac" and dec is not None and t["verdict"] != "indeterminate"
                    and (dec == "allow") != (t["verdict"] != "forbidden")):
                problem(rel, "node-rbac recorded %s for verdict %s (%s)" % (dec, t["verdict"], t["audit_id"]))
            if sc == "rbac-only" and dec is not None and (dec, reason) != ("forbid", ""):
                problem(rel, "rbac-only kubelet request %s recorded %s %r" % (t["audit_id"], dec, reason))
            if sc == "legacy-binding" and dec is not None and (dec, reason) != ("allow", LEGACY):
                problem(rel, "legacy kubelet request %s recorded %s %r" % (t["audit_id"], dec, reason))
        if sc == "node-rbac":
            check_forbidden_messages(kept, False, rel)
        for v in ("allowed_by_node", "forbidden", "indeterminate"):
            if vc[v] == 0:
                problem(rel, "no %s verdicts in the truth" % v)
        doc["truth"] = dict(sorted(vc.items()))
        doc["oracle_agrees"] = agree
        doc["truth_forbidden_reasons"] = dict(sorted(collections.Counter(
            re.sub(r"'[^']*'", "'…'", t["reason"]) for t in truth if t["verdict"] == "forbidden").items()))
        compare_expected(folder, doc, write)
        out[sc] = doc
    # Between node-rbac and legacy-binding the recorded scenario changes strings only: same
    # requests, same truth. (Under rbac-only the kubelets' pod deletions are refused, so the
    # cluster evolves differently.)
    keyed = {sc: [(t["audit_id"], t["verdict"], t.get("reason")) for t in tr] for sc, tr in truths.items()
             if sc != "rbac-only"}
    if len({tuple(v) for v in keyed.values()}) > 1:
        problem("fixtures/generated", "scenarios do not share requests and verdicts")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--write-expected", action="store_true")
    p.add_argument("--summary", help="print the counts of one audit log and exit")
    p.add_argument("--truth", nargs=3, metavar=("LOG", "OBJECTS", "TRUTH"),
                   help="check a generator's truth file against the independent oracle and exit")
    a = p.parse_args(argv)
    if a.truth:
        _, kept, _ = summarize(a.truth[0])
        oracle = GraphOracle(json.load(open(a.truth[1])), kept)
        n = bad = 0
        verdicts = collections.Counter()
        for line in open(a.truth[2]):
            t = json.loads(line)
            ev = kept.get(t["audit_id"])
            if ev is None:
                problem(a.truth[2], "%s not in the log" % t["audit_id"])
                continue
            v, why = oracle.verdict(ev, t["node"])
            n += 1
            verdicts[t["verdict"]] += 1
            if v != t["verdict"] or (v == "forbidden" and why != t["reason"]):
                bad += 1
                problem(a.truth[2], "%s %s %s/%s: truth %s %r, oracle %s %r" % (
                    t["audit_id"], t["verb"], t["resource"], t["name"], t["verdict"], t.get("reason"), v, why))
        print("%d truth rows, %d disagree with the oracle; %s" % (n, bad, dict(verdicts)))
        for pr in problems[:20]:
            print("  " + pr)
        return 1 if problems else 0
    if a.summary:
        doc, _, by_vr = summarize(a.summary)
        print(json.dumps(doc, indent=2))
        for k, v in sorted(by_vr.items()):
            print("%s %s %s %s: %d" % (k + (v,)))
        return 1 if problems else 0
    doc, by_vr, n403 = check_incident_119(a.write_expected)
    print("incident-1.19: %d lines, %d events, %d requests, %d kubelet requests, %d refused"
          % (doc["lines"], doc["events"], doc["requests"], doc["kubelet_requests"], n403))
    for k, v in sorted(by_vr.items()):
        print("  %s %s %s %s: %d" % (k + (v,)))
    pdoc, pby, p403, kforb = check_incident_phases(a.write_expected)
    print("incident-phases: %d lines, %d events, %d requests, %d kubelet requests; kubelet.log "
          "authorization errors: %d" % (pdoc["lines"], pdoc["events"], pdoc["requests"],
                                         pdoc["kubelet_requests"], kforb))
    for ph, c in pdoc["phases"].items():
        print("  phase %s: %s" % (ph, c))
    gen = check_generated(a.write_expected)
    for sc, d in gen.items():
        print("generated/%s: %d lines, %d requests, %d kubelet requests, truth %s"
              % (sc, d["lines"], d["requests"], d["kubelet_requests"], d["truth"]))
    if problems:
        print("\n%d problem(s):" % len(problems))
        for pr in problems[:200]:
            print("  " + pr)
        return 1
    print("all fixture checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
