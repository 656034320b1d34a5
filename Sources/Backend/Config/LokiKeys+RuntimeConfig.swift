extension LokiKeys {
    /// `runtime_config` (dskit's `runtimeconfig.Config`).
    static let runtimeConfig = ["file", "period"]
    /// dskit's settings for runtime configuration fetched over HTTP; this version reads local files only.
    static let runtimeConfigIgnored: Set<String> = [
        "http_client_timeout", "http_client_cluster_validation", "http_client_disable_keep_alives",
    ]

    /// The top level of a runtime configuration file (Loki's `runtimeConfigValues`).
    static let runtimeFile = ["overrides"]
    /// Runtime configuration keys of Loki (and of the Cortex-family files often shared with it) that set
    /// something other than per-tenant limits.
    static let runtimeFileIgnored: Set<String> = [
        "configs", "multi_kv_config", "ingester_stream_chunks_when_using_blocks", "ingester_limits",
        "distributor_limits", "operational_config",
    ]
}
