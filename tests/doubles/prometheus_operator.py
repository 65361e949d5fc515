"""What a real Prometheus would be told to scrape for a ServiceMonitor, without a cluster.

Two halves, both turned into a plain Prometheus configuration that the real `prometheus` binary runs:

- `service_monitor_scrape_config`: the scrape job prometheus-operator generates for one ServiceMonitor endpoint.
  A model of prometheus-operator v0.93 (kube-prometheus-stack 88.5.3 ships v0.93.1; the snapshot read has the
  v0.93.0 tag, the last release with a tag there, and v0.93.1 is a patch release of the same release-0.93 line),
  pkg/prometheus/promcfg.go, `generateServiceMonitorConfig` and `initRelabelings`, for the default
  service-discovery role (`endpoints`, `defaultEndpointRoleFlavor`) and selector mechanism (`Relabel`): honor_labels,
  scrape_interval, scrape_timeout, metrics_path, then the relabelling in the operator's order: the job copied to
  __tmp_prometheus_job_name, one `keep` per selector label (label value and labelpresent), `keep` on the endpoint's
  port name, node/pod from the address' target, namespace, service, pod, container, `drop` of Failed/Succeeded pods,
  job = the Service's name (then the Service's `jobLabel` label when set), endpoint = the port name. Not modelled:
  sharding (one shard keeps every target), scrape classes, enforced namespace labels, limits. A ServiceMonitor that
  uses a field this model does not cover is refused (AssertionError naming it) rather than scraped differently.
- `endpoints_targets`: the targets Prometheus' Kubernetes service discovery (role `endpoints`) finds for a
  Service and the pods of a Deployment, as static targets carrying the same `__meta_kubernetes_*` labels
  (prometheus v2.42.0 discovery/kubernetes/endpoints.go `buildEndpoints`, pod.go `podLabels`, service.go
  `addServiceLabels`). The Endpoints controller makes an Endpoints object named like the Service, only for pods the
  Service's selector matches, one port per Service port named like it whose number is the resolved targetPort (a
  named targetPort the container does not declare gives that pod no address for the port). Discovery only looks in
  the ServiceMonitor's own namespace (no namespaceSelector). Addresses point at loopback: `local_ports` maps each
  container port to where the real process listens on 127.0.0.1; a port nothing maps is given a closed port, as
  in a pod where nothing listens on it.
"""
import re

# ServiceMonitor fields this model covers; anything else is refused.
SPEC_FIELDS = {"selector", "endpoints", "jobLabel"}
ENDPOINT_FIELDS = {"port", "path", "interval", "scrapeTimeout", "honorLabels"}


def sanitize(name):
    """prometheus/prometheus util/strutil SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes _."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def service_monitor_scrape_config(service_monitor, index=0):
    spec = service_monitor["spec"]
    unknown = sorted(set(spec) - SPEC_FIELDS)
    if unknown:
        raise AssertionError(f"ServiceMonitor spec.{unknown[0]} is not modelled by tests/doubles/prometheus_operator.py")
    selector = spec.get("selector") or {}
    if set(selector) - {"matchLabels"}:
        raise AssertionError("ServiceMonitor spec.selector: only matchLabels is modelled")
    endpoint = spec["endpoints"][index]
    unknown = sorted(set(endpoint) - ENDPOINT_FIELDS)
    if unknown:
        raise AssertionError(f"ServiceMonitor spec.endpoints[{index}].{unknown[0]} is not modelled")
    if not endpoint.get("port"):
        raise AssertionError(f"ServiceMonitor spec.endpoints[{index}].port: only a named Service port is modelled")
    namespace, name = service_monitor["metadata"]["namespace"], service_monitor["metadata"]["name"]
    config = {"job_name": f"serviceMonitor/{namespace}/{name}/{index}",
              "honor_labels": bool(endpoint.get("honorLabels", False))}
    for field, key in (("interval", "scrape_interval"), ("scrapeTimeout", "scrape_timeout"), ("path", "metrics_path")):
        if endpoint.get(field):
            config[key] = endpoint[field]
    relabel = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
    for key in sorted(selector.get("matchLabels") or {}):
        relabel.append({"action": "keep", "source_labels": [f"__meta_kubernetes_service_label_{sanitize(key)}",
                                                           f"__meta_kubernetes_service_labelpresent_{sanitize(key)}"],
                        "regex": f"({selector['matchLabels'][key]});true"})
    relabel.append({"action": "keep", "source_labels": ["__meta_kubernetes_endpoint_port_name"],
                    "regex": endpoint["port"]})
    target = ["__meta_kubernetes_endpoint_address_target_kind", "__meta_kubernetes_endpoint_address_target_name"]
    relabel += [
        {"source_labels": target, "separator": ";", "regex": "Node;(.*)", "replacement": "${1}", "target_label": "node"},
        {"source_labels": target, "separator": ";", "regex": "Pod;(.*)", "replacement": "${1}", "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "service"},
        {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
        {"source_labels": ["__meta_kubernetes_pod_container_name"], "target_label": "container"},
        {"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"},
        {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job", "replacement": "${1}"},
    ]
    if spec.get("jobLabel"):
        relabel.append({"source_labels": [f"__meta_kubernetes_service_label_{sanitize(spec['jobLabel'])}"],
                        "target_label": "job", "regex": "(.+)", "replacement": "${1}"})
    relabel.append({"target_label": "endpoint", "replacement": endpoint["port"]})
    config["relabel_configs"] = relabel
    return config


def _pod_port(container_ports, target_port):
    """The container port a Service port's targetPort names (by name or number), or None (no address)."""
    for port in container_ports:
        if target_port in (port.get("name"), port["containerPort"]):
            return port["containerPort"]
    return target_port if isinstance(target_port, int) else None


