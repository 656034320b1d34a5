import AsyncHTTPClient
import Synchronization
import Cluster
import Foundation
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import Wire

/// The `--cluster.*` flags of `estuary run`, as Alloy spells and defaults them.
public struct AgentClusterOptions: Sendable, Equatable {
    public var enabled = false
    /// Defaults to the host name.
    public var nodeName: String?
    /// host or host:port; defaults to the listen address (or, when that is 0.0.0.0, the first IPv4 address of
    /// eth0 or en0) and the HTTP server's port.
    public var advertiseAddress: String?
    public var joinAddresses: [String] = []
    public var rejoinInterval: Duration = .seconds(60)
    public var maxJoinPeers = 5
    public var name = ""
    public var waitForSize = 0
    public var waitTimeout: Duration = .zero

    public init() {}
}

/// The agent's place in its cluster: runs the gossip node (when `--cluster.enabled`), serves its HTTP side, and
/// reports `cluster_*` metrics. Without clustering it is a one-member cluster of this agent.
///
/// Listed last among the agent's services so that graceful shutdown reaches it first: it tells the others it is
/// terminating while the HTTP server still answers, then the components stop.
public final class AgentCluster: Service, Sendable {
    public let membership: ClusterMembership
    let node: ClusterNode?
    let options: AgentClusterOptions
    private let nodeName: String
    private let advertiseHost: String
    private let advertisePort: Int?
    private let serverPort: AsyncStream<Int>
    private let serverPortContinuation: AsyncStream<Int>.Continuation
    private let logger: Logger

    /// Checks the flags (a problem names the flag) and prepares the node; `listenHost`/`listenPort` are those of
    /// `--server.http.listen-addr`.
    public init(options: AgentClusterOptions, listenHost: String, listenPort: Int, metrics: PrometheusCollectorRegistry,
                httpClient: HTTPClient = .shared, logger: Logger) throws(AgentConfigError) {
        self.options = options
        self.logger = logger
        nodeName = options.nodeName ?? Self.hostName()
        guard !nodeName.isEmpty else { throw AgentConfigError(message: "--cluster.node-name: must not be empty") }
        (serverPort, serverPortContinuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        if let advertise = options.advertiseAddress {
            guard let (host, port) = HostPort.optionalPort(advertise), !host.isEmpty else {
                throw AgentConfigError(message: "--cluster.advertise-address \(advertise): expected host or host:port")
            }
            advertiseHost = host
            advertisePort = port
        } else if options.enabled {
            guard let host = listenHost == "0.0.0.0" || listenHost == "::" ? Self.interfaceAddress() : listenHost else {
                throw AgentConfigError(message: "--cluster.advertise-address: not set, and no IPv4 address on eth0 or en0 to infer it from; set it to this node's reachable host:port")
            }
            advertiseHost = host
            advertisePort = nil
        } else {
            advertiseHost = listenHost
            advertisePort = nil
        }
        guard options.maxJoinPeers >= 0 else { throw AgentConfigError(message: "--cluster.max-join-peers: must not be negative") }
        guard options.waitForSize >= 0 else { throw AgentConfigError(message: "--cluster.wait-for-size: must not be negative") }
        let joinResolver = DNSJoinResolver(defaultPort: listenPort, resolver: .system(), logger: logger)
        do {
            try joinResolver.validate(options.joinAddresses)
        } catch {
            throw AgentConfigError(message: "--cluster.join-addresses: \(error)")
        }
        let initialAddress = HostPort(host: advertiseHost, port: advertisePort ?? listenPort).description
        guard options.enabled else {
            membership = ClusterMembership(standaloneName: nodeName, address: initialAddress)
            node = nil
            return
        }
        var configuration = ClusterConfiguration(nodeName: nodeName, advertiseAddress: initialAddress)
        configuration.clusterName = options.name
        configuration.joinAddresses = options.joinAddresses
        configuration.rejoinInterval = options.rejoinInterval
        configuration.maxJoinPeers = options.maxJoinPeers
        configuration.waitForSize = options.waitForSize
        configuration.waitTimeout = options.waitTimeout
        let incarnation = UInt64(max(0, Date().timeIntervalSince1970 * 1e9))
        let node = ClusterNode(
            configuration: configuration, incarnation: incarnation,
            transport: HTTPGossipTransport(client: httpClient),
            resolver: joinResolver,
            events: ClusterMetrics(registry: metrics, nodeName: nodeName), logger: logger)
        self.node = node
        membership = node.membership
    }

    /// Called when the HTTP server listens, with its port: the node advertises it (unless the advertise address
    /// names one) and starts gossiping.
    public func serverStarted(port: Int) {
        serverPortContinuation.yield(port)
    }

    public func run() async throws {
        guard let node else {
            try? await gracefulShutdown()
            return
        }
        var ports = serverPort.makeAsyncIterator()
        guard let port = await ports.next() else { return }
        await node.advertise(HostPort(host: advertiseHost, port: advertisePort ?? port).description)
        let gossip = Task { await node.run() }
        try? await gracefulShutdown()
        await node.leave()
        gossip.cancel()
        await gossip.value
        await node.finish()
    }

    /// Answers `POST /api/v0/cluster/gossip`.
    func handleGossip(_ body: [UInt8]) async -> (status: Int, body: [UInt8]) {
        guard let node else {
            return (404, Array("clustering is not enabled on this node (--cluster.enabled=false)\n".utf8))
        }
        do {
            return (200, try await node.handle(body))
        } catch {
            switch error {
            case .malformed: return (400, Array("\(error)\n".utf8))
            case .otherCluster: return (403, Array("\(error)\n".utf8))
            }
        }
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The first IPv4 address of eth0 or en0, as Alloy's default `--cluster.advertise-interfaces`.
    static func interfaceAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        for wanted in ["eth0", "en0"] {
            var cursor: UnsafeMutablePointer<ifaddrs>? = first
            while let entry = cursor {
                defer { cursor = entry.pointee.ifa_next }
                guard String(cString: entry.pointee.ifa_name) == wanted, let address = entry.pointee.ifa_addr,
                      address.pointee.sa_family == sa_family_t(AF_INET)
                else { continue }
                var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                if getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count),
                               nil, 0, NI_NUMERICHOST) == 0 {
                    return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
            }
        }
        return nil
    }
}

