import AlloyLanguage
import AsyncHTTPClient
import Logging
import Synchronization
import Wire

/// `otelcol.processor.k8sattributes`: finds the pod each resource comes from and adds its Kubernetes metadata as
/// resource attributes, as the collector's processor does: `k8s.namespace.name`, `k8s.pod.name`, `k8s.pod.uid`,
/// `k8s.pod.start_time`, `k8s.deployment.name`, `k8s.node.name` by default, chosen pod labels and annotations, and
/// the other `metadata` keys below. The pods come from the API server through the list-and-watch that
/// `discovery.kubernetes` uses (``KubernetesPodWatch``), kept in an index by pod IP and UID that holds only the
/// pods being watched (the filter's node and namespace bound it, as in the collector).
///
/// A resource is associated with a pod by the `pod_association` rules, in order, the first whose every source
/// has a value and names a known pod winning; without rules, by its `k8s.pod.ip` resource attribute, then its
/// `k8s.pod.uid`, then the address of the connection it came over. With `passthrough`, the processor watches
/// nothing and only adds `k8s.pod.ip` from the connection, for a gateway behind it to match on. Attributes the resource already has are kept, never overwritten. Resources of no known pod
/// pass unchanged.
public final class OTelColProcessorK8sAttributes: Component, OTLPLogsConsumer {
    public static let name = "otelcol.processor.k8sattributes"

    /// The `metadata` keys this processor can fill from a pod object.
    static let supportedMetadata: Set<String> = [
        "k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.ip", "k8s.pod.start_time",
        "k8s.deployment.name", "k8s.replicaset.name", "k8s.statefulset.name", "k8s.daemonset.name",
        "k8s.job.name", "k8s.cronjob.name", "k8s.node.name", "container.image.name", "container.image.tag",
        "container.id",
    ]
    static let defaultMetadata = ["k8s.namespace.name", "k8s.pod.name", "k8s.pod.uid", "k8s.pod.start_time",
                                  "k8s.deployment.name", "k8s.node.name"]

    /// A pod label or annotation to copy: the one named `key`, or every one matching `keyRegex` (whose groups
    /// `tagName` may refer to as `$1`).
    struct FieldRule: Sendable, Equatable {
        var tagName: String
        var key: String?
        var keyRegex: String?

        static func == (a: FieldRule, b: FieldRule) -> Bool {
            (a.tagName, a.key, a.keyRegex) == (b.tagName, b.key, b.keyRegex)
        }
    }

    /// One `pod_association` rule: its sources, each a resource attribute or (nil) the connection's address.
    struct Association: Sendable, Equatable {
        var attributes: [String?]
    }

