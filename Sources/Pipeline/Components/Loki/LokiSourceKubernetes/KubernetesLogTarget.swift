import Cluster
import Wire

/// One container whose log `loki.source.kubernetes` tails, prepared from a discovery target as Alloy's
/// `kubetail.PrepareLabels` and `NewTarget` do:
///
/// - the pod is named by `__pod_namespace__`, `__pod_name__`, `__pod_container_name__` and `__pod_uid__`, or when
///   one is absent or empty by `__meta_kubernetes_namespace`, `__meta_kubernetes_pod_name`,
///   `__meta_kubernetes_pod_container_name` and `__meta_kubernetes_pod_uid`; a target without all four is refused;
/// - `job` defaults to the component's id (`loki.source.kubernetes.LABEL`) and `instance` to
///   `NAMESPACE/POD:CONTAINER`;
/// - the entries' labels are the target's labels without those starting with `__`, plus those defaults.
struct KubernetesLogTarget: Sendable, Hashable, CustomStringConvertible {
    let namespace: String
    let pod: String
    let container: String
    let uid: String
    /// The labels every entry of this container gets.
    let labels: LabelSet
    /// The target as discovery gave it (before the defaults).
    let discoveryLabels: Target

    /// Why a discovery target names no container to tail.
    struct Refusal: Error, CustomStringConvertible {
        let description: String
    }

    init(_ target: Target, defaultJob: String) throws(Refusal) {
        func first(_ names: String...) -> String {
            for name in names { if let value = target[name], !value.isEmpty { return value } }
            return ""
        }
        namespace = first("__pod_namespace__", "__meta_kubernetes_namespace")
        pod = first("__pod_name__", "__meta_kubernetes_pod_name")
        container = first("__pod_container_name__", "__meta_kubernetes_pod_container_name")
        uid = first("__pod_uid__", "__meta_kubernetes_pod_uid")
        for (value, what) in [(namespace, "namespace"), (pod, "name"), (container, "container name"), (uid, "UID")]
        where value.isEmpty {
            throw Refusal(description: "missing pod \(what) label")
        }
        var public_ = target.publicLabels
        if target["job"] == nil { public_.append(LabelPair(name: "job", value: defaultJob)) }
        if target["instance"] == nil {
            public_.append(LabelPair(name: "instance", value: "\(namespace)/\(pod):\(container)"))
        }
        labels = LabelSet(public_)
        discoveryLabels = target
    }

    /// The labels Alloy's `kubetail.ClusteringLabels` names: the ones that identify the container, and nothing
    /// else, so that relabeling other labels does not move a container between cluster members.
    static let clusteringLabels: Set<String> = [
        "__pod_namespace__", "__pod_name__", "__pod_container_name__", "__pod_uid__",
        "__meta_kubernetes_namespace", "__meta_kubernetes_pod_name", "__meta_kubernetes_pod_container_name",
        "__meta_kubernetes_pod_uid", "container", "pod", "job", "namespace",
    ]

    /// Where the container sits on the agent cluster's ring.
    var clusterKey: UInt64 {
        ClusterHash.key(labels: discoveryLabels.pairs.filter { Self.clusteringLabels.contains($0.name) }
            .map { (name: $0.name, value: $0.value) })
    }

    /// `NAMESPACE/POD:CONTAINER`, how logs name the target.
    var description: String { "\(namespace)/\(pod):\(container)" }

    /// Alloy's positions entry for the target: a cursor keyed by the container and the pod's UID (so a new pod
    /// of the same name starts afresh) and by the labels. It also tells two targets apart: the same key is the
    /// same tail.
    var positionsKey: PositionsFile.Key {
        PositionsFile.Key(path: "cursor-\(description):\(uid)", labels: labels.description)
    }
}
