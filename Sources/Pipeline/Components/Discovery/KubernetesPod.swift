/// The fields of a Kubernetes `Pod` (core/v1) that pod discovery turns into `__meta_kubernetes_pod_*` labels, as
/// the API server's `/api/v1/pods` and the kubelet's `/pods` return them. Unknown fields are ignored; every field
/// may be missing.
struct KubernetesPod: Decodable, Sendable, Equatable {
    struct Metadata: Decodable, Sendable, Equatable {
        var name: String?
        var namespace: String?
        var uid: String?
        var resourceVersion: String?
        var labels: [String: String]?
        var annotations: [String: String]?
        var ownerReferences: [OwnerReference]?
    }

    struct OwnerReference: Decodable, Sendable, Equatable {
        var kind: String?
        var name: String?
        var controller: Bool?
    }

    struct Spec: Decodable, Sendable, Equatable {
        var nodeName: String?
        var hostNetwork: Bool?
        var containers: [Container]?
        var initContainers: [Container]?
    }

    struct Container: Decodable, Sendable, Equatable {
        var name: String?
        var image: String?
        var ports: [Port]?
    }

    struct Port: Decodable, Sendable, Equatable {
        var name: String?
        var containerPort: Int?
        var `protocol`: String?
    }

    struct Status: Decodable, Sendable, Equatable {
        var phase: String?
        var podIP: String?
        var hostIP: String?
        var startTime: String?
        var conditions: [Condition]?
        var containerStatuses: [ContainerStatus]?
        var initContainerStatuses: [ContainerStatus]?
    }

    struct Condition: Decodable, Sendable, Equatable {
        var type: String?
        var status: String?
    }

    struct ContainerStatus: Decodable, Sendable, Equatable {
        var name: String?
        var containerID: String?
    }

    var metadata: Metadata?
    var spec: Spec?
    var status: Status?
}

/// A `PodList`: `items` and the list's `resourceVersion` to watch from.
struct KubernetesPodList: Decodable, Sendable {
    struct ListMeta: Decodable, Sendable {
        var resourceVersion: String?
    }

    var metadata: ListMeta?
    var items: [KubernetesPod]?
}

/// One line of a watch stream: `{"type":"ADDED","object":{...}}`; `ERROR` carries a `Status` (410 Gone when the
/// resource version is too old).
struct KubernetesWatchEvent: Decodable, Sendable {
    struct ErrorStatus: Decodable, Sendable {
        var code: Int?
        var message: String?
    }

    var type: String
    var object: KubernetesPod?

    enum CodingKeys: String, CodingKey { case type, object }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decode(String.self, forKey: .type)
        object = type == "ERROR" ? nil : try container.decodeIfPresent(KubernetesPod.self, forKey: .object)
        errorStatus = type == "ERROR" ? try container.decodeIfPresent(ErrorStatus.self, forKey: .object) : nil
    }

    var errorStatus: ErrorStatus?
}

extension KubernetesPod {
    /// Prometheus' pod role targets: one per declared port of each container (init containers included), one
    /// per container without ports (address: the pod IP), each with the pod's labels and the container's.
    var targets: [Target] {
        guard let podIP = status?.podIP, !podIP.isEmpty else { return [] }
        var pod: [String: String] = [:]
        let namespace = metadata?.namespace ?? ""
        pod["__meta_kubernetes_namespace"] = namespace
        pod["__meta_kubernetes_pod_name"] = metadata?.name ?? ""
        pod["__meta_kubernetes_pod_ip"] = podIP
        pod["__meta_kubernetes_pod_ready"] = readiness
        pod["__meta_kubernetes_pod_phase"] = status?.phase ?? ""
        pod["__meta_kubernetes_pod_node_name"] = spec?.nodeName ?? ""
        pod["__meta_kubernetes_pod_host_ip"] = status?.hostIP ?? ""
        pod["__meta_kubernetes_pod_uid"] = metadata?.uid ?? ""
        for (name, value) in metadata?.labels ?? [:] {
            let safe = Self.sanitize(name)
            pod["__meta_kubernetes_pod_label_" + safe] = value
            pod["__meta_kubernetes_pod_labelpresent_" + safe] = "true"
        }
        for (name, value) in metadata?.annotations ?? [:] {
            let safe = Self.sanitize(name)
            pod["__meta_kubernetes_pod_annotation_" + safe] = value
            pod["__meta_kubernetes_pod_annotationpresent_" + safe] = "true"
        }
        if let controller = metadata?.ownerReferences?.first(where: { $0.controller == true }) {
            pod["__meta_kubernetes_pod_controller_kind"] = controller.kind ?? ""
            pod["__meta_kubernetes_pod_controller_name"] = controller.name ?? ""
        }

        var targets: [Target] = []
        let groups: [([Container], [ContainerStatus], String)] = [
            (spec?.containers ?? [], status?.containerStatuses ?? [], "false"),
            (spec?.initContainers ?? [], status?.initContainerStatuses ?? [], "true"),
        ]
        for (containers, statuses, isInit) in groups {
            for container in containers {
                var labels = pod
                let name = container.name ?? ""
                labels["__meta_kubernetes_pod_container_name"] = name
                labels["__meta_kubernetes_pod_container_image"] = container.image ?? ""
                labels["__meta_kubernetes_pod_container_id"] = statuses.first { $0.name == name }?.containerID ?? ""
                labels["__meta_kubernetes_pod_container_init"] = isInit
                let ports = container.ports ?? []
                if ports.isEmpty {
                    labels["__address__"] = podIP
                    targets.append(Target(labels))
                    continue
                }
                for port in ports {
                    var portLabels = labels
                    let number = port.containerPort.map(String.init) ?? ""
                    portLabels["__address__"] = Self.joinHostPort(podIP, number)
                    portLabels["__meta_kubernetes_pod_container_port_name"] = port.name ?? ""
                    portLabels["__meta_kubernetes_pod_container_port_number"] = number
                    portLabels["__meta_kubernetes_pod_container_port_protocol"] = port.protocol ?? "TCP"
                    targets.append(Target(portLabels))
                }
            }
        }
        return targets
    }

    /// `true`, `false` or `unknown` from the `Ready` condition, as Prometheus reports it.
    private var readiness: String {
        guard let ready = status?.conditions?.first(where: { $0.type == "Ready" }) else { return "unknown" }
        return (ready.status ?? "unknown").lowercased()
    }

    /// Prometheus' `strutil.SanitizeLabelName`: every character outside `[a-zA-Z0-9_]` becomes `_`.
    static func sanitize(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_") ? scalar : "_"
        }))
    }

    /// Go's `net.JoinHostPort`: IPv6 addresses in brackets.
    static func joinHostPort(_ host: String, _ port: String) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    var key: String { (metadata?.namespace ?? "") + "/" + (metadata?.name ?? "") }
}
