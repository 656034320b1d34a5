import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Everything a backend process needs to run, resolved from the configuration.
public struct BackendSettings: Sendable {
    public var host: String
    public var port: Int
    public var authEnabled: Bool
    public var maxRequestBytes: Int
    public var limits: Limits
    public var ingester: IngesterSettings
    /// Root directory of the filesystem object store (empty with S3).
    public var storageDirectory: String
    /// The S3 object store, when the schema's periods name `s3` or `aws`; chunks and index then live there.
    public var s3: S3ObjectStore.Settings?
    /// The local read cache in front of S3.
    public var diskCache: DiskCache?
    /// `schema_config` index prefix (`index_`).
    public var indexPrefix: String
    public var configYAML: String
    /// The runtime configuration files with per-tenant overrides (`runtime_config`), if any.
    public var runtimeConfig: RuntimeOverrides.Settings?
    /// `compactor`: index compaction and retention.
    public var compactor: CompactorSettings
    /// `querier`, `frontend`, `query_range`: query scheduling, splitting and caching.
    public var frontend = QueryFrontend.Settings()

    public init(
        host: String, port: Int, authEnabled: Bool, maxRequestBytes: Int, limits: Limits,
        ingester: IngesterSettings, storageDirectory: String, s3: S3ObjectStore.Settings? = nil,
        diskCache: DiskCache? = nil, indexPrefix: String, configYAML: String,
        runtimeConfig: RuntimeOverrides.Settings? = nil, compactor: CompactorSettings = CompactorSettings()
    ) {
        self.diskCache = diskCache
        self.compactor = compactor
        self.host = host
        self.port = port
        self.authEnabled = authEnabled
        self.maxRequestBytes = maxRequestBytes
        self.limits = limits
        self.ingester = ingester
        self.storageDirectory = storageDirectory
        self.s3 = s3
        self.indexPrefix = indexPrefix
        self.configYAML = configYAML
        self.runtimeConfig = runtimeConfig
    }

    public struct DiskCache: Sendable, Equatable {
        public var directory: String
        public var maxBytes: Int

        public init(directory: String, maxBytes: Int) {
            self.directory = directory
            self.maxBytes = maxBytes
        }
    }
}