    public struct Arguments: ComponentArguments {
        var client: KubernetesClientConfig
        var metadata: [String]
        var labels: [FieldRule]
        var annotations: [FieldRule]
        var associations: [Association]
        var node: String
        var namespace: String
        var excludedPods: [String]
        var waitForMetadata: Bool
        var waitForMetadataTimeout: Duration
        /// Only adds `k8s.pod.ip` from the connection, watching nothing (an agent in front of a gateway).
        var passthrough: Bool
        public var output: OTLPLogsConsumers

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            let authType = try reader.string("auth_type", default: "serviceAccount")
            switch authType {
            case "serviceAccount", "none": break
            default:
                throw reader.error("auth_type", "auth_type: \(GoQuote.quote(authType)) is not supported; use \"serviceAccount\" (in a pod) or \"none\" with a client block")
            }
            passthrough = try reader.bool("passthrough", default: false)
            // Estuary's own `client` block (as discovery.kubernetes'), for an API server outside the pod; with
            // passthrough nothing is asked of the API server.
            let clientBlock = try reader.block("client")
            if passthrough && clientBlock == nil {
                client = try KubernetesClientConfig(nil, baseURL: "")
            } else {
                client = try KubernetesClientConfig.read(clientBlock, component: reader)
            }
            var metadata = Self.defaultMetadataList
            var labels: [FieldRule] = []
            var annotations: [FieldRule] = []
            if let extract = try reader.block("extract") {
                metadata = try extract.stringList("metadata", default: metadata)
                for key in metadata where !OTelColProcessorK8sAttributes.supportedMetadata.contains(key) {
                    throw extract.error("metadata", "extract.metadata: \(GoQuote.quote(key)) is not supported; supported: \(OTelColProcessorK8sAttributes.supportedMetadata.sorted().joined(separator: ", "))")
                }
                labels = try Self.fieldRules(extract.blocks("label"), kind: "labels")
                annotations = try Self.fieldRules(extract.blocks("annotation"), kind: "annotations")
                if try extract.bool("otel_annotations", default: false) {
                    throw extract.error("otel_annotations", "extract.otel_annotations is not supported yet")
                }
            }
            self.metadata = metadata
            self.labels = labels
            self.annotations = annotations
            var associations: [Association] = []
            for rule in reader.blocks("pod_association") {
                var attributes: [String?] = []
                for source in rule.blocks("source") {
                    let from = try source.requiredString("from")
                    switch from {
                    case "resource_attribute": attributes.append(try source.requiredString("name"))
                    case "connection": attributes.append(nil)
                    default:
                        throw source.error("from", "pod_association.source.from: \(GoQuote.quote(from)) must be \"resource_attribute\" or \"connection\"")
                    }
                }
                if attributes.isEmpty { throw rule.blockError("pod_association: needs at least one source block") }
                associations.append(Association(attributes: attributes))
            }
            self.associations = associations.isEmpty
                ? [Association(attributes: ["k8s.pod.ip"]), Association(attributes: ["k8s.pod.uid"]),
                   Association(attributes: [nil])]
                : associations
            node = ""
            namespace = ""
            if let filter = try reader.block("filter") {
                node = try filter.string("node", default: "")
                namespace = try filter.string("namespace", default: "")
                for unsupported in ["field", "label"] where !filter.blocks(unsupported).isEmpty {
                    throw filter.blockError("filter.\(unsupported) blocks are not supported yet; use filter.node and filter.namespace")
                }
            }
            var excluded = ["jaeger-agent", "jaeger-collector"]
            if let exclude = try reader.block("exclude") {
                excluded = []
                for pod in exclude.blocks("pod") {
                    let name = try pod.requiredString("name")
                    do throws(RE2Error) { _ = try RE2Regex("^(?:" + name + ")$", dotMatchesNewline: false) } catch {
                        throw pod.error("name", "exclude.pod.name: \(error)")
                    }
                    excluded.append(name)
                }
            }
            excludedPods = excluded
            waitForMetadata = try reader.bool("wait_for_metadata", default: false)
            waitForMetadataTimeout = try reader.duration("wait_for_metadata_timeout", default: .seconds(10))
            output = try reader.otelcolOutput()
        }

        static let defaultMetadataList = OTelColProcessorK8sAttributes.defaultMetadata