/// Gossip over the agent's HTTP port: `POST /api/v0/cluster/gossip` with the message, answered by the peer's view.
struct HTTPGossipTransport: GossipTransport {
    static let path = "/api/v0/cluster/gossip"
    static let contentType = "application/x.estuary-gossip"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let client: HTTPClient

    func exchange(_ message: [UInt8], with address: String, timeout: Duration) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: "http://\(address)\(Self.path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: Self.contentType)
        request.body = .bytes(ByteBuffer(bytes: message))
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let response = try await client.execute(request, timeout: .nanoseconds(nanoseconds))
        let body = try await response.body.collect(upTo: GossipMessage.maxEncodedSize)
        guard response.status.code == 200 else {
            throw Failure(description: "HTTP \(response.status.code): \(String(buffer: body).prefix(200))")
        }
        return Array(buffer: body)
    }
}

extension HostPort {
    /// `host`, `host:port`, `[v6]` or `[v6]:port`; nil for anything else (a bad port).
    static func optionalPort(_ text: String) -> (host: String, port: Int?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.first == ":", let port = Int(rest.dropFirst()), (0...65_535).contains(port) else { return nil }
            return (host, port)
        }
        switch text.filter({ $0 == ":" }).count {
        case 0: return (text, nil)
        case 1:
            guard let parsed = HostPort(text) else { return nil }
            return (parsed.host, parsed.port)
        default: return (text, nil)   // a bare IPv6 address
        }
    }
}

/// The `cluster_*` metrics, with ckit's names.
final class ClusterMetrics: ClusterEventSink, Sendable {
    private let registry: PrometheusCollectorRegistry
    private let peers: [GossipMember.State: Gauge]
    private let lamport: Gauge
    private let observers: Gauge
    private let alivePeers: Gauge
    private let txBytes, rxBytes, txPackets, rxPackets, txFailed: Counter
    private let info: Mutex<(state: GossipMember.State, gauge: Gauge)?>
    private let nodeName: String

    init(registry: PrometheusCollectorRegistry, nodeName: String) {
        self.registry = registry
        self.nodeName = nodeName
        var peers: [GossipMember.State: Gauge] = [:]
        for state in GossipMember.State.allCases {
            peers[state] = registry.makeGauge(name: "cluster_node_peers", labels: [("state", state.name)],
                                              help: "Current number of healthy peers by state")
        }
        self.peers = peers
        lamport = registry.makeGauge(name: "cluster_node_lamport_time", help: "The node's lamport time")
        observers = registry.makeGauge(name: "cluster_node_update_observers",
                                       help: "Number of internal observers waiting for changes to cluster state.")
        alivePeers = registry.makeGauge(name: "cluster_node_gossip_alive_peers",
                                        help: "How many alive gossip peers a node has, including the local node.")
        txBytes = registry.makeCounter(name: "cluster_transport_tx_bytes_total",
                                       help: "Total number of gossip transport bytes written (failed or otherwise)")
        rxBytes = registry.makeCounter(name: "cluster_transport_rx_bytes_total", help: "Total number of gossip transport bytes read")
        txPackets = registry.makeCounter(name: "cluster_transport_tx_packets_total",
                                         help: "Total number of gossip transport packets written (failed or otherwise)")
        rxPackets = registry.makeCounter(name: "cluster_transport_rx_packets_total", help: "Total number of gossip transport packets read")
        txFailed = registry.makeCounter(name: "cluster_transport_tx_packets_failed_total",
                                        help: "Total number of failed gossip transport packets")
        info = Mutex(nil)
    }

    func sent(bytes: Int, failed: Bool) {
        txPackets.increment()
        txBytes.increment(by: Int64(bytes))
        if failed { txFailed.increment() }
    }

    func received(bytes: Int) {
        rxPackets.increment()
        rxBytes.increment(by: Int64(bytes))
    }

    func event(_ name: String, count: Int) {
        registry.makeCounter(name: "cluster_node_gossip_received_events_total", labels: [("event", name)],
                             help: "Total number of gossip messages handled by the node.").increment(by: Int64(count))
    }

    func changed(_ snapshot: ClusterMembership.Snapshot, localState: GossipMember.State, lamportTime: UInt64,
                 observers: Int) {
        self.observers.set(Int64(observers))
        for (state, gauge) in peers {
            gauge.set(Int64(snapshot.peers.count { $0.state == state }))
        }
        alivePeers.set(Int64(snapshot.peers.count))
        lamport.set(Int64(clamping: lamportTime))
        // `cluster_node_info{state}` is 1 for the current state only, as ckit's info collector.
        info.withLock { current in
            guard current?.state != localState else { return }
            if let old = current { registry.unregisterGauge(old.gauge) }
            let gauge = registry.makeGauge(name: "cluster_node_info", labels: [("state", localState.name)],
                                           help: "Info about the local node. Label values will change as the node changes state.")
            gauge.set(Int64(1))
            current = (localState, gauge)
        }
    }
}
