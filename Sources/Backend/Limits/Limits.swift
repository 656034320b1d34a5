/// Per-tenant limits the write and read paths enforce, in the units the code uses (bytes, nanoseconds).
///
/// Built from `limits_config` (`Limits(config)`); a tenant named in the runtime configuration's `overrides` gets
/// `limits_config` with its own keys applied on top (`RuntimeOverrides`).
public struct Limits: Sendable, Equatable {
    /// `ingestion_rate_mb`, as bytes per second of raw line bytes for the whole tenant.
    public var ingestionRateBytes: Double = 4 * 1_048_576
    /// `ingestion_burst_size_mb`, as bytes.
    public var ingestionBurstBytes: Double = 6 * 1_048_576
    /// `per_stream_rate_limit`, bytes per second.
    public var perStreamRateBytes: Double = 3 * 1_048_576
    /// `per_stream_rate_limit_burst`, bytes.
    public var perStreamBurstBytes: Double = 15 * 1_048_576
    /// `max_line_size`; 0 disables the check.
    public var maxLineSize: Int = 256 * 1024
    /// `max_line_size_truncate`: truncate long lines instead of rejecting them.
    public var maxLineSizeTruncate: Bool = false
    public var maxLabelNamesPerSeries: Int = 15
    public var maxLabelNameLength: Int = 1024
    public var maxLabelValueLength: Int = 2048
    public var rejectOldSamples: Bool = true
    /// `reject_old_samples_max_age`, nanoseconds.
    public var rejectOldSamplesMaxAge: Int64 = 7 * 24 * 3600 * 1_000_000_000
    /// `creation_grace_period`, nanoseconds.
    public var creationGracePeriod: Int64 = 10 * 60 * 1_000_000_000
    /// `max_global_streams_per_user`; 0 disables the limit.
    public var maxStreamsPerUser: Int = 5000
    public var maxEntriesLimitPerQuery: Int = 5000
    /// `max_concurrent_tail_requests`: live tails (`/loki/api/v1/tail`) the tenant may hold open at once.
    public var maxConcurrentTailRequests: Int = 10
    /// `max_query_length`, nanoseconds; 0 disables the check.
    public var maxQueryLength: Int64 = 721 * 3600 * 1_000_000_000
    /// `query_timeout`, nanoseconds; 0 disables the limit.
    public var queryTimeout: Int64 = 60 * 1_000_000_000
    /// `max_query_series`; 0 disables the limit.
    public var maxQuerySeries: Int = 500
    /// `max_query_lookback`, nanoseconds; 0 disables the limit.
    public var maxQueryLookback: Int64 = 0
    /// `max_query_parallelism`.
    public var maxQueryParallelism: Int = 32
    /// `tsdb_max_bytes_per_shard`: the bytes (from index statistics) one shard of a metric query should read.
    public var tsdbMaxBytesPerShard: Int = 600 << 20
    /// `split_queries_by_interval`, nanoseconds; 0 disables splitting.
    public var splitQueriesByInterval: Int64 = 3_600_000_000_000
    /// `max_cache_freshness_per_query`, nanoseconds.
    public var maxCacheFreshness: Int64 = 600_000_000_000
    public var allowStructuredMetadata: Bool = true
    /// `discover_service_name`; empty turns service name discovery off.
    public var discoverServiceName: [String] = Limits.lokiDiscoverServiceName
    /// `discover_log_levels`.
    public var discoverLogLevels: Bool = true
    /// `otlp_config`.
    public var otlpConfig = OTLPConfig()
    /// `retention_period`, nanoseconds: how long the compactor keeps a stream no `retention_stream` rule matches;
    /// 0 keeps it forever.
    public var retentionPeriod: Int64 = 0
    /// `retention_stream`: per-selector retention; `RetentionStreamRule.period(for:in:default:)` picks a stream's.
    public var retentionStreams: [RetentionStreamRule] = []
    /// `deletion_mode`: what the delete API does for the tenant, and whether queries hide deleted lines.
    public var deletionMode: DeletionMode = .filterAndDelete

    public init() {}

    /// Loki 3's default `discover_service_name`.
    public static let lokiDiscoverServiceName = [
        "service", "app", "application", "name", "app_kubernetes_io_name", "container", "container_name",
        "k8s_container_name", "component", "workload", "job", "k8s_job_name",
    ]
}