/// Builds the backend's modules (`-target=all`: distributor, ingester, querier and the HTTP API in one
/// process) and returns them as services for one `ServiceGroup`; with a runtime configuration, also the loop
/// that re-reads it.
///
/// Service order matters for a clean stop: the group shuts services down in reverse order, so the HTTP server
/// stops taking requests first and the ingester then flushes everything it holds.
public enum BackendModules {
    /// `onReady` is called once the server listens and the ingester has replayed its WAL, with the address.
    public static func services(
        _ settings: BackendSettings, logger: Logger, onReady: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) throws -> [any Service] {
        let metrics = BackendMetrics()
        let objects: any ObjectStore = if let s3 = settings.s3 {
            if let cache = settings.diskCache {
                try DiskCachedObjectStore(S3ObjectStore(s3, metrics: S3Metrics(metrics.registry)),
                                          directory: cache.directory, maxBytes: cache.maxBytes)
            } else {
                try S3ObjectStore(s3, metrics: S3Metrics(metrics.registry))
            }
        } else {
            try FilesystemObjectStore(root: settings.storageDirectory)
        }
        // Loki's keys: base64 file names on the filesystem, `from:through:checksum` in an object store.
        let chunks = ChunkStore(objects: objects, keyStyle: settings.s3 == nil ? .filesystem : .objectStore)
        let index = ObjectStoreIndex(store: objects, prefix: settings.indexPrefix)
        let ingester = Ingester(settings: settings.ingester, chunks: chunks, index: index, metrics: metrics,
                                logger: logger)
        // A runtime configuration that cannot be read or parsed stops the start-up with its file and line.
        let overrides = if let runtime = settings.runtimeConfig {
            try RuntimeOverrides(runtime, registry: metrics.registry, logger: logger)
        } else {
            RuntimeOverrides(limits: settings.limits)
        }
        let limitsFor: @Sendable (String) -> Limits = { overrides.limits($0) }
        let distributor = Distributor(ingester: ingester, limits: limitsFor, metrics: metrics)
        let querier = Querier(ingester: ingester, index: index, chunks: chunks)
        // Delete requests live beside the chunks. Queries always honour them (another process on the same store may
        // have taken them); like Loki, the API and their processing come with retention.
        let deleteMetrics = DeleteRequestMetrics(metrics.registry)
        let deleteStore = DeleteRequestStore(store: objects, logger: logger)
        let readyBox = ReadyFlag()
        let startup = StartupGate(onReady: onReady)
        let api = LokiAPI(
            settings: .init(authEnabled: settings.authEnabled, maxRequestBytes: settings.maxRequestBytes,
                            limits: limitsFor, configYAML: settings.configYAML,
                            services: ["server", "distributor", "ingester", "querier", "store"],
                            runtimeConfigYAML: { overrides.renderYAML(diff: $0) }),
            distributor: distributor, querier: querier, ingester: ingester, metrics: metrics,
            readiness: { readyBox.isReady && ingester.isReady },
            deletes: DeleteRequestsAPI(
                store: deleteStore, serveEndpoints: settings.compactor.retentionEnabled,
                cancelPeriod: settings.compactor.deleteRequestCancelPeriod,
                maxInterval: settings.compactor.deleteMaxInterval, metrics: deleteMetrics, logger: logger),
            frontend: QueryFrontend(querier: querier, settings: settings.frontend))
        // Plain HTTP/1.1, plus the websocket upgrade of `/loki/api/v1/tail`.
        let app = Application(
            router: api.router(),
            server: WebSocketUpgradeChannel.builder(upgrade: { api.webSocketUpgrade(target: $0, headers: $1) }),
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
            onServerRunning: { channel in
                readyBox.set()
                startup.listening(host: settings.host, port: channel.localAddress?.port ?? settings.port)
            },
            logger: logger)
        // The only compactor on this store: one process runs every module.
        let compactor = Compactor(
            store: objects, chunks: chunks, settings: settings.compactor,
            retention: { tenant, labels in
                let limits = limitsFor(tenant)
                return RetentionStreamRule.period(for: labels, in: limits.retentionStreams, default: limits.retentionPeriod)
            },
            shortestRetention: { tenant in
                let limits = limitsFor(tenant)
                return ([limits.retentionPeriod] + limits.retentionStreams.map(\.period)).filter { $0 > 0 }.min() ?? 0
            },
            metrics: CompactorMetrics(metrics.registry), logger: logger,
            deletes: settings.compactor.retentionEnabled
                ? CompactorDeletes(store: deleteStore, cancelPeriod: settings.compactor.deleteRequestCancelPeriod,
                                   mode: { limitsFor($0).deletionMode }, metrics: deleteMetrics)
                : nil)
        var services: [any Service] = [CompactorService(compactor: compactor)]
        if let runtime = settings.runtimeConfig {
            services.append(RuntimeOverridesService(overrides: overrides, period: runtime.period))
        }
        return services + [IngesterService(ingester: ingester, replayed: { startup.replayed() }), app]
    }
}

/// Set once the HTTP server listens; `/ready` reports it.
final class ReadyFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isReady: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// Runs the ingester as a service: replays its WAL, then runs the flush loop, which on shutdown writes a
/// checkpoint or flushes every chunk before returning.
struct IngesterService: Service {
    let ingester: Ingester
    let replayed: @Sendable () -> Void

    func run() async throws {
        try await ingester.start()
        replayed()
        await ingester.run()
    }
}

/// Calls `onReady` once both the server listens and the ingester has replayed its WAL, in either order.
final class StartupGate: Sendable {
    private let state = Mutex<(address: (String, Int)?, replayed: Bool, done: Bool)>((nil, false, false))
    private let onReady: @Sendable (String, Int) -> Void

    init(onReady: @escaping @Sendable (String, Int) -> Void) {
        self.onReady = onReady
    }

    func listening(host: String, port: Int) { update { $0.address = (host, port) } }
    func replayed() { update { $0.replayed = true } }

    private func update(_ change: (inout (address: (String, Int)?, replayed: Bool, done: Bool)) -> Void) {
        let ready = state.withLock { state -> (String, Int)? in
            change(&state)
            guard !state.done, state.replayed, let address = state.address else { return nil }
            state.done = true
            return address
        }
        if let (host, port) = ready { onReady(host, port) }
    }
}
