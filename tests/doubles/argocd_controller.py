"""Double of Argo CD v3.4.4's application controller for one Application, over the Kubernetes API double.

No Argo CD can run here, so this writes the Application status the real controller would, from the objects that
really are in the API double (tests/doubles/k8s_api.py), one reconciliation per GET of the Application:

- health of each managed resource, as gitops-engine's pkg/health computes it (argo-cd v3.4.4 vendors it in
  ./gitops-engine, go.mod `replace github.com/argoproj/argo-cd/gitops-engine => ./gitops-engine`), plus the Lua
  health checks argo-cd ships in resource_customizations/ for the kinds the platform uses; each rule below names
  its upstream file and function. Kinds with no rule (ConfigMap, ServiceMonitor, PrometheusRule...) have no health
  and do not count, as upstream.
- the Application's health: the worst resource health (controller/health.go setApplicationHealth,
  gitops-engine health.go IsWorse/healthOrder).
- the revision sequence after a push: the comparison moves status.sync.revision to the new commit first
  (OutOfSync), while status.operationState still describes the last operation; the next reconciliation starts the
  auto-sync (controller/appcontroller.go autoSync: Operation.Sync.Revision = the desired revision; phase Running;
  controller/sync.go SyncAppState writes SyncResult.Revision); the next applies the manifests and records
  Succeeded (or Failed with the apply error). An older revision's failed sync is not retried
  (appcontroller.go alreadyAttemptedSync).

Not Argo CD: no git, no diffing beyond "the manifests of the revision were applied", no hooks, no sync waves.
"""
import copy
import threading

# gitops-engine pkg/health/health.go healthOrder: later is worse.
HEALTH_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]


def is_worse(current, new):
    """gitops-engine pkg/health/health.go IsWorse."""
    return HEALTH_ORDER.index(new) > HEALTH_ORDER.index(current)


def _health(status, message=""):
    return {"status": status, "message": message} if message else {"status": status}