        static func fieldRules(_ blocks: [ArgumentReader], kind: String) throws(Diagnostic) -> [FieldRule] {
            var rules: [FieldRule] = []
            for block in blocks {
                let from = try block.string("from", default: "pod")
                guard from == "pod" else {
                    throw block.error("from", "extract.\(kind) from = \(GoQuote.quote(from)) is not supported yet; pod \(kind) only")
                }
                let key = try block.string("key")
                let keyRegex = try block.string("key_regex")
                guard (key == nil) != (keyRegex == nil) else {
                    throw block.blockError("extract.\(kind): set exactly one of key and key_regex")
                }
                if let keyRegex {
                    do throws(RE2Error) { _ = try RE2Regex("^(?:" + keyRegex + ")$", dotMatchesNewline: false) } catch {
                        throw block.error("key_regex", "key_regex: \(error)")
                    }
                }
                let prefix = kind == "labels" ? "k8s.pod.labels." : "k8s.pod.annotations."
                let tagName = try block.string("tag_name", default: key.map { prefix + $0 } ?? prefix + "$0")
                rules.append(FieldRule(tagName: tagName, key: key, keyRegex: keyRegex))
            }
            return rules
        }
    }

    /// What is known of one pod, computed once per change of the pod.
    struct PodEntry: Sendable {
        let uid: String
        let ip: String?
        let attributes: [OTLPKeyValue]
        let containerImages: [String: String]
        let containerIDs: [String: String]
    }

    private struct State {
        var arguments: Arguments
        var byIP: [String: PodEntry] = [:]
        var byUID: [String: PodEntry] = [:]
        var synced = false
        var generation = 0
    }

    private let context: ComponentContext
    private let state: Mutex<State>
    private let restart = WakeUp()
    private let synced = WakeUp()

    public var exports: ValueObject { ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))]) }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments))
    }

    public func update(_ arguments: Arguments) throws {
        let restartWatch = state.withLock { state -> Bool in
            let changed = state.arguments.client != arguments.client || state.arguments.node != arguments.node
                || state.arguments.passthrough != arguments.passthrough
                || state.arguments.namespace != arguments.namespace || state.arguments.metadata != arguments.metadata
                || state.arguments.labels != arguments.labels || state.arguments.annotations != arguments.annotations
                || state.arguments.excludedPods != arguments.excludedPods
            state.arguments = arguments
            if changed { state.generation += 1 }
            return changed
        }
        if restartWatch { restart.signal() }
    }

    /// Watches the pods until cancelled; a change of what is watched or extracted starts again.
    public func run() async throws {
        while !Task.isCancelled {
            let (arguments, generation) = state.withLock { ($0.arguments, $0.generation) }
            if arguments.passthrough {
                while !Task.isCancelled && state.withLock({ $0.generation }) == generation {
                    await restart.wait(timeout: .seconds(3600))
                }
                continue
            }
            let client = try arguments.client.makeClient()
            let watch = KubernetesPodWatch(
                client: arguments.client, labelSelector: "",
                fieldSelector: arguments.node.isEmpty ? "" : "spec.nodeName=" + arguments.node,
                what: "k8sattributes pod watch", logger: context.logger)
            let excluded = arguments.excludedPods.compactMap { try? RE2Regex("^(?:" + $0 + ")$", dotMatchesNewline: false) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await watch.run(namespace: arguments.namespace, http: client) { pods in
                        self.index(pods, arguments: arguments, excluded: excluded, generation: generation)
                    }
                }
                group.addTask {
                    while !Task.isCancelled && self.state.withLock({ $0.generation }) == generation {
                        await self.restart.wait(timeout: .seconds(3600))
                    }
                }
                await group.next()
                group.cancelAll()
            }
            try? await client.shutdown()
        }
    }

    private func index(_ pods: [String: KubernetesPod], arguments: Arguments, excluded: [RE2Regex], generation: Int) {
        var byIP: [String: PodEntry] = [:]
        var byUID: [String: PodEntry] = [:]
        for pod in pods.values {
            let name = pod.metadata?.name ?? ""
            if excluded.contains(where: { $0.wholeMatch(name) }) { continue }
            let entry = Self.entry(for: pod, arguments: arguments)
            if !entry.uid.isEmpty { byUID[entry.uid] = entry }
            // Pods on the host's network share the node's IP: they cannot be told apart by it (as the collector).
            if let ip = entry.ip, !ip.isEmpty, pod.spec?.hostNetwork != true { byIP[ip] = entry }
        }
        state.withLock { state in
            guard state.generation == generation else { return }
            state.byIP = byIP
            state.byUID = byUID
            state.synced = true
        }
        synced.signal()
    }

    static func entry(for pod: KubernetesPod, arguments: Arguments) -> PodEntry {
        var attributes: [OTLPKeyValue] = []
        func add(_ key: String, _ value: String?) {
            guard let value, !value.isEmpty, arguments.metadata.contains(key) else { return }
            attributes.append(OTLPKeyValue(key: key, value: .string(value)))
        }
        let metadata = pod.metadata
        add("k8s.namespace.name", metadata?.namespace)
        add("k8s.pod.name", metadata?.name)
        add("k8s.pod.uid", metadata?.uid)
        add("k8s.pod.ip", pod.status?.podIP)
        add("k8s.pod.start_time", pod.status?.startTime)
        add("k8s.node.name", pod.spec?.nodeName)
        for owner in metadata?.ownerReferences ?? [] {
            guard let ownerName = owner.name else { continue }
            switch owner.kind {
            case "ReplicaSet":
                add("k8s.replicaset.name", ownerName)
                add("k8s.deployment.name", deploymentName(ofReplicaSet: ownerName))
            case "StatefulSet": add("k8s.statefulset.name", ownerName)
            case "DaemonSet": add("k8s.daemonset.name", ownerName)
            case "Job":
                add("k8s.job.name", ownerName)
                add("k8s.cronjob.name", cronJobName(ofJob: ownerName))
            default: break
            }
        }
        for (rules, values) in [(arguments.labels, metadata?.labels ?? [:]), (arguments.annotations, metadata?.annotations ?? [:])] {
            for rule in rules {
                if let key = rule.key {
                    if let value = values[key] { attributes.append(OTLPKeyValue(key: rule.tagName, value: .string(value))) }
                } else if let pattern = rule.keyRegex,
                          let regex = try? RE2Regex("^(?:" + pattern + ")$", dotMatchesNewline: false) {
                    for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                        guard let groups = regex.wholeMatchGroups(key) else { continue }
                        var tag = rule.tagName
                        for (index, group) in groups.enumerated().reversed() {
                            tag = tag.replacingOccurrences(of: "$\(index)", with: String(group ?? ""))
                        }
                        attributes.append(OTLPKeyValue(key: tag, value: .string(value)))
                    }
                }
            }
        }
        var images: [String: String] = [:]
        for container in (pod.spec?.containers ?? []) + (pod.spec?.initContainers ?? []) {
            if let name = container.name, let image = container.image { images[name] = image }
        }
        var ids: [String: String] = [:]
        for status in (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? []) {
            if let name = status.name, let id = status.containerID {
                // `containerd://abc…`: the collector keeps the part after the scheme.
                ids[name] = id.range(of: "://").map { String(id[$0.upperBound...]) } ?? id
            }
        }
        return PodEntry(uid: metadata?.uid ?? "", ip: pod.status?.podIP, attributes: attributes,
                        containerImages: images, containerIDs: ids)
    }

    /// A Deployment's ReplicaSet is named `DEPLOYMENT-HASH` (the pod-template hash: digits and consonants).
    static func deploymentName(ofReplicaSet name: String) -> String? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let hash = name[name.index(after: dash)...]
        guard !hash.isEmpty, hash.allSatisfy({ $0.isASCII && ($0.isNumber || $0.isLowercase) }) else { return nil }
        return String(name[..<dash])
    }

    /// A CronJob's Job is named `CRONJOB-MINUTES` (the scheduled time in minutes since the epoch).
    static func cronJobName(ofJob name: String) -> String? {
        guard let dash = name.lastIndex(of: "-") else { return nil }
        let suffix = name[name.index(after: dash)...]
        guard !suffix.isEmpty, suffix.allSatisfy(\.isNumber) else { return nil }
        return String(name[..<dash])
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        var (arguments, synced) = state.withLock { ($0.arguments, $0.synced) }
        let connection = ClientMetadata.current.address
        if arguments.passthrough {
            var logs = logs
            if let connection {
                for index in logs.resourceLogs.indices
                where Self.string(logs.resourceLogs[index].resource.attributes, "k8s.pod.ip") == nil {
                    logs.resourceLogs[index].resource.attributes.append(
                        OTLPKeyValue(key: "k8s.pod.ip", value: .string(connection)))
                }
            }
            try await arguments.output.send(logs)
            return
        }
        if arguments.waitForMetadata && !synced {
            let deadline = ContinuousClock.now + arguments.waitForMetadataTimeout
            while !synced && ContinuousClock.now < deadline {
                await self.synced.wait(timeout: deadline - ContinuousClock.now)
                synced = state.withLock { $0.synced }
            }
            if !synced {
                throw PipelineError.backpressure(
                    retryAfter: .seconds(1), reason: "otelcol.processor.k8sattributes: no pod metadata from the API server within wait_for_metadata_timeout")
            }
        }
        var logs = logs
        let (byIP, byUID) = state.withLock { ($0.byIP, $0.byUID) }
        for index in logs.resourceLogs.indices {
            let attributes = logs.resourceLogs[index].resource.attributes
            guard let pod = Self.associate(attributes, connection: connection, rules: arguments.associations,
                                           byIP: byIP, byUID: byUID)
            else { continue }
            var added = attributes
            var present = Set(attributes.map(\.key))
            for attribute in pod.attributes where present.insert(attribute.key).inserted { added.append(attribute) }
            if let container = Self.string(attributes, "k8s.container.name") {
                if let image = pod.containerImages[container] {
                    let (imageName, tag) = Self.split(image: image)
                    if arguments.metadata.contains("container.image.name"), present.insert("container.image.name").inserted {
                        added.append(OTLPKeyValue(key: "container.image.name", value: .string(imageName)))
                    }
                    if arguments.metadata.contains("container.image.tag"), let tag, present.insert("container.image.tag").inserted {
                        added.append(OTLPKeyValue(key: "container.image.tag", value: .string(tag)))
                    }
                }
                if arguments.metadata.contains("container.id"), let id = pod.containerIDs[container],
                   present.insert("container.id").inserted {
                    added.append(OTLPKeyValue(key: "container.id", value: .string(id)))
                }
            }
            logs.resourceLogs[index].resource.attributes = added
        }
        try await arguments.output.send(logs)
    }

    static func associate(_ attributes: [OTLPKeyValue], connection: String?, rules: [Association],
                          byIP: [String: PodEntry], byUID: [String: PodEntry]) -> PodEntry? {
        for rule in rules {
            var found: PodEntry?
            var complete = true
            for source in rule.attributes {
                guard let name = source else {
                    // The connection's address, an IP.
                    guard let connection, let pod = byIP[connection], found == nil || found?.uid == pod.uid else {
                        complete = false
                        break
                    }
                    found = pod
                    continue
                }
                guard let value = string(attributes, name) else { complete = false; break }
                // An IP-valued attribute finds the pod by IP, a UID-valued one by UID (the collector's
                // `k8s.pod.ip` / `k8s.pod.uid` identifiers; other names are looked up as either).
                let pod = name == "k8s.pod.uid" ? byUID[value] : name == "k8s.pod.ip" ? byIP[value] : byIP[value] ?? byUID[value]
                guard let pod, found == nil || found?.uid == pod.uid else { complete = false; break }
                found = pod
            }
            if complete, let found { return found }
        }
        return nil
    }

    static func string(_ attributes: [OTLPKeyValue], _ key: String) -> String? {
        for attribute in attributes where attribute.key == key {
            if case .string(let value) = attribute.value, !value.isEmpty { return value }
        }
        return nil
    }

    /// `registry/name:tag@digest` → (`registry/name`, `tag`), as the collector's docker reference parsing.
    static func split(image: String) -> (String, String?) {
        var reference = image
        if let at = reference.firstIndex(of: "@") { reference = String(reference[..<at]) }
        let lastSlash = reference.lastIndex(of: "/") ?? reference.startIndex
        if let colon = reference[lastSlash...].lastIndex(of: ":") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, image.contains("@") ? nil : "latest")
    }
}
