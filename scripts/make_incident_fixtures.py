#!/usr/bin/env python3
"""Writes the incident fixtures: fixtures/incident-1.19/ and fixtures/incident-phases/.

Deterministic (fixed seed); rerun after a change and commit the result. The expected counts in
each folder's expected.json are NOT written here: scripts/check_fixtures.py recomputes them
from the logs independently and compares (`check_fixtures.py --write-expected` refreshes them).

The events imitate kube-apiserver 1.19.16 byte for byte where it matters:
- field order of audit.k8s.io/v1 Event, Go's HTML-safe escaping (`&` as \\u0026), map keys
  sorted, timestamps with six fractional digits;
- `responseStatus` of a failed request holds only status, reason and code (1.19 copies only
  those "bounded fields"; the message is in `responseObject`, logged at RequestResponse);
- forbidden watches have a ResponseStarted event too (long-running requests), as a real
  1.22 log shows.
Python 3.11 standard library only.
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KUBELET_UA = "kubelet/v1.19.16 (linux/amd64) kubernetes/e37e4ab"
KCM_UA = "kube-controller-manager/v1.19.16 (linux/amd64) kubernetes/e37e4ab"
SCHED_UA = "kube-scheduler/v1.19.16 (linux/amd64) kubernetes/e37e4ab"
KUBECTL_UA = "kubectl/v1.19.16 (linux/amd64) kubernetes/e37e4ab"
NODES = {"node1": "10.10.0.11", "node2": "10.10.0.12", "node3": "10.10.0.13"}
APISERVER_IP = "10.10.0.11"
NODE_UIDS = {n: "%08x-1f3e-4c2a-9b7d-%012x" % (0x6a1c0e00 + i, 0xa11ce + i) for i, n in enumerate(NODES)}
LEGACY_REASON = ('RBAC: allowed by ClusterRoleBinding "system:node" of ClusterRole "system:node" '
                 'to Group "system:nodes"')


def rbac_user_reason(binding, role, user):
    return 'RBAC: allowed by ClusterRoleBinding "%s" of ClusterRole "%s" to User "%s"' % (
        binding, role, user)


def go_json(obj) -> str:
    return (json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
            .replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def ts(us: int) -> str:
    sec, frac = divmod(us, 1_000_000)
    return datetime.fromtimestamp(sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % frac


def ts_s(us: int) -> str:
    return datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s: str) -> int:
    return int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1_000_000)


class Log:
    """Collects requests and writes their events ordered by stageTimestamp."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.events = []  # (stage_us, seq, line)
        self.seq = 0

    def uuid(self) -> str:
        r = self.rng.getrandbits(128)
        h = "%032x" % r
        return "%s-%s-4%s-%s%s-%s" % (h[0:8], h[8:12], h[13:16], "89ab"[r & 3], h[17:20], h[20:32])

    def add(self, t_us, *, uri, verb, user, ip, ua, objref=None, level="Metadata", code=200,
            decision="allow", reason="", message=None, details=None, req_obj=None, resp_obj=None,
            latency_us=None, watch_us=None, cut_at=None):
        """One request. `message` set means a 403 Forbidden with that Status message."""
        aid = self.uuid()
        base = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level, "auditID": aid,
                "stage": None, "requestURI": uri, "verb": verb, "user": user, "sourceIPs": [ip],
                "userAgent": ua}
        if objref is not None:
            base["objectRef"] = objref
        if latency_us is None:
            latency_us = self.rng.randrange(700, 6000)
        recv = ts(t_us)

        def event(stage, stage_us, with_response):
            e = dict(base)
            e["stage"] = stage
            o = e.get("objectRef")
            if stage == "RequestReceived" and verb == "create" and o and "subresource" not in o and "name" in o:
                # objectRef.name of a create comes from the decoded body, after RequestReceived.
                e["objectRef"] = {k: v for k, v in o.items() if k != "name"}
            if with_response:
                if message is not None:
                    e["responseStatus"] = {"metadata": {}, "status": "Failure", "reason": "Forbidden",
                                           "code": 403}
                else:
                    e["responseStatus"] = {"metadata": {}, "code": code}
                if stage == "ResponseComplete":
                    if req_obj is not None and message is None and level in ("Request", "RequestResponse"):
                        e["requestObject"] = req_obj
                    if level == "RequestResponse":
                        if message is not None:
                            st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": message, "reason": "Forbidden", "details": details, "code": 403}
                            e["responseObject"] = st
                        elif resp_obj is not None:
                            e["responseObject"] = resp_obj
            e["requestReceivedTimestamp"] = recv
            e["stageTimestamp"] = ts(stage_us)
            if with_response:
                e["annotations"] = {"authorization.k8s.io/decision": decision,
                                    "authorization.k8s.io/reason": reason}
            return e

        self.push(t_us, event("RequestReceived", t_us, False), cut_at)
        if verb == "watch":
            t1 = t_us + self.rng.randrange(300, 900)
            self.push(t1, event("ResponseStarted", t1, True), cut_at)
            end = t1 + (watch_us if (watch_us and message is None) else self.rng.randrange(100, 400))
            self.push(end, event("ResponseComplete", end, True), cut_at)
            return aid, end
        end = t_us + latency_us
        self.push(end, event("ResponseComplete", end, True), cut_at)
        return aid, end

    def push(self, us, ev, cut_at):
        if cut_at is not None and us >= cut_at:
            return
        self.seq += 1
        self.events.append((us, self.seq, go_json(ev)))

    def write(self, path):
        self.events.sort()
        with open(path, "w") as f:
            for _, _, line in self.events:
                f.write(line + "\n")


def node_user(node):
    return {"username": "system:node:" + node, "groups": ["system:nodes", "system:authenticated"]}


