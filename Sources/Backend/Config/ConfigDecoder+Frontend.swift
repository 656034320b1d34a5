extension ConfigDecoder {
    /// `querier`.
    mutating func decodeQuerier(_ section: Entry, into query: inout BackendConfig.QueryConfig) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "max_concurrent": try readInt(entry, into: &query.maxConcurrent, range: 1...Int.max)
            case "max_query_memory_bytes": try readInt(entry, into: &query.maxQueryMemoryBytes)
            default: ignore(entry, read: LokiKeys.querier, loki: LokiKeys.querierIgnored)
            }
        }
    }

    /// `frontend`.
    mutating func decodeFrontend(_ section: Entry, into query: inout BackendConfig.QueryConfig) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "max_outstanding_per_tenant":
                try readInt(entry, into: &query.maxOutstandingPerTenant, range: 1...Int.max)
            default: ignore(entry, read: LokiKeys.frontend, loki: LokiKeys.frontendIgnored)
            }
        }
    }

    /// `query_range`, with its embedded results cache.
    mutating func decodeQueryRange(_ section: Entry, into query: inout BackendConfig.QueryConfig) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "cache_results": try readBool(entry, into: &query.cacheResults)
            case "results_cache":
                for cacheEntry in try entries(of: entry) {
                    guard cacheEntry.key == "cache" else {
                        ignore(cacheEntry, read: ["cache"], loki: ["compression"])
                        continue
                    }
                    for kind in try entries(of: cacheEntry) {
                        guard kind.key == "embedded_cache" else {
                            ignore(kind, read: ["embedded_cache"], loki: LokiKeys.externalCaches)
                            continue
                        }
                        for key in try entries(of: kind) {
                            switch key.key {
                            case "enabled":
                                var enabled = true
                                try readBool(key, into: &enabled)
                                if !enabled { query.cacheResults = false }
                            case "max_size_mb": try readInt(key, into: &query.resultsCacheMaxSizeMB, range: 1...Int.max)
                            case "ttl": try readDuration(key, into: &query.resultsCacheTTL)
                            default: ignore(key, read: ["enabled", "max_size_mb", "ttl"], loki: ["max_size_items"])
                            }
                        }
                    }
                }
            default: ignore(entry, read: LokiKeys.queryRange, loki: LokiKeys.queryRangeIgnored)
            }
        }
    }
}

extension LokiKeys {
    static let querier = ["max_concurrent", "max_query_memory_bytes"]
    static let querierIgnored: Set<String> = [
        "query_ingesters_within", "tail_max_duration", "extra_query_delay", "engine", "multi_tenant_queries_enabled",
        "per_request_limits_enabled", "query_store_only", "query_ingester_only", "query_partition_ingesters",
    ]
    static let frontend = ["max_outstanding_per_tenant"]
    static let frontendIgnored: Set<String> = [
        "log_queries_longer_than", "max_body_size", "query_stats_enabled", "querier_forget_delay",
        "compress_responses", "downstream_url", "tail_proxy_url", "tail_tls_config", "encoding", "scheduler_address",
        "scheduler_dns_lookup_period", "scheduler_worker_concurrency", "grpc_client_config", "instance_interface_names",
        "instance_addr", "instance_port", "address", "port", "graceful_shutdown_timeout",
    ]
    static let queryRange = ["cache_results", "results_cache"]
    static let queryRangeIgnored: Set<String> = [
        "align_queries_with_step", "max_retries", "parallelise_shardable_queries", "shard_aggregations",
        "cache_index_stats_results", "index_stats_results_cache", "cache_volume_results", "volume_results_cache",
        "cache_instant_metric_results", "instant_metric_results_cache", "instant_metric_query_split_align",
        "cache_series_results", "series_results_cache", "cache_label_results", "label_results_cache",
    ]
    static let externalCaches: Set<String> = ["memcached", "memcached_client", "redis", "default_validity", "background"]
}
