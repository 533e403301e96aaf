#!/usr/bin/env python3
"""k8s_check.py DEPLOY_DIR: check deploy/k8s against the Kubernetes fields
it uses, and print what its Jobs run, for shard.sh to run it locally.

No cluster and no validator (kubeconform is neither a Debian nor an npm
package; kubectl apply --dry-run=client still asks a server for its
schema), so this checks the fields the manifests use, against the
Kubernetes API (batch/v1 Job, v1 PersistentVolumeClaim, PodSpec,
Container): every key at each level is one the API has (a misspelt key is
an error, as kubectl's strict validation makes it), the values the
scale-out depends on (an Indexed Job whose completions equal the shard
count its command gives wedge, restartPolicy Never, the volume claimed by
the name the PVC has, the ConfigMap the kustomization generates, a merge
Job on the same run directory).  docs/scale-out.md says so.

Prints a JSON object: shards (N), shard (the shards' shell command), merge
(the merge's), env (the Jobs' plain env values).
"""
import json
import os
import sys

import yaml

JOB_SPEC = {"completionMode", "completions", "parallelism", "backoffLimit",
            "backoffLimitPerIndex", "maxFailedIndexes", "activeDeadlineSeconds",
            "ttlSecondsAfterFinished", "template", "podFailurePolicy", "suspend"}
POD_SPEC = {"restartPolicy", "containers", "volumes", "initContainers", "nodeSelector",
            "serviceAccountName", "securityContext", "tolerations", "affinity"}
CONTAINER = {"name", "image", "command", "args", "env", "resources", "volumeMounts",
             "workingDir", "imagePullPolicy", "securityContext"}
PVC_SPEC = {"accessModes", "resources", "storageClassName", "volumeMode"}
META = {"name", "labels", "annotations", "namespace"}


def fail(msg):
    sys.exit("k8s_check: FAIL: " + msg)


def keys(where, obj, allowed):
    extra = set(obj) - allowed
    if extra:
        fail("%s: unknown field(s) %s (allowed: %s)" % (where, sorted(extra), sorted(allowed)))


def load(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    for d in docs:
        for k in ("apiVersion", "kind", "metadata"):
            if k not in d:
                fail("%s: no %s" % (path, k))
        keys(path + " metadata", d["metadata"], META)
    return docs


def job(path, doc, claim, cmap):
    if (doc["apiVersion"], doc["kind"]) != ("batch/v1", "Job"):
        fail("%s: not a batch/v1 Job" % path)
    spec = doc["spec"]
    keys(path + " spec", spec, JOB_SPEC)
    pod = spec["template"]["spec"]
    keys(path + " pod spec", pod, POD_SPEC)
    if pod.get("restartPolicy") != "Never":
        fail("%s: restartPolicy must be Never (a retried shard would write twice)" % path)
    (c,) = pod["containers"]
    keys(path + " container", c, CONTAINER)
    vols = {v["name"]: v for v in pod["volumes"]}
    for m in c["volumeMounts"]:
        if m["name"] not in vols:
            fail("%s: volumeMount %s has no volume" % (path, m["name"]))
    if vols["shards"]["persistentVolumeClaim"]["claimName"] != claim:
        fail("%s: the shards volume does not claim %s" % (path, claim))
    if vols["scenario"]["configMap"]["name"] != cmap:
        fail("%s: the scenario volume is not the ConfigMap %s" % (path, cmap))
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    if c["command"][:2] != ["/bin/sh", "-c"] or len(c["args"]) != 1:
        fail("%s: expected command /bin/sh -c and one args string" % path)
    return spec, env, c["args"][0]


def main():
    d = sys.argv[1]
    (kust,) = load_plain(os.path.join(d, "kustomization.yaml"))
    for r in kust["resources"] + [f for g in kust["configMapGenerator"] for f in g["files"]]:
        if not os.path.exists(os.path.join(d, r)):
            fail("kustomization.yaml: %s does not exist" % r)
    cmap = kust["configMapGenerator"][0]["name"]
    (pvc,) = load(os.path.join(d, "pvc.yaml"))
    if (pvc["apiVersion"], pvc["kind"]) != ("v1", "PersistentVolumeClaim"):
        fail("pvc.yaml: not a v1 PersistentVolumeClaim")
    keys("pvc.yaml spec", pvc["spec"], PVC_SPEC)
    if "ReadWriteMany" not in pvc["spec"]["accessModes"]:
        fail("pvc.yaml: the shards and the merge share it: ReadWriteMany")
    claim = pvc["metadata"]["name"]
    (sj,) = load(os.path.join(d, "shards-job.yaml"))
    (mj,) = load(os.path.join(d, "merge-job.yaml"))
    spec, senv, shard = job("shards-job.yaml", sj, claim, cmap)
    _, menv, merge = job("merge-job.yaml", mj, claim, cmap)
    if spec.get("completionMode") != "Indexed":
        fail("shards-job.yaml: completionMode must be Indexed (the index is the shard)")
    if str(spec["completions"]) != senv["WEDGE_SHARDS"]:
        fail("shards-job.yaml: completions %s but WEDGE_SHARDS %s" % (spec["completions"],
                                                                      senv["WEDGE_SHARDS"]))
    if '--shard "$JOB_COMPLETION_INDEX/$WEDGE_SHARDS"' not in shard:
        fail("shards-job.yaml: the completion index is not the shard")
    if senv["WEDGE_RUN_ID"] != menv["WEDGE_RUN_ID"] or "wedge merge" not in merge:
        fail("merge-job.yaml: not a wedge merge of the shards' run")
    print(json.dumps({"shards": spec["completions"], "shard": shard, "merge": merge,
                      "env": {**senv, **menv}}))


def load_plain(path):
    with open(path) as f:
        return [yaml.safe_load(f)]


if __name__ == "__main__":
    main()