def forbidden_message(node, verb, resource, group, ns, name, sub=""):
    """The 403 Status message of an RBAC-only refusal (RBAC gives no reason)."""
    res = resource + ("/" + sub if sub else "")
    scope = ('in the namespace "%s"' % ns) if ns else "at the cluster scope"
    inner = 'User "system:node:%s" cannot %s resource "%s" in API group "%s" %s' % (
        node, verb, res, group, scope)
    wrap = resource + ("." + group if group else "")
    if name:
        return '%s "%s" is forbidden: %s' % (wrap, name, inner)
    return "%s is forbidden: %s" % (wrap, inner)


def details(resource, group, name):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return d


class Kubelet:
    """Request helpers for one node's kubelet in one authorization state."""

    def __init__(self, log: Log, node: str, mode: str, cut_at=None):
        self.log, self.node, self.ip = log, node, NODES[node]
        self.mode = mode  # "rbac" (refused), "legacy" (RBAC binding), "node" (Node authorizer)
        self.cut_at = cut_at

    def req(self, t, *, uri, verb, resource, group="", version="v1", ns="", name="", sub="",
            req_obj=None, resp_obj=None, code=None, watch_us=None, level="RequestResponse",
            authz_name=None):
        """authz_name: the name the authorizer sees (empty for creates) when it differs."""
        objref = {"resource": resource}
        if ns:
            objref["namespace"] = ns
        # A refused create never reaches the handler that copies the object's name into objectRef.
        shown = authz_name if (self.mode == "rbac" and authz_name is not None) else name
        if shown:
            objref["name"] = shown
        if group:
            objref["apiGroup"] = group
        objref["apiVersion"] = version
        if sub:
            objref["subresource"] = sub
        an = name if authz_name is None else authz_name
        if self.mode == "rbac":
            msg = forbidden_message(self.node, verb, resource, group, ns, an, sub)
            return self.log.add(t, uri=uri, verb=verb, user=node_user(self.node), ip=self.ip,
                                ua=KUBELET_UA, objref=objref, level=level, decision="forbid",
                                reason="", message=msg, details=details(resource, group, an),
                                cut_at=self.cut_at)
        reason = LEGACY_REASON if self.mode == "legacy" else ""
        return self.log.add(t, uri=uri, verb=verb, user=node_user(self.node), ip=self.ip, ua=KUBELET_UA,
                            objref=objref, level=level, code=code or (201 if verb == "create" else 200),
                            decision="allow", reason=reason, req_obj=req_obj, resp_obj=resp_obj,
                            watch_us=watch_us, cut_at=self.cut_at)


# ---------------------------------------------------------------------------------------------
# Objects

def node_object(node, uid, rv, t_us, ready=True):
    return {"kind": "Node", "apiVersion": "v1", "metadata": {
        "name": node, "uid": uid, "resourceVersion": str(rv),
        "creationTimestamp": ts_s(t_us),
        "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                   "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": node,
                   "kubernetes.io/os": "linux"},
        "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
        "spec": {"podCIDR": "10.244.%d.0/24" % int(node[-1]), "podCIDRs": ["10.244.%d.0/24" % int(node[-1])]},
        "status": {"capacity": {"cpu": "4", "ephemeral-storage": "51474912Ki", "memory": "8152916Ki", "pods": "110"},
                   "allocatable": {"cpu": "4", "ephemeral-storage": "47439278537", "memory": "8050516Ki", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True" if ready else "Unknown",
                                   "lastHeartbeatTime": ts_s(t_us), "lastTransitionTime": ts_s(t_us),
                                   "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                   "addresses": [{"type": "InternalIP", "address": NODES[node]}, {"type": "Hostname", "address": node}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                   "nodeInfo": {"machineID": "%032x" % (int(node[-1]) * 7919), "systemUUID": uid.upper(),
                                "bootID": uid[::-1], "kernelVersion": "5.4.0-90-generic",
                                "osImage": "Ubuntu 20.04.3 LTS", "containerRuntimeVersion": "containerd://1.4.12",
                                "kubeletVersion": "v1.19.16", "kubeProxyVersion": "v1.19.16",
                                "operatingSystem": "linux", "architecture": "amd64"}}}


def lease_object(node, uid, rv, t_us):
    return {"kind": "Lease", "apiVersion": "coordination.k8s.io/v1", "metadata": {
        "name": node, "namespace": "kube-node-lease", "uid": uid, "resourceVersion": str(rv),
        "creationTimestamp": ts_s(t_us)},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": 40,
                 "renewTime": ts(t_us)}}


# Pods of the small cluster: (namespace, name, node, serviceAccount, secrets, configmaps, mirror)
PODS = [
    ("kube-system", "etcd-node1", "node1", "", [], [], True),
    ("kube-system", "kube-apiserver-node1", "node1", "", [], [], True),
    ("kube-system", "kube-controller-manager-node1", "node1", "", [], [], True),
    ("kube-system", "kube-scheduler-node1", "node1", "", [], [], True),
    ("kube-system", "kube-proxy-5xk2p", "node1", "kube-proxy", ["kube-proxy-token-q8wzn"], ["kube-proxy"], False),
    ("kube-system", "kube-proxy-h7d4m", "node2", "kube-proxy", ["kube-proxy-token-q8wzn"], ["kube-proxy"], False),
    ("kube-system", "kube-proxy-vq9tc", "node3", "kube-proxy", ["kube-proxy-token-q8wzn"], ["kube-proxy"], False),
    ("kube-system", "coredns-f9fd979d6-2jlpx", "node2", "coredns", ["coredns-token-7kx5d"], ["coredns"], False),
    ("kube-system", "coredns-f9fd979d6-w8rtn", "node3", "coredns", ["coredns-token-7kx5d"], ["coredns"], False),
    ("default", "web-6d4cf56db6-8mz5q", "node2", "default", ["default-token-ps2xk", "web-tls"], ["web-config"], False),
    ("default", "web-6d4cf56db6-tb9wj", "node3", "default", ["default-token-ps2xk", "web-tls"], ["web-config"], False),
]


