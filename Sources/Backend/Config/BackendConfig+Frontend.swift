import Wire

extension BackendConfig {
    /// `querier`, `frontend` and `query_range`: how queries are scheduled, split and cached.
    public struct QueryConfig: Sendable, Equatable {
        /// `querier.max_concurrent`: query pieces run at once.
        public var maxConcurrent = 4
        /// `querier.max_query_memory_bytes` (Estuary's own key): samples one query may hold; 0 disables the limit.
        public var maxQueryMemoryBytes = 1 << 30
        /// `frontend.max_outstanding_per_tenant`.
        public var maxOutstandingPerTenant = 2048
        /// `query_range.cache_results`.
        public var cacheResults = false
        /// `query_range.results_cache.cache.embedded_cache.max_size_mb`.
        public var resultsCacheMaxSizeMB = 100
        /// `query_range.results_cache.cache.embedded_cache.ttl`.
        public var resultsCacheTTL: Duration = .seconds(3600)

        public init() {}
    }

    func renderQuerySections(to out: inout YAMLWriter) {
        out.section("querier") { out in
            out.scalar("max_concurrent", String(query.maxConcurrent))
            out.scalar("max_query_memory_bytes", String(query.maxQueryMemoryBytes))
        }
        out.section("frontend") { out in
            out.scalar("max_outstanding_per_tenant", String(query.maxOutstandingPerTenant))
        }
        out.section("query_range") { out in
            out.scalar("cache_results", String(query.cacheResults))
            out.section("results_cache") { out in
                out.section("cache") { out in
                    out.section("embedded_cache") { out in
                        out.scalar("enabled", "true")
                        out.scalar("max_size_mb", String(query.resultsCacheMaxSizeMB))
                        out.scalar("ttl", Self.prometheus(query.resultsCacheTTL))
                    }
                }
            }
        }
    }
}

extension QueryFrontend.Settings {
    init(_ config: BackendConfig.QueryConfig) {
        self.init()
        maxConcurrent = config.maxConcurrent
        maxQueryMemoryBytes = config.maxQueryMemoryBytes
        maxOutstandingPerTenant = config.maxOutstandingPerTenant
        cacheResults = config.cacheResults
        cacheBytes = config.resultsCacheMaxSizeMB.saturatingMultiplied(by: 1 << 20)
        cacheTTL = DurationText.nanoseconds(config.resultsCacheTTL)
    }
}