def _condition(obj, kind):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def deployment_health(obj):
    """gitops-engine pkg/health/health_deployment.go getAppsv1DeploymentHealth."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("paused"):
        return _health("Suspended", "Deployment is paused")
    if int(obj["metadata"].get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return _health("Progressing", "Waiting for rollout to finish: observed deployment generation less than "
                                      "desired generation")
    progressing = _condition(obj, "Progressing")
    replicas = spec.get("replicas", 1)
    updated, total, available = (int(status.get(k, 0)) for k in ("updatedReplicas", "replicas", "availableReplicas"))
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return _health("Degraded", 'Deployment "%s" exceeded its progress deadline' % obj["metadata"]["name"])
    if replicas is not None and updated < replicas:
        return _health("Progressing", "Waiting for rollout to finish: %d out of %d new replicas have been updated..."
                       % (updated, replicas))
    if total > updated:
        return _health("Progressing", "Waiting for rollout to finish: %d old replicas are pending termination..."
                       % (total - updated))
    if available < updated:
        return _health("Progressing", "Waiting for rollout to finish: %d of %d updated replicas are available..."
                       % (available, updated))
    return _health("Healthy")


def replicaset_health(obj):
    """gitops-engine pkg/health/health_replicaset.go getAppsv1ReplicaSetHealth."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if int(obj["metadata"].get("generation", 0)) > int(status.get("observedGeneration", 0)):
        return _health("Progressing", "Waiting for rollout to finish: observed replica set generation less than "
                                      "desired generation")
    failure = _condition(obj, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return _health("Degraded", failure.get("message", ""))
    replicas = spec.get("replicas", 1)
    if replicas is not None and int(status.get("availableReplicas", 0)) < replicas:
        return _health("Progressing", "Waiting for rollout to finish: %d out of %d new replicas are available..."
                       % (int(status.get("availableReplicas", 0)), replicas))
    return _health("Healthy")


def service_health(obj):
    """gitops-engine pkg/health/health_service.go getCorev1ServiceHealth: a LoadBalancer waits for its address."""
    if (obj.get("spec") or {}).get("type") == "LoadBalancer":
        ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        return _health("Healthy" if ingress else "Progressing")
    return _health("Healthy")


def ingress_health(obj):
    """gitops-engine pkg/health/health_ingress.go getIngressHealth: Progressing until status.loadBalancer.ingress."""
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return _health("Healthy" if ingress else "Progressing")


def pod_health(obj):
    """gitops-engine pkg/health/health_pod.go getCorev1PodHealth."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    restart_policy = spec.get("restartPolicy", "Always")
    if restart_policy == "Always":
        messages = []
        for container in status.get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting")
            reason = (waiting or {}).get("reason", "")
            if waiting and (reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff")):
                messages.append(waiting.get("message", ""))
        if messages:
            return _health("Degraded", ", ".join(messages))
    phase, message = status.get("phase"), status.get("message", "")
    if phase == "Pending":
        return _health("Progressing", message)
    if phase == "Succeeded":
        return _health("Healthy", message)
    if phase == "Failed":
        if message:
            return _health("Degraded", message)
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            terminated = (container.get("state") or {}).get("terminated") or {}
            if terminated.get("message"):
                return _health("Degraded", terminated["message"])
            if terminated.get("reason") == "OOMKilled":
                return _health("Degraded", "OOMKilled")
            if terminated.get("exitCode"):
                return _health("Degraded", 'container "%s" failed with exit code %d'
                               % (container.get("name"), terminated["exitCode"]))
        return _health("Degraded")
    if phase == "Running":
        if restart_policy == "Always":
            ready = _condition(obj, "Ready")
            if ready and ready.get("status") == "True":
                return _health("Healthy", message)
            if any((c.get("lastState") or {}).get("terminated") for c in status.get("containerStatuses") or []):
                return _health("Degraded", message)
        return _health("Progressing", message)
    return _health("Unknown", message)


def pvc_health(obj):
    """gitops-engine pkg/health/health_pvc.go getCorev1PVCHealth."""
    phase = (obj.get("status") or {}).get("phase")
    return _health({"Lost": "Degraded", "Pending": "Progressing", "Bound": "Healthy"}.get(phase, "Unknown"))


def job_health(obj):
    """gitops-engine pkg/health/health_job.go getBatchv1JobHealth: any Failed/Complete/Suspended condition ends the
    job whatever its status; Suspended counts only with status True."""
    failed = complete = suspended = False
    message = fail_message = ""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed":
            failed = complete = True
            fail_message = condition.get("message", "")
        elif condition.get("type") == "Complete":
            complete, message = True, condition.get("message", "")
        elif condition.get("type") == "Suspended":
            complete, message = True, condition.get("message", "")
            suspended = suspended or condition.get("status") == "True"
    if not complete:
        return _health("Progressing", message)
    if failed:
        return _health("Degraded", fail_message)
    if suspended:
        return _health("Suspended", fail_message)
    return _health("Healthy", message)


def _ready_condition_health(obj, waiting_message, issuing_first=False):
    """argo-cd resource_customizations/cert-manager.io/{Certificate,Issuer,ClusterIssuer}/health.lua."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    if issuing_first:
        for condition in conditions:
            if condition.get("type") == "Issuing" and condition.get("status") == "True":
                return _health("Progressing", condition.get("message", ""))
    for condition in conditions:
        if condition.get("type") == "Ready" and condition.get("status") == "False":
            return _health("Degraded", condition.get("message", ""))
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return _health("Healthy", condition.get("message", ""))
    return _health("Progressing", waiting_message)


def pdb_health(obj):
    """argo-cd resource_customizations/policy/PodDisruptionBudget/health.lua."""
    health = _health("Progressing", "Waiting for status")
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("status") == "False" and condition.get("reason") != "InsufficientPods":
            return _health("Degraded", "PodDisruptionBudget has " + condition.get("reason", ""))
        health = _health("Healthy", "PodDisruptionBudget has " + condition.get("reason", ""))
    return health


# gitops-engine pkg/health/health.go GetHealthCheckFunc (group, kind), then argo-cd's Lua overrides.
HEALTH_CHECKS = {
    ("apps", "Deployment"): deployment_health,
    ("apps", "ReplicaSet"): replicaset_health,
    ("networking.k8s.io", "Ingress"): ingress_health,
    ("extensions", "Ingress"): ingress_health,
    ("", "Service"): service_health,
    ("", "Pod"): pod_health,
    ("", "PersistentVolumeClaim"): pvc_health,
    ("batch", "Job"): job_health,
    ("cert-manager.io", "Certificate"): lambda o: _ready_condition_health(o, "Waiting for certificate", True),
    ("cert-manager.io", "Issuer"): lambda o: _ready_condition_health(o, "Initializing issuer"),
    ("cert-manager.io", "ClusterIssuer"): lambda o: _ready_condition_health(o, "Initializing ClusterIssuer"),
    ("policy", "PodDisruptionBudget"): pdb_health,
}


def resource_health(obj):
    """gitops-engine pkg/health/health.go GetResourceHealth: None for kinds without a health check."""
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return _health("Progressing", "Pending deletion")
    group = obj["apiVersion"].rpartition("/")[0]
    check = HEALTH_CHECKS.get((group, obj["kind"]))
    return check(obj) if check else None


def application_health(resources):
    """controller/health.go setApplicationHealth over [(desired object, live object or None)]:
    (per-resource health list, the Application's health)."""
    app_health, statuses, any_live = "Healthy", [], False
    for _desired, live in resources:
        if live is None:
            health = _health("Missing")
        else:
            any_live = True
            health = resource_health(live)
        statuses.append(health)
        if health is None or (live is None and health["status"] == "Missing"):
            continue
        if is_worse(app_health, health["status"]):
            app_health = health["status"]
    if resources and not any_live and is_worse(app_health, "Missing"):
        app_health = "Missing"
    return statuses, app_health


class ArgoCDControllerDouble:
    """One Application: `push(revision, manifests)` is a new commit of its path; every GET of the Application
    through the API double runs one reconciliation first (compare -> start the sync -> apply and record)."""

    def __init__(self, api, name, namespace="argocd", controllers=()):
        self.api, self.name, self.namespace = api, name, namespace
        # Stand-ins for the in-cluster controllers that write status (a traefik, a deployment controller): each is
        # called with the API double at every reconciliation, before health is read.
        self.controllers = list(controllers)
        self.heads = {}
        self.head = None
        self.applied = None
        self.step = "idle"
        self.failure = None
        api.before_get.append(self._on_get)
        self._lock = threading.Lock()

    def push(self, revision, manifests, fail_with=None):
        """A new commit: its manifests; fail_with makes its sync fail with that apply error."""
        self.heads[revision] = ([copy.deepcopy(m) for m in manifests], fail_with)
        self.head = revision

    def _on_get(self, plural, namespace, name):
        if (plural, namespace, name) == ("applications", self.namespace, self.name):
            self.reconcile()

    def _live(self, obj):
        group, _, version = obj["apiVersion"].rpartition("/")
        namespace = obj["metadata"].get("namespace") or self.app_namespace()
        for key, live in self.api.objects.items():
            if key[0] == group and key[3] in (namespace, None) and key[4] == obj["metadata"]["name"] \
                    and live.get("kind") == obj["kind"]:
                return live
        return None

    def app_namespace(self):
        app = self.api.get("applications", self.name, self.namespace)
        return app["spec"]["destination"]["namespace"]

    def reconcile(self):
        app = self.api.get("applications", self.name, self.namespace)
        status = app.setdefault("status", {})
        annotations = app["metadata"].get("annotations") or {}
        for controller in self.controllers:
            controller(self.api)
        if self.head is None:
            return
        manifests, fail_with = self.heads[self.head]
        if self.step == "idle" and status.get("sync", {}).get("revision") != self.head:
            # A refresh (the annotation, or the next poll): the comparison moves sync.revision first; the
            # refresh annotation is removed once handled (appcontroller.go refreshAppConditions / needRefreshAppStatus).
            annotations.pop("argocd.argoproj.io/refresh", None)
            status["sync"] = {"status": "OutOfSync", "revision": self.head}
            self.step = "compared"
        elif self.step == "compared":
            if (status.get("operationState") or {}).get("phase") == "Failed" and \
                    (status["operationState"].get("syncResult") or {}).get("revision") == self.head:
                pass  # alreadyAttemptedSync: a failed sync of this revision is not retried
            else:
                status["operationState"] = {
                    "phase": "Running", "message": "one or more tasks are running",
                    "operation": {"sync": {"revision": self.head}, "initiatedBy": {"automated": True}},
                    "syncResult": {"revision": self.head}, "startedAt": "2026-11-26T04:01:00Z"}
                self.step = "running"
        elif self.step == "running":
            operation = status["operationState"]
            if fail_with:
                operation.update({"phase": "Failed", "message": "one or more objects failed to apply, reason: "
                                                                + fail_with})
                status["conditions"] = [{"type": "SyncError", "message": "Failed sync attempt to %s: one or more "
                                                                          "objects failed to apply" % self.head}]
            else:
                for manifest in manifests:
                    self._apply(manifest)
                operation.update({"phase": "Succeeded", "message": "successfully synced (all tasks run)"})
                status["sync"] = {"status": "Synced", "revision": self.head}
                status.pop("conditions", None)
                self.applied = self.head
            operation["finishedAt"] = "2026-11-26T04:01:05Z"
            self.step = "idle"
        pairs = [(m, self._live(m)) for m in manifests]
        healths, app_health = application_health(pairs)
        synced = self.applied == self.head
        status["resources"] = [
            dict({"group": m["apiVersion"].rpartition("/")[0], "version": m["apiVersion"].rpartition("/")[2],
                  "kind": m["kind"], "namespace": m["metadata"].get("namespace") or self.app_namespace(),
                  "name": m["metadata"]["name"], "status": "Synced" if synced and live else "OutOfSync"},
                 **({"health": h} if h else {}))
            for (m, live), h in zip(pairs, healths)]
        status["health"] = {"status": app_health}

    def _apply(self, manifest):
        obj = copy.deepcopy(manifest)
        resource = self.api._resource_for(obj["apiVersion"], obj["kind"])
        if resource[4]:
            obj["metadata"].setdefault("namespace", self.app_namespace())
        live = self._live(obj)
        if live is not None:
            if {k: v for k, v in live.items() if k not in ("status", "metadata")} == \
                    {k: v for k, v in obj.items() if k not in ("status", "metadata")}:
                return
            obj["metadata"]["generation"] = live["metadata"].get("generation", 1)
            obj["status"] = live.get("status", {})
        self.api._store(resource, obj["metadata"].get("namespace") if resource[4] else None, obj)


def deployment_controller(api):
    """A stand-in for kube-controller-manager's deployment controller, one step per call, so each in-between state
    health_deployment.go distinguishes is seen in turn: the new generation observed, new replicas updated one at a
    time (old ones still counted in status.replicas), old ones gone, then the new ones available. Scripted, not the
    real rollout algorithm."""
    for obj in list(api.objects.values()):
        if obj.get("kind") != "Deployment":
            continue
        status = obj.setdefault("status", {})
        wanted = (obj.get("spec") or {}).get("replicas", 1)
        generation = int(obj["metadata"].get("generation", 1))
        updated, total = int(status.get("updatedReplicas", 0)), int(status.get("replicas", 0))
        if int(status.get("observedGeneration", 0)) < generation:
            old = int(status.get("availableReplicas", 0))
            status.update({"observedGeneration": generation, "updatedReplicas": 0, "replicas": old,
                           "availableReplicas": old, "conditions": [
                               {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]})
        elif updated < wanted:
            status.update({"updatedReplicas": updated + 1, "replicas": total + 1})
        elif total > updated:
            status["replicas"] = updated
        elif int(status.get("availableReplicas", 0)) < updated or status.get("readyReplicas") != updated:
            status.update({"availableReplicas": updated, "readyReplicas": updated, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})