def pod_object(ns, name, node, sa, secrets, cms, mirror, uid, t_us, with_node=True, phase="Running"):
    vols = []
    for s in secrets:
        vols.append({"name": s, "secret": {"secretName": s, "defaultMode": 420}})
    for c in cms:
        vols.append({"name": c, "configMap": {"name": c, "defaultMode": 420}})
    meta = {"name": name, "namespace": ns, "uid": uid, "creationTimestamp": ts_s(t_us)}
    if mirror:
        meta["annotations"] = {"kubernetes.io/config.hash": "%032x" % (len(name) * 104729),
                               "kubernetes.io/config.mirror": "%032x" % (len(name) * 104729),
                               "kubernetes.io/config.source": "file"}
        # NodeRestriction (1.17+) wants the Node as the single controller owner, with its UID.
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node, "uid": NODE_UIDS[node],
                                    "controller": True}]
    image = {"etcd": "k8s.gcr.io/etcd:3.4.13-0", "kube": "k8s.gcr.io/%s:v1.19.16",
             "coredns": "k8s.gcr.io/coredns:1.7.0", "web": "nginx:1.21.4"}
    cname = name.rsplit("-", 1)[0] if not mirror else name[: -len("-" + node)]
    if cname.startswith("kube-"):
        img = image["kube"] % cname.rsplit("-", 1)[0] if cname.startswith("kube-proxy") else image["kube"] % cname
    elif cname.startswith("coredns"):
        img = image["coredns"]
    elif cname.startswith("etcd"):
        img = image["etcd"]
    else:
        img = image["web"]
    spec = {"volumes": vols, "containers": [{"name": cname.split("-")[0] if not mirror else cname, "image": img,
                                             "volumeMounts": [{"name": v["name"], "readOnly": True,
                                                               "mountPath": "/var/run/%s" % v["name"]} for v in vols],
                                             "imagePullPolicy": "IfNotPresent"}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst"}
    if sa:
        spec["serviceAccountName"] = sa
        spec["serviceAccount"] = sa
    if with_node:
        spec["nodeName"] = node
    spec["schedulerName"] = "default-scheduler"
    if mirror:
        spec["hostNetwork"] = True
        spec["priorityClassName"] = "system-node-critical"
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec,
            "status": {"phase": phase, "hostIP": NODES[node]} if with_node else {"phase": "Pending"}}


def list_doc(items):
    out = []
    for it in items:
        it = dict(it)
        kind, api = it.pop("kind"), it.pop("apiVersion")
        out.append({"apiVersion": api, "kind": kind, **it})
    return {"apiVersion": "v1", "items": out, "kind": "List", "metadata": {"resourceVersion": "", "selfLink": ""}}


# ---------------------------------------------------------------------------------------------
# Non-kubelet traffic (allowed in every phase)

def control_plane_traffic(log: Log, start, end, cut_at=None):
    rng = log.rng
    # Leader election renews every 2 s in reality; every 10 s here keeps the fixtures small.
    for who, ua, period in (("kube-controller-manager", KCM_UA, 10_000_000),
                            ("kube-scheduler", SCHED_UA, 10_000_000)):
        user = {"username": "system:" + who, "groups": ["system:authenticated"]}
        t = start + rng.randrange(100_000, 900_000)
        while t < end:
            for verb in ("get", "update"):
                log.add(t, uri="/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/%s?timeout=10s" % who,
                        verb=verb, user=user, ip=APISERVER_IP, ua=ua + "/leader-election",
                        objref={"resource": "leases", "namespace": "kube-system", "name": who,
                                "apiGroup": "coordination.k8s.io", "apiVersion": "v1"},
                        reason=rbac_user_reason("system:" + who, "system:" + who, "system:" + who),
                        cut_at=cut_at)
                t += rng.randrange(2000, 9000)
            t += period + rng.randrange(-50_000, 50_000)
    # The scheduler and the controller manager keep their informers' watches open.
    for who, ua, res, grp in (("kube-scheduler", SCHED_UA, "pods", ""), ("kube-scheduler", SCHED_UA, "nodes", ""),
                              ("kube-controller-manager", KCM_UA, "nodes", ""),
                              ("kube-controller-manager", KCM_UA, "leases", "coordination.k8s.io")):
        user = {"username": "system:" + who, "groups": ["system:authenticated"]}
        t = start + rng.randrange(200_000, 3_000_000)
        while t < end - 5_000_000:
            secs = rng.randrange(300, 600)
            prefix = "/apis/%s/v1" % grp if grp else "/api/v1"
            q = "allowWatchBookmarks=true&resourceVersion=%d&timeout=%dm%ds&timeoutSeconds=%d&watch=true" % (
                rng.randrange(400, 2000), secs // 60, secs % 60, secs)
            objref = {"resource": res}
            if grp:
                objref["apiGroup"] = grp
            objref["apiVersion"] = "v1"
            watch_us = secs * 1_000_000 if cut_at is not None else min(secs * 1_000_000, end - t - 2000)
            _, done = log.add(t, uri="%s/%s?%s" % (prefix, res, q), verb="watch", user=user, ip=APISERVER_IP,
                              ua=ua + ("/scheduler" if who == "kube-scheduler" else "/shared-informers"),
                              objref=objref, reason=rbac_user_reason("system:" + who, "system:" + who, "system:" + who),
                              watch_us=watch_us, cut_at=cut_at)
            t = done + rng.randrange(1000, 20_000)


# ---------------------------------------------------------------------------------------------
# incident-1.19: five minutes after the apiserver came back with --authorization-mode=RBAC

def klog(us, level, pid, where, msg):
    d = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
    return "%s%s %s.%06d %7d %s] %s" % (level, d.strftime("%m%d"), d.strftime("%H:%M:%S"), us % 1_000_000,
                                         pid, where, msg)


def refused_kubelet_cycle(log: Log, node, start, end, *, registered: bool, cut_at=None, klines=None):
    """A 1.19 kubelet whose requests are all refused (authorization-mode RBAC, no binding).

    registered=True: the node and its lease exist (the apiserver was restarted under the
    kubelet); False: a fresh node that cannot even register.
    Returns nothing; appends klog lines (us, level, where, msg) to klines when given.
    """
    rng = log.rng
    k = Kubelet(log, node, "rbac", cut_at)
    off = {"node1": 800_000, "node2": 1_300_000, "node3": 2_100_000}[node]
    t = start + off
    lease_uri = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + node

    def note(us, level, where, msg):
        if klines is not None and us < end:
            klines.append((us + rng.randrange(200, 900), level, where, msg))

    if registered:
        # In flight across the restart: the status patch whose GET hit the old process, the
        # renewal of the lease the kubelet had cached, and the informers' re-watches.
        patch = {"status": {"$setElementOrder/conditions": [{"type": "MemoryPressure"}, {"type": "DiskPressure"},
                                                              {"type": "PIDPressure"}, {"type": "Ready"}],
                            "conditions": [{"lastHeartbeatTime": ts_s(t), "type": c} for c in
                                           ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")]}}
        _, done = k.req(t, uri="/api/v1/nodes/%s/status?timeout=10s" % node, verb="patch", resource="nodes",
                        name=node, sub="status", req_obj=patch)
        note(done, "E", "kubelet_node_status.go:470",
             "Error updating node status, will retry: failed to patch status \"%s\" for node \"%s\": %s"
             % ("{...}", node, forbidden_message(node, "patch", "nodes", "", "", node, "status")))
        t2 = t + rng.randrange(5000, 40_000)
        _, done = k.req(t2, uri=lease_uri + "?timeout=10s", verb="update", resource="leases",
                        group="coordination.k8s.io", ns="kube-node-lease", name=node,
                        req_obj=lease_object(node, log.uuid(), 1200 + int(node[-1]), t2))
        note(done, "E", "controller.go:178",
             "failed to update lease, error: " + forbidden_message(node, "update", "leases", "coordination.k8s.io",
                                                                   "kube-node-lease", node))
        for what in ("nodes", "pods", "services"):
            t3 = t + rng.randrange(50_000, 400_000)
            if what == "nodes":
                q = "allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s&resourceVersion=1187&timeoutSeconds=%d&watch=true" % (node, rng.randrange(300, 600))
                k.req(t3, uri="/api/v1/nodes?" + q, verb="watch", resource="nodes", name=node)
            elif what == "pods":
                q = "allowWatchBookmarks=true&fieldSelector=spec.nodeName%%3D%s&resourceVersion=1190&timeoutSeconds=%d&watch=true" % (node, rng.randrange(300, 600))
                k.req(t3, uri="/api/v1/pods?" + q, verb="watch", resource="pods")
            else:
                q = "allowWatchBookmarks=true&resourceVersion=1024&timeout=%dm0s&timeoutSeconds=%d&watch=true" % (
                    rng.randrange(5, 10), rng.randrange(300, 600))
                k.req(t3, uri="/api/v1/services?" + q, verb="watch", resource="services")
        # The lease controller falls back to ensuring the lease: one create attempt (kept so the
        # create path is covered), then gets with backoff up to 7 s.
        t4 = t + rng.randrange(400_000, 700_000)
        _, done = k.req(t4, uri="/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?timeout=10s",
                        verb="create", resource="leases", group="coordination.k8s.io", ns="kube-node-lease",
                        name=node, authz_name="",
                        req_obj=lease_object(node, "", 0, t4))
        note(done, "E", "controller.go:136",
             "failed to ensure node lease exists, will retry in 200ms, error: "
             + forbidden_message(node, "create", "leases", "coordination.k8s.io", "kube-node-lease", ""))
    else:
        # Registration, retried with backoff.
        tr, step = t, 100_000
        while tr < end:
            _, done = k.req(tr, uri="/api/v1/nodes", verb="create", resource="nodes", name=node, authz_name="",
                            req_obj=node_object(node, "", 0, tr))
            note(done, "E", "kubelet_node_status.go:93", "Unable to register node \"%s\" with API server: %s"
                 % (node, forbidden_message(node, "create", "nodes", "", "", "")))
            step = min(step * 2, 7_000_000)
            tr += step + rng.randrange(0, 50_000)

    # Lease: get with exponential backoff 200 ms .. 7 s.
    tl, step = t + 800_000, 200_000
    while tl < end:
        _, done = k.req(tl, uri=lease_uri + "?timeout=10s", verb="get", resource="leases",
                        group="coordination.k8s.io", ns="kube-node-lease", name=node)
        nxt = min(step * 2, 7_000_000)
        note(done, "E", "controller.go:136", "failed to ensure node lease exists, will retry in %s, error: %s"
             % ("%gs" % (nxt / 1e6) if nxt >= 1_000_000 else "%dms" % (nxt // 1000),
                forbidden_message(node, "get", "leases", "coordination.k8s.io", "kube-node-lease", node)))
        step = nxt
        tl += step + rng.randrange(0, 20_000)

    # Node status: every 10 s, five tries of GET (the first from the apiserver cache).
    ts_ = t + 10_000_000 - off
    while ts_ < end:
        for i in range(5):
            q = "?resourceVersion=0&timeout=10s" if i == 0 else "?timeout=10s"
            _, done = k.req(ts_, uri="/api/v1/nodes/%s%s" % (node, q), verb="get", resource="nodes", name=node)
            note(done, "E", "kubelet_node_status.go:470",
                 "Error updating node status, will retry: error getting node \"%s\": %s"
                 % (node, forbidden_message(node, "get", "nodes", "", "", node)))
            ts_ = done + rng.randrange(1000, 5000)
        note(ts_, "E", "kubelet_node_status.go:457", "Unable to update node status: update node status exceeds retry count")
        ts_ += 10_000_000

    # Informers: list with backoff 800 ms .. 30 s.
    for what, where in (("nodes", "k8s.io/client-go/informers/factory.go:134"),
                        ("pods", "k8s.io/kubernetes/pkg/kubelet/config/apiserver.go:43"),
                        ("services", "k8s.io/kubernetes/pkg/kubelet/kubelet.go:438")):
        tw, step = t + rng.randrange(500_000, 1_500_000), 800_000
        while tw < end:
            if what == "nodes":
                _, done = k.req(tw, uri="/api/v1/nodes?fieldSelector=metadata.name%%3D%s&limit=500&resourceVersion=0" % node,
                                verb="list", resource="nodes", name=node)
                kind = "*v1.Node"
                msg = forbidden_message(node, "list", "nodes", "", "", node)
            elif what == "pods":
                _, done = k.req(tw, uri="/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&limit=500&resourceVersion=0" % node,
                                verb="list", resource="pods")
                kind = "*v1.Pod"
                msg = forbidden_message(node, "list", "pods", "", "", "")
            else:
                _, done = k.req(tw, uri="/api/v1/services?limit=500&resourceVersion=0", verb="list",
                                resource="services")
                kind = "*v1.Service"
                msg = forbidden_message(node, "list", "services", "", "", "")
            note(done, "E", "reflector.go:127", "%s: Failed to watch %s: failed to list %s: %s" % (where, kind, kind, msg))
            step = min(step * 2, 30_000_000)
            tw += step + rng.randrange(0, step // 4)

    # node "x" not found, from the kubelet's own sync loop, about every 100 ms when nothing else
    # happens; keep one line per second so the log stays readable.
    tn = t + 150_000
    while tn < end and klines is not None:
        note(tn, "E", "kubelet.go:2209", "node \"%s\" not found" % node)
        tn += 1_000_000 + rng.randrange(0, 90_000)


def write_incident_119():
    out = os.path.join(ROOT, "fixtures", "incident-1.19")
    os.makedirs(out, exist_ok=True)
    log = Log(119)
    start = parse_ts("2021-11-23T09:00:00.000000Z")
    end = parse_ts("2021-11-23T09:05:00.000000Z")
    control_plane_traffic(log, start, end, cut_at=end)
    for node in NODES:
        refused_kubelet_cycle(log, node, start, end, registered=True, cut_at=end)
    # One request the log cuts off: received 2 ms before the end of the file, no response stage.
    Kubelet(log, "node2", "rbac", cut_at=end).req(
        end - 2000, uri="/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node2?timeout=10s",
        verb="get", resource="leases", group="coordination.k8s.io", ns="kube-node-lease", name="node2")
    # The node lifecycle controller notices the missing heartbeats after 40 s.
    for i, node in enumerate(NODES):
        t = start + 41_000_000 + i * 37_000
        user = {"username": "system:serviceaccount:kube-system:node-controller",
                "uid": "5d2f7b1c-3c7e-4f6a-9d55-0b7a1e%06d" % i,
                "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]}
        log.add(t, uri="/api/v1/nodes/%s/status" % node, verb="update", user=user, ip=APISERVER_IP,
                ua=KCM_UA + "/system:serviceaccount:kube-system:node-controller",
                objref={"resource": "nodes", "name": node, "apiVersion": "v1", "subresource": "status"},
                reason='RBAC: allowed by ClusterRoleBinding "system:controller:node-controller" of ClusterRole '
                       '"system:controller:node-controller" to ServiceAccount "node-controller/kube-system"',
                cut_at=end)
        log.add(t + 60_000, uri="/api/v1/nodes/%s" % node, verb="patch", user=user, ip=APISERVER_IP,
                ua=KCM_UA + "/system:serviceaccount:kube-system:node-controller",
                objref={"resource": "nodes", "name": node, "apiVersion": "v1"},
                reason='RBAC: allowed by ClusterRoleBinding "system:controller:node-controller" of ClusterRole '
                       '"system:controller:node-controller" to ServiceAccount "node-controller/kube-system"',
                cut_at=end)
    log.write(os.path.join(out, "audit.log"))
    # The dump an administrator took with `kubectl get nodes,pods -A -o json` just before.
    items = []
    created = parse_ts("2021-11-23T08:41:17Z")
    for i, node in enumerate(NODES):
        items.append(node_object(node, NODE_UIDS[node], 1180 + i,
                                 created + i * 61_000_000))
    for i, (ns, name, node, sa, secrets, cms, mirror) in enumerate(PODS):
        items.append(pod_object(ns, name, node, sa, secrets, cms, mirror,
                                "%08x-77aa-4b1e-8c0d-%012x" % (0x3b000000 + i, 0x9e00 + i), created + 120_000_000 + i * 3_000_000))
    with open(os.path.join(out, "objects.json"), "w") as f:
        json.dump(list_doc(items), f, indent=4)
        f.write("\n")


# ---------------------------------------------------------------------------------------------
# incident-phases: RBAC only, then the legacy binding, then Node,RBAC

PHASE_START = "2021-11-23T09:00:00.000000Z"
BINDING_AT = "2021-11-23T09:10:00.412733Z"
RESTART_DOWN = "2021-11-23T09:19:41.000000Z"
RESTART_UP = "2021-11-23T09:20:03.000000Z"
PHASE_END = "2021-11-23T09:30:00.000000Z"


def working_kubelet(log: Log, node, mode, start, end, *, register: bool, pods, node_uid, lease_uid):
    """A kubelet whose requests are allowed (mode 'legacy' or 'node')."""
    rng = log.rng
    k = Kubelet(log, node, mode, cut_at=end)
    off = {"node1": 700_000, "node2": 1_100_000, "node3": 1_900_000}[node]
    t = start + off
    lease_uri = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" + node
    rv = [2000 + int(node[-1]) * 100]

    def nrv():
        rv[0] += rng.randrange(3, 30)
        return rv[0]

    if register:
        obj = node_object(node, node_uid, 0, t)
        req = dict(obj)
        req["metadata"] = {k2: v for k2, v in obj["metadata"].items() if k2 not in ("uid", "resourceVersion")}
        req["metadata"]["creationTimestamp"] = None
        k.req(t, uri="/api/v1/nodes", verb="create", resource="nodes", name=node, authz_name="",
              req_obj=req, resp_obj=node_object(node, node_uid, nrv(), t), code=201)
        t += 30_000
        # The lease does not exist yet: get (404) then create.
        log_objref = {"resource": "leases", "namespace": "kube-node-lease", "name": node,
                      "apiGroup": "coordination.k8s.io", "apiVersion": "v1"}
        reason = LEGACY_REASON if mode == "legacy" else ""
        nf = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": 'leases.coordination.k8s.io "%s" not found' % node, "reason": "NotFound",
              "details": {"name": node, "group": "coordination.k8s.io", "kind": "leases"}, "code": 404}
        log.add(t, uri=lease_uri + "?timeout=10s", verb="get", user=node_user(node), ip=NODES[node], ua=KUBELET_UA,
                objref=log_objref, level="RequestResponse", code=404, decision="allow", reason=reason,
                resp_obj=nf, cut_at=end)
        t += 8000
        lease = lease_object(node, lease_uid, nrv(), t)
        lreq = lease_object(node, "", 0, t)
        del lreq["metadata"]["uid"], lreq["metadata"]["resourceVersion"]
        lreq["metadata"]["creationTimestamp"] = None
        k.req(t, uri="/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases?timeout=10s", verb="create",
              resource="leases", group="coordination.k8s.io", ns="kube-node-lease", name=node, authz_name="",
              req_obj=lreq, resp_obj=lease, code=201)
    # Informers: list then watch.
    for what in ("nodes", "pods", "services"):
        tw = t + rng.randrange(100_000, 600_000)
        first = True
        while tw < end - 50_000:
            secs = min(rng.randrange(300, 600), max(1, (end - tw - 20_000) // 1_000_000))
            if what == "nodes":
                if first:
                    k.req(tw, uri="/api/v1/nodes?fieldSelector=metadata.name%%3D%s&limit=500&resourceVersion=0" % node,
                          verb="list", resource="nodes", name=node,
                          resp_obj={"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": str(nrv())},
                                    "items": [node_object(node, node_uid, rv[0], start)]})
                    tw += 4000
                _, done = k.req(tw, uri="/api/v1/nodes?allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s"
                                        "&resourceVersion=%d&timeoutSeconds=%d&watch=true" % (node, nrv(), secs),
                                verb="watch", resource="nodes", name=node, watch_us=secs * 1_000_000)
            elif what == "pods":
                if first:
                    k.req(tw, uri="/api/v1/pods?fieldSelector=spec.nodeName%%3D%s&limit=500&resourceVersion=0" % node,
                          verb="list", resource="pods",
                          resp_obj={"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": str(nrv())},
                                    "items": [p for p in pods if p["spec"].get("nodeName") == node]})
                    tw += 4000
                _, done = k.req(tw, uri="/api/v1/pods?allowWatchBookmarks=true&fieldSelector=spec.nodeName%%3D%s"
                                        "&resourceVersion=%d&timeoutSeconds=%d&watch=true" % (node, nrv(), secs),
                                verb="watch", resource="pods", watch_us=secs * 1_000_000)
            else:
                if first:
                    k.req(tw, uri="/api/v1/services?limit=500&resourceVersion=0", verb="list", resource="services",
                          resp_obj={"kind": "ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": str(nrv())},
                                    "items": [{"metadata": {"name": "kubernetes", "namespace": "default"},
                                               "spec": {"clusterIP": "10.96.0.1", "type": "ClusterIP",
                                                        "ports": [{"name": "https", "protocol": "TCP", "port": 443,
                                                                   "targetPort": 6443}]}}]})
                    tw += 4000
                _, done = k.req(tw, uri="/api/v1/services?allowWatchBookmarks=true&resourceVersion=%d&timeout=%dm%ds"
                                        "&timeoutSeconds=%d&watch=true" % (nrv(), secs // 60, secs % 60, secs),
                                verb="watch", resource="services", watch_us=secs * 1_000_000)
            first = False
            tw = done + rng.randrange(1000, 20_000)
    # Secrets and config maps of the pods on this node: single-object watches.
    refs = sorted({("secrets", p["metadata"]["namespace"], v["secret"]["secretName"])
                   for p in pods if p["spec"].get("nodeName") == node for v in p["spec"]["volumes"] if "secret" in v}
                  | {("configmaps", p["metadata"]["namespace"], v["configMap"]["name"])
                     for p in pods if p["spec"].get("nodeName") == node for v in p["spec"]["volumes"] if "configMap" in v})
    for res, ns, name in refs:
        # Only once the pods are bound to the node (about 20 s into phase 2).
        tw = t + rng.randrange(25_000_000, 35_000_000)
        while tw < end - 50_000:
            secs = min(rng.randrange(300, 600), max(1, (end - tw - 20_000) // 1_000_000))
            _, done = k.req(tw, uri="/api/v1/namespaces/%s/%s?allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s"
                                    "&resourceVersion=%d&timeout=%dm%ds&timeoutSeconds=%d&watch=true"
                                    % (ns, res, name, nrv(), secs // 60, secs % 60, secs),
                            verb="watch", resource=res, ns=ns, name=name, watch_us=secs * 1_000_000, level="Metadata")
            tw = done + rng.randrange(1000, 20_000)
    # Lease renewals every 10 s.
    tl = t + 10_000_000
    while tl < end:
        k.req(tl, uri=lease_uri + "?timeout=10s", verb="update", resource="leases", group="coordination.k8s.io",
              ns="kube-node-lease", name=node, req_obj=lease_object(node, lease_uid, rv[0], tl),
              resp_obj=lease_object(node, lease_uid, nrv(), tl))
        tl += 10_000_000 + rng.randrange(-30_000, 30_000)
    # Node status every 10 s: GET from the cache, then PATCH.
    tn = t + 2_000_000
    while tn < end:
        k.req(tn, uri="/api/v1/nodes/%s?resourceVersion=0&timeout=10s" % node, verb="get", resource="nodes",
              name=node, resp_obj=node_object(node, node_uid, rv[0], start))
        tp = tn + rng.randrange(2000, 6000)
        patch = {"status": {"$setElementOrder/conditions": [{"type": "MemoryPressure"}, {"type": "DiskPressure"},
                                                              {"type": "PIDPressure"}, {"type": "Ready"}],
                            "conditions": [{"lastHeartbeatTime": ts_s(tp), "type": c} for c in
                                           ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")]}}
        k.req(tp, uri="/api/v1/nodes/%s/status?timeout=10s" % node, verb="patch", resource="nodes", name=node,
              sub="status", req_obj=patch, resp_obj=node_object(node, node_uid, nrv(), tp))
        tn += 10_000_000 + rng.randrange(-50_000, 50_000)
    # Pod status patches for its pods, about once a minute.
    for p in pods:
        if p["spec"].get("nodeName") != node:
            continue
        tq = t + rng.randrange(30_000_000, 60_000_000)
        while tq < end:
            patch = {"metadata": {"uid": p["metadata"]["uid"]},
                     "status": {"conditions": [{"lastProbeTime": None, "lastTransitionTime": ts_s(tq),
                                                "status": "True", "type": "Ready"}]}}
            k.req(tq, uri="/api/v1/namespaces/%s/pods/%s/status" % (p["metadata"]["namespace"], p["metadata"]["name"]),
                  verb="patch", resource="pods", ns=p["metadata"]["namespace"], name=p["metadata"]["name"],
                  sub="status", req_obj=patch, level="Request")
            tq += 60_000_000 + rng.randrange(-5_000_000, 5_000_000)


def write_incident_phases():
    out = os.path.join(ROOT, "fixtures", "incident-phases")
    os.makedirs(out, exist_ok=True)
    log = Log(5)
    start, bind_at = parse_ts(PHASE_START), parse_ts(BINDING_AT)
    down, up, end = parse_ts(RESTART_DOWN), parse_ts(RESTART_UP), parse_ts(PHASE_END)
    klines = {n: [] for n in NODES}

    # Phase 1: fresh cluster, RBAC only; nodes cannot register. The control plane runs on
    # until the apiserver restart.
    control_plane_traffic(log, start, down)
    for node in NODES:
        refused_kubelet_cycle(log, node, start, bind_at, registered=False, klines=klines[node])

    # The boundary: an administrator gives the system:node ClusterRole back to the nodes group.
    admin = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
    crb = {"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
           "metadata": {"name": "system:node", "uid": "0b6c3e55-7a4f-4d7e-9a86-2f1d4c9b7e10",
                        "resourceVersion": "163", "creationTimestamp": "2021-11-23T08:58:12Z",
                        "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
           "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:nodes"}],
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:node"}}
    log.add(bind_at - 310_000, uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:node",
            verb="get", user=admin, ip="10.10.0.5", ua=KUBECTL_UA,
            objref={"resource": "clusterrolebindings", "name": "system:node",
                    "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
            reason='RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"')
    log.add(bind_at, uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:node?fieldManager=kubectl-edit",
            verb="update", user=admin, ip="10.10.0.5", ua=KUBECTL_UA, level="RequestResponse",
            objref={"resource": "clusterrolebindings", "name": "system:node",
                    "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
            req_obj=crb, resp_obj=dict(crb, metadata=dict(crb["metadata"], resourceVersion="2291")),
            reason='RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
            latency_us=6100)

    # Phase 2: the legacy binding. Nodes register; pods get scheduled and started.
    p2 = bind_at + 1_000_000
    node_uids = NODE_UIDS
    lease_uids = {n: "%08x-2e4d-4b3a-8c6e-%012x" % (0x51e0a000 + i, 0xbee5 + i) for i, n in enumerate(NODES)}
    pods = []
    for i, (ns, name, node, sa, secrets, cms, mirror) in enumerate(PODS):
        pods.append(pod_object(ns, name, node, sa, secrets, cms, mirror,
                               "%08x-77aa-4b1e-8c0d-%012x" % (0x3b000000 + i, 0x9e00 + i), p2 + 20_000_000 + i * 700_000))
    # Controllers create the non-mirror pods (they were pending) and the scheduler binds them.
    for p in pods:
        meta = p["metadata"]
        if "kubernetes.io/config.mirror" in meta.get("annotations", {}):
            continue
        tc = p2 + 15_000_000 + len(meta["name"]) * 101_000
        req = pod_object(meta["namespace"], meta["name"], p["spec"]["nodeName"], p["spec"].get("serviceAccountName", ""),
                         [v["secret"]["secretName"] for v in p["spec"]["volumes"] if "secret" in v],
                         [v["configMap"]["name"] for v in p["spec"]["volumes"] if "configMap" in v], False,
                         meta["uid"], tc, with_node=False)
        ctrl = "daemon-set-controller" if meta["name"].startswith("kube-proxy") else "replicaset-controller"
        log.add(tc, uri="/api/v1/namespaces/%s/pods" % meta["namespace"], verb="create",
                user={"username": "system:serviceaccount:kube-system:" + ctrl, "uid": log.uuid(),
                      "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]},
                ip=APISERVER_IP, ua=KCM_UA + "/system:serviceaccount:kube-system:" + ctrl, level="Request",
                objref={"resource": "pods", "namespace": meta["namespace"], "name": meta["name"], "apiVersion": "v1"},
                code=201, req_obj=req,
                reason='RBAC: allowed by ClusterRoleBinding "system:controller:%s" of ClusterRole '
                       '"system:controller:%s" to ServiceAccount "%s/kube-system"' % (ctrl, ctrl, ctrl))
        log.add(tc + 180_000, uri="/api/v1/namespaces/%s/pods/%s/binding" % (meta["namespace"], meta["name"]),
                verb="create", user={"username": "system:kube-scheduler", "groups": ["system:authenticated"]},
                ip=APISERVER_IP, ua=SCHED_UA + "/scheduler", level="Request",
                objref={"resource": "pods", "namespace": meta["namespace"], "name": meta["name"], "apiVersion": "v1",
                        "subresource": "binding"}, code=201,
                req_obj={"kind": "Binding", "apiVersion": "v1",
                         "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                                      "creationTimestamp": None},
                         "target": {"kind": "Node", "name": p["spec"]["nodeName"]}},
                reason=rbac_user_reason("system:kube-scheduler", "system:kube-scheduler", "system:kube-scheduler"))
    for node in NODES:
        working_kubelet(log, node, "legacy", p2, down, register=True, pods=pods, node_uid=node_uids[node],
                        lease_uid=lease_uids[node])
    # node1 also creates the mirror pods of its static pods.
    for p in pods:
        meta = p["metadata"]
        if "kubernetes.io/config.mirror" not in meta.get("annotations", {}):
            continue
        tm = p2 + 3_000_000 + len(meta["name"]) * 50_000
        Kubelet(log, "node1", "legacy", cut_at=down).req(
            tm, uri="/api/v1/namespaces/kube-system/pods", verb="create", resource="pods", ns="kube-system",
            name=meta["name"], authz_name="", req_obj=p, level="Request")

    # Phase 3: the apiserver restarted with --authorization-mode=Node,RBAC.
    control_plane_traffic(log, up, end)
    for node in NODES:
        working_kubelet(log, node, "node", up + 400_000, end, register=False, pods=pods, node_uid=node_uids[node],
                        lease_uid=lease_uids[node])
    log.write(os.path.join(out, "audit.log"))
    with open(os.path.join(out, "phases.json"), "w") as f:
        json.dump({"start": PHASE_START, "binding_added": BINDING_AT, "apiserver_stopped": RESTART_DOWN,
                   "apiserver_started": RESTART_UP, "end": PHASE_END}, f, indent=2)
        f.write("\n")

    # The dump taken after the incident (end of phase 3).
    items = [node_object(n, node_uids[n], 3000 + i, parse_ts(BINDING_AT) + 1_000_000) for i, n in enumerate(NODES)]
    items += pods
    with open(os.path.join(out, "objects.json"), "w") as f:
        json.dump(list_doc(items), f, indent=4)
        f.write("\n")

    # Kubelet logs of node1 for phase 1: raw klog, and the same lines through journalctl.
    pid = 1421
    lines = sorted(klines["node1"])
    preamble = [
        (start + 5_000, "I", "server.go:411", "Version: v1.19.16"),
        (start + 9_000, "I", "server.go:831", "Client rotation is on, will bootstrap in background"),
        (start + 31_000, "I", "certificate_store.go:130", "Loading cert/key pair from \"/var/lib/kubelet/pki/kubelet-client-current.pem\"."),
        (start + 402_000, "W", "cni.go:239", "Unable to update cni config: no networks found in /etc/cni/net.d"),
        (start + 517_000, "I", "kubelet_node_status.go:71", "Attempting to register node node1"),
    ]
    allk = sorted(preamble + lines)
    with open(os.path.join(out, "kubelet.log"), "w") as f:
        for us, lvl, where, msg in allk:
            f.write(klog(us, lvl, pid, where, msg) + "\n")
    with open(os.path.join(out, "kubelet.journal.log"), "w") as f:
        f.write("-- Logs begin at Tue 2021-11-23 08:31:02 UTC, end at Tue 2021-11-23 09:31:40 UTC. --\n")
        for us, lvl, where, msg in allk:
            d = datetime.fromtimestamp(us // 1_000_000, tz=timezone.utc)
            f.write("%s node1 kubelet[%d]: %s\n" % (d.strftime("%b %d %H:%M:%S"), pid, klog(us, lvl, pid, where, msg)))


def main():
    write_incident_119()
    write_incident_phases()
    return 0


if __name__ == "__main__":
    sys.exit(main())
