#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOPosix
import Prometheus
import ServiceLifecycle
import Synchronization
import Wire

/// Each tenant's limits: `limits_config`, with the tenant's keys from the runtime configuration files
/// (`runtime_config.file`, Loki's `overrides:`) applied on top, re-read every `runtime_config.period`.
///
/// `limits(_:)` is called on every push (by the distributor, which hands the limits to the ingester) and every
/// query, from any thread: it takes one lock around a dictionary lookup and allocates nothing. `reload()` is called by
/// `RuntimeOverridesService` once a period (and by tests); it re-parses only when the files' bytes changed, and a
/// file that does not parse leaves the last good overrides in force. Metrics are dskit's, with Loki's prefix:
/// `loki_runtime_config_last_reload_successful{config="loki"}` and `loki_runtime_config_hash{config="loki",sha256}`.
public final class RuntimeOverrides: Sendable {
    /// Where the overrides come from.
    public struct Settings: Sendable, Equatable {
        /// The files, in order: a tenant's key in a later file overrides the same key in an earlier one.
        public var files: [String]
        /// How often the files are re-read.
        public var period: Duration
        /// `limits_config`: what a tenant gets for every key its overrides do not set.
        public var limits: BackendConfig.LimitsConfig

        public init(files: [String], period: Duration, limits: BackendConfig.LimitsConfig) {
            self.files = files
            self.period = period
            self.limits = limits
        }

        /// The runtime configuration of `config` (`runtime_config`, or Loki's deprecated
        /// `limits_config.per_tenant_override_config`), nil when it names no file.
        public init?(_ config: BackendConfig) {
            let runtime = config.effectiveRuntimeConfig
            guard !runtime.files.isEmpty else { return nil }
            self.init(files: runtime.files, period: runtime.period, limits: config.limitsConfig)
        }
    }

    /// What one `reload()` did.
    public enum ReloadOutcome: Sendable, Equatable {
        /// The files' bytes are the ones already in force.
        case unchanged
        /// New overrides are in force.
        case applied
        /// The files could not be read or parsed; the last good overrides stay in force.
        case failed(ConfigError)
    }

    /// One parsed runtime configuration; never changed once built.
    final class Snapshot: Sendable {
        /// Each overridden tenant's limits, in the units the modules use.
        let tenants: [String: Limits]
        /// The same, as configuration, for `/runtime_config`.
        let configs: [String: BackendConfig.LimitsConfig]

        init(_ configs: [String: BackendConfig.LimitsConfig]) {
            self.configs = configs
            tenants = configs.mapValues(Limits.init)
        }
    }

    /// What the reload loop remembers between runs.
    private struct ReloadState {
        /// Digests of the files last applied, and last refused (with the reason, logged once).
        var applied: [String]
        var refused: (digests: [String]?, error: ConfigError)?
        var hashGauge: Gauge?
    }

    public let settings: Settings?
    /// `limits_config` in code units: the limits of every tenant without overrides.
    private let defaults: Limits
    private let snapshot: Mutex<Snapshot>
    private let reloadState: Mutex<ReloadState>
    private let registry: PrometheusCollectorRegistry
    private let lastReloadSuccessful: Gauge?
    private let logger: Logger

    /// Every tenant gets `limits`: there is no runtime configuration.
    public init(limits: Limits) {
        settings = nil
        defaults = limits
        snapshot = Mutex(Snapshot([:]))
        reloadState = Mutex(ReloadState(applied: []))
        registry = PrometheusCollectorRegistry()
        lastReloadSuccessful = nil
        logger = Logger(label: "estuary.runtime-config")
    }

    /// Loads the files once. A file that cannot be read or parsed is a start-up error: the `ConfigError` names
    /// the file, line, column and key. Warnings (unknown keys) are logged.
    public init(_ settings: Settings, registry: PrometheusCollectorRegistry,
                logger: Logger = Logger(label: "estuary.runtime-config")) throws(ConfigError) {
        self.settings = settings
        defaults = Limits(settings.limits)
        self.registry = registry
        self.logger = logger
        let files = try Self.readAll(settings.files)
        let (tenants, warnings) = try ConfigLoader.parseRuntimeConfig(files: files, limits: settings.limits)
        for warning in warnings { logger.warning("\(warning)") }
        snapshot = Mutex(Snapshot(tenants))
        let digests = files.map { SHA256Hex.digest($0.bytes) }
        let gauge = registry.makeGauge(descriptor: Self.hashDescriptor,
                                       labels: [("config", "loki"), ("sha256", Self.hash(digests))])
        gauge.set(Int64(1))
        reloadState = Mutex(ReloadState(applied: digests, hashGauge: gauge))
        lastReloadSuccessful = registry.makeGauge(descriptor: Self.successDescriptor, labels: [("config", "loki")])
        lastReloadSuccessful?.set(Int64(1))
    }

    /// The limits `tenant` runs with now.
    public func limits(_ tenant: String) -> Limits {
        snapshot.withLock { $0.tenants[tenant] } ?? defaults
    }