def endpoints_targets(service_monitor, service, deployment, local_ports, closed_port, pod_name=None):
    """Static target groups as Kubernetes SD (role endpoints) would discover them for one pod of the Deployment."""
    namespace = service["metadata"].get("namespace", "default")
    if namespace != service_monitor["metadata"].get("namespace", "default"):
        return []
    template = deployment["spec"]["template"]
    pod_labels = template["metadata"].get("labels") or {}
    selector = service["spec"].get("selector") or {}
    if not selector or any(pod_labels.get(key) != value for key, value in selector.items()):
        return []  # no Endpoints addresses: the Service selects no pod
    pod = pod_name or f"{deployment['metadata']['name']}-5c7d9f8b6d-x7k2p"
    group_labels = {"__meta_kubernetes_namespace": namespace,
                    "__meta_kubernetes_endpoints_name": service["metadata"]["name"],
                    "__meta_kubernetes_service_name": service["metadata"]["name"]}
    for key, value in (service["metadata"].get("labels") or {}).items():
        group_labels[f"__meta_kubernetes_service_label_{sanitize(key)}"] = value
        group_labels[f"__meta_kubernetes_service_labelpresent_{sanitize(key)}"] = "true"
    groups = []
    containers = template["spec"]["containers"]
    for service_port in service["spec"]["ports"]:
        ports = [p for c in containers for p in c.get("ports", [])]
        number = _pod_port(ports, service_port.get("targetPort", service_port["port"]))
        if number is None:
            continue
        labels = dict(group_labels, **{
            "__meta_kubernetes_endpoint_port_name": service_port.get("name", ""),
            "__meta_kubernetes_endpoint_port_protocol": service_port.get("protocol", "TCP"),
            "__meta_kubernetes_endpoint_ready": "true",
            "__meta_kubernetes_endpoint_address_target_kind": "Pod",
            "__meta_kubernetes_endpoint_address_target_name": pod,
            "__meta_kubernetes_pod_name": pod,
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_ready": "true"})
        for key, value in pod_labels.items():
            labels[f"__meta_kubernetes_pod_label_{sanitize(key)}"] = value
            labels[f"__meta_kubernetes_pod_labelpresent_{sanitize(key)}"] = "true"
        for container in containers:  # the container that declares this port number
            match = [p for p in container.get("ports", []) if p["containerPort"] == number]
            if match:
                labels.update({"__meta_kubernetes_pod_container_name": container["name"],
                               "__meta_kubernetes_pod_container_port_name": match[0].get("name", ""),
                               "__meta_kubernetes_pod_container_port_number": str(number)})
                break
        groups.append({"targets": [f"127.0.0.1:{local_ports.get(number, closed_port)}"], "labels": labels})
    return groups
