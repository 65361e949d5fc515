"""Double of traefik's Kubernetes Ingress provider writing Ingress status (traefik v3.7, the chart's appVersion
v3.7.11; read at traefik/traefik v3.7.9, pkg/provider/kubernetes/ingress/kubernetes.go), driven by the container
args the traefik chart really renders from the platform role's values.

What it replays:
- which Ingresses the provider handles (`loadConfigurationFromIngresses` -> `shouldProcessIngress`): one whose
  spec.ingressClassName names an IngressClass of controller traefik.io/ingress-controller (filtered by
  --providers.kubernetesingress.ingressclass when set), or, without a class name, the kubernetes.io/ingress.class
  annotation equal to that flag (or "traefik" when it is unset);
- `updateIngressStatus`: nothing without an ingressEndpoint; with ingressEndpoint.ip/hostname and no
  publishedService, status.loadBalancer.ingress = [{ip, hostname}]; with publishedService NAMESPACE/NAME, the
  Service's status copied: a LoadBalancer's status.loadBalancer.ingress (nothing while it has none), a ClusterIP's
  spec.externalIPs with its ports (none: an empty status), an ExternalName's hostname; a missing Service or a
  malformed value is an error (logged by traefik, returned by `errors` here) and no status is written;
- client.go `UpdateIngressStatus`: no write when the status is already equal.
The chart turns `providers.kubernetesIngress.publishedService.enabled` into
--providers.kubernetesingress.ingressendpoint.publishedservice=NAMESPACE/FULLNAME and `ingressEndpoint.*` into
--providers.kubernetesingress.ingressendpoint.* (templates/_podtemplate.tpl); this double reads only those args.
"""
import copy

INGRESS_CONTROLLER = "traefik.io/ingress-controller"
PREFIX = "--providers.kubernetesingress."


class TraefikIngressStatusDouble:
    def __init__(self, args, ingress_classes):
        """args: the traefik container's args as rendered; ingress_classes: the IngressClass objects in the cluster."""
        self.enabled = any(a == PREFIX.rstrip(".") or a.startswith(PREFIX) for a in args)
        options = {}
        for arg in args:
            if arg.startswith(PREFIX):
                name, _, value = arg[len(PREFIX):].partition("=")
                options[name.lower()] = value
        self.ingress_class = options.get("ingressclass", "")
        self.endpoint = {key.split(".", 1)[1]: value for key, value in options.items()
                         if key.startswith("ingressendpoint.")}
        classes = [c for c in ingress_classes if (c.get("spec") or {}).get("controller") == INGRESS_CONTROLLER]
        if self.ingress_class:
            classes = [c for c in classes if c["metadata"]["name"] == self.ingress_class]
        self.class_names = {c["metadata"]["name"] for c in classes}
        self.errors = []

    def handles(self, ingress):
        """kubernetes.go shouldProcessIngress."""
        class_name = (ingress.get("spec") or {}).get("ingressClassName")
        if class_name is not None:
            return class_name in self.class_names
        annotation = ((ingress.get("metadata") or {}).get("annotations") or {}).get("kubernetes.io/ingress.class")
        return annotation == self.ingress_class or (not self.ingress_class and annotation == "traefik")

    def status_for(self, api, ingress):
        """kubernetes.go updateIngressStatus: the status to write, or None for no write."""
        if not self.endpoint:
            return None
        published = self.endpoint.get("publishedservice", "")
        if not published:
            ip, hostname = self.endpoint.get("ip", ""), self.endpoint.get("hostname", "")
            if not ip and not hostname:
                raise ValueError("publishedService or ip or hostname must be defined")
            return [{k: v for k, v in (("ip", ip), ("hostname", hostname)) if v}]
        parts = published.split("/")
        if len(parts) != 2:
            raise ValueError("invalid publishedService format (expected 'namespace/service' format): " + published)
        service = api.get("services", parts[1], parts[0])
        if service is None:
            raise ValueError("missing service: " + published)
        kind = (service.get("spec") or {}).get("type", "ClusterIP")
        if kind == "LoadBalancer":
            ingress_status = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress")
            return copy.deepcopy(ingress_status) if ingress_status is not None else None
        if kind == "ClusterIP":
            ports = [{"port": p["port"], "protocol": p.get("protocol", "TCP")} for p in service["spec"].get("ports", [])]
            return [{"ip": ip, "ports": ports} for ip in service["spec"].get("externalIPs") or []]
        if kind == "ExternalName":
            return [{"hostname": service["spec"]["externalName"]}]
        if kind == "NodePort":
            raise ValueError("the double has no Nodes: NodePort publishedService is not replayed")
        raise ValueError("unsupported service type: " + kind)

    def __call__(self, api):
        """One pass of the provider over the Ingresses in the API double (called under the double's lock)."""
        if not self.enabled:
            return
        for obj in list(api.objects.values()):
            if obj.get("kind") != "Ingress" or not self.handles(obj):
                continue
            try:
                wanted = self.status_for(api, obj)
            except ValueError as error:
                self.errors.append("%s/%s: %s" % (obj["metadata"].get("namespace"), obj["metadata"]["name"], error))
                continue
            if wanted is None:
                continue
            current = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if current != wanted:
                obj["status"] = {"loadBalancer": {"ingress": wanted}}


def rendered_traefik(documents):
    """(container args of the traefik Deployment, IngressClass objects) from `helm template` output."""
    args, classes = None, []
    for doc in documents:
        if not doc:
            continue
        if doc.get("kind") == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["name"] == "traefik":
                    args = container.get("args") or []
        elif doc.get("kind") == "IngressClass":
            classes.append(doc)
    if args is None:
        raise ValueError("the render has no traefik Deployment")
    return args, classes