    /// Reads the files again and, if their bytes changed, parses them and puts the new overrides in force.
    ///
    /// On failure the last good overrides stay, `loki_runtime_config_last_reload_successful` drops to 0 and the
    /// reason (file, line, key) is logged once per distinct failure; the next good load sets it back to 1.
    @discardableResult
    public func reload() async -> ReloadOutcome {
        guard let settings else { return .unchanged }
        let files: [(path: String, bytes: [UInt8])]
        do {
            files = try await NIOThreadPool.singleton.runIfActive { try Self.readAll(settings.files) }
        } catch let error as ConfigError {
            return refused(error, digests: nil)
        } catch {
            return refused(ConfigError(file: "", message: "cannot read the runtime configuration: \(error)"),
                           digests: nil)
        }
        let digests = files.map { SHA256Hex.digest($0.bytes) }
        let known = reloadState.withLock { state -> ReloadOutcome? in
            if state.applied == digests { return .unchanged }
            if let refused = state.refused, refused.digests == digests { return .failed(refused.error) }
            return nil
        }
        if let known {
            if known == .unchanged {
                reloadState.withLock { $0.refused = nil }
                lastReloadSuccessful?.set(Int64(1))
            }
            return known
        }
        let parsed: (tenants: [String: BackendConfig.LimitsConfig], warnings: [ConfigWarning])
        do {
            parsed = try ConfigLoader.parseRuntimeConfig(files: files, limits: settings.limits)
        } catch {
            return refused(error, digests: digests)
        }
        for warning in parsed.warnings { logger.warning("\(warning)") }
        var next = Snapshot(parsed.tenants)
        // Swap under the lock; the old snapshot is freed after it, off the pushes' path.
        snapshot.withLock { swap(&$0, &next) }
        let hash = Self.hash(digests)
        reloadState.withLock { state in
            state.applied = digests
            state.refused = nil
            if let old = state.hashGauge { registry.unregisterGauge(old) }
            let gauge = registry.makeGauge(descriptor: Self.hashDescriptor,
                                           labels: [("config", "loki"), ("sha256", hash)])
            gauge.set(Int64(1))
            state.hashGauge = gauge
        }
        lastReloadSuccessful?.set(Int64(1))
        logger.info("runtime configuration reloaded: overrides for \(parsed.tenants.count) tenant(s)",
                    metadata: ["sha256": "\(hash)"])
        return .applied
    }

    /// One failed reload: logged unless it is the failure already reported, and the gauge set to 0.
    private func refused(_ error: ConfigError, digests: [String]?) -> ReloadOutcome {
        let repeated = reloadState.withLock { state -> Bool in
            defer { state.refused = (digests, error) }
            return state.refused?.error == error
        }
        lastReloadSuccessful?.set(Int64(0))
        if !repeated {
            logger.error("runtime configuration not reloaded, the last good one stays in force: \(error)")
        }
        return .failed(error)
    }

    /// The overrides in force, for `/runtime_config`.
    var current: (tenants: [String: BackendConfig.LimitsConfig], defaults: BackendConfig.LimitsConfig)? {
        guard let settings else { return nil }
        return (snapshot.withLock { $0.configs }, settings.limits)
    }

    // MARK: Files and metrics

    /// dskit's gauge names under Loki's `loki_` prefix, with the `config` label Loki gives its manager.
    private static var successDescriptor: MetricNameDescriptor {
        .init("loki_runtime_config_last_reload_successful", help: "Whether the last runtime-config reload attempt was successful.")
    }
    private static var hashDescriptor: MetricNameDescriptor {
        .init("loki_runtime_config_hash", help: "Hash of the currently active runtime configuration, merged from all configured files.")
    }

    /// One file: the SHA-256 of its bytes (what `sha256sum` prints); several: the SHA-256 of their digests in order.
    static func hash(_ digests: [String]) -> String {
        digests.count == 1 ? digests[0] : SHA256Hex.digest(Array(digests.joined().utf8))
    }

    /// Each file's bytes, blocking (at start-up, or on NIO's thread pool).
    private static func readAll(_ paths: [String]) throws(ConfigError) -> [(path: String, bytes: [UInt8])] {
        var files: [(path: String, bytes: [UInt8])] = []
        for path in paths {
            files.append((path, try readFile(path)))
        }
        return files
    }

    private static func readFile(_ path: String) throws(ConfigError) -> [UInt8] {
        try ConfigLoader.readBytes(path, what: "the runtime configuration file", hint: "check runtime_config.file")
    }
}

/// Re-reads the runtime configuration every `period` for as long as the backend runs; stops at graceful shutdown.
public struct RuntimeOverridesService: Service {
    let overrides: RuntimeOverrides
    let period: Duration

    public init(overrides: RuntimeOverrides, period: Duration) {
        self.overrides = overrides
        self.period = period
    }

    public func run() async {
        let overrides = overrides
        let period = period
        try? await cancelWhenGracefulShutdown {
            while true {
                // The reload period's timer, not a wait for work; cancelled at shutdown.
                try await Task.sleep(for: period)
                await overrides.reload()
            }
        }
    }
}
