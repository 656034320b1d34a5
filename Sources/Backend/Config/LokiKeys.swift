/// The configuration keys this version reads, per section, and Loki keys it knows but does not use.
///
/// A key in an "ignored" set gets a gentler warning ("a Loki setting this version does not use") than a key
/// nobody knows, which may be a typo and gets a "did you mean". The ignored sets list the keys Loki's example
/// and production configs commonly carry; they need not be complete.
enum LokiKeys {
    static let topLevel = [
        "target", "auth_enabled", "server", "common", "schema_config", "storage_config", "limits_config", "ingester",
        "compactor", "runtime_config", "querier", "frontend", "query_range", "distributor",
    ]
    static let topLevelIgnored: Set<String> = [
        "query_scheduler", "frontend_worker", "ruler",
        "ruler_storage", "ingester_client", "pattern_ingester", "index_gateway", "bloom_build", "bloom_gateway",
        "block_builder", "block_scheduler", "compactor_grpc_client", "compactor_http_client",
        "chunk_store_config", "table_manager", "memberlist", "kafka_config", "ingest_limits",
        "ingest_limits_frontend", "ingest_limits_frontend_client", "tracing", "analytics", "operational_config",
        "ballast_bytes", "use_buffered_logger", "use_sync_logger", "shutdown_delay", "metrics_namespace",
        "profiling", "ui", "dataobj", "legacy_read_target", "overrides_exporter", "partition_ring",
        "internal_server", "common_config", "storage", "ingester_rf1", "querier_rf1", "bloom_compactor",
    ]

    static let server = ["http_listen_address", "http_listen_port", "grpc_server_max_recv_msg_size"]
    static let serverIgnored: Set<String> = [
        "http_listen_network", "http_listen_conn_limit", "grpc_listen_network", "grpc_listen_address",
        "grpc_listen_port", "grpc_listen_conn_limit", "proxy_protocol_enabled", "tls_cipher_suites",
        "tls_min_version", "http_tls_config", "grpc_tls_config", "register_instrumentation",
        "report_grpc_codes_in_instrumentation_label_enabled", "graceful_shutdown_timeout",
        "http_server_read_timeout", "http_server_read_header_timeout", "http_server_write_timeout",
        "http_server_idle_timeout", "http_log_closed_connections_without_response_enabled",
        "grpc_server_max_send_msg_size", "grpc_server_max_concurrent_streams", "grpc_server_max_connection_idle",
        "grpc_server_max_connection_age", "grpc_server_max_connection_age_grace", "grpc_server_keepalive_time",
        "grpc_server_keepalive_timeout", "grpc_server_min_time_between_pings",
        "grpc_server_ping_without_stream_allowed", "grpc_server_num_workers", "grpc_collect_max_streams_by_conn",
        "log_format", "log_level", "log_source_ips_enabled", "log_source_ips_full", "log_source_ips_header",
        "log_source_ips_regex", "log_request_headers", "log_request_at_info_level_enabled",
        "log_request_exclude_headers_list", "http_path_prefix", "cluster_validation", "http_router_recover",
    ]

    static let common = ["path_prefix", "storage", "replication_factor"]
    static let commonIgnored: Set<String> = [
        "persist_tokens", "ring", "instance_interface_names", "instance_addr", "instance_enable_ipv6",
        "instance_port", "compactor_address", "compactor_grpc_address",
    ]
    /// Object stores Loki supports besides the filesystem (`common.storage.*`, `storage_config.*`).
    static let objectStores: Set<String> = [
        "s3", "aws", "gcs", "azure", "alibabacloud", "bos", "swift", "cos", "hedging", "congestion_control",
        "object_store", "thanos_objstore",
    ]

    static let s3 = [
        "endpoint", "region", "bucketnames", "access_key_id", "secret_access_key", "session_token", "s3forcepathstyle",
        "insecure", "storage_class", "sse", "backoff_config", "s3", "sts_endpoint", "http_config",
    ]
    /// Loki's S3 keys this version leaves at their defaults (connection tuning, signature version, checksums).
    static let s3Ignored: Set<String> = [
        "signature_version", "disable_dualstack", "native_aws_auth_enabled", "list_objects_version",
        "chunk_delimiter", "max_connections", "part_size", "send_content_md5", "bucket_lookup_type",
        "trace", "dualstack_enabled",
    ]

    static let period = ["from", "store", "object_store", "schema", "index"]
    static let periodIgnored: Set<String> = ["chunks", "row_shards"]

    static let storageConfigIgnored: Set<String> = objectStores.union([
        "tsdb_shipper", "boltdb_shipper", "bigtable", "cassandra", "boltdb", "grpc_store", "named_stores",
        "index_queries_cache_config", "disable_broad_index_queries", "max_parallel_get_chunk",
        "max_chunk_batch_size", "index_cache_validity", "object_prefix", "use_thanos_objstore",
    ])

    static let limits = [
        "ingestion_rate_mb", "ingestion_burst_size_mb", "per_stream_rate_limit", "per_stream_rate_limit_burst",
        "max_line_size", "max_line_size_truncate", "max_label_names_per_series", "max_label_name_length",
        "max_label_value_length", "reject_old_samples", "reject_old_samples_max_age", "creation_grace_period",
        "max_global_streams_per_user", "max_entries_limit_per_query", "max_query_length",
        "max_concurrent_tail_requests", "query_timeout", "allow_structured_metadata", "max_query_series", "max_query_lookback", "max_query_parallelism",
        "tsdb_max_bytes_per_shard", "split_queries_by_interval", "max_cache_freshness_per_query", "discover_service_name", "discover_log_levels",
        "otlp_config", "retention_period", "retention_stream", "per_tenant_override_config",
        "per_tenant_override_period", "deletion_mode",
    ]
    static let limitsIgnored: Set<String> = [
        "ingestion_rate_strategy", "increment_duplicate_timestamp", "log_level_fields", "log_level_from_json_max_depth",
        "use_owned_stream_count", "max_streams_per_user", "unordered_writes",
        "max_chunks_per_query", "max_query_range", "tsdb_max_query_parallelism",
        "tsdb_sharding_strategy", "tsdb_precompute_chunks", "cardinality_limit", "max_streams_matchers_per_query",
        "max_metadata_cache_freshness",
        "max_stats_cache_freshness", "max_queriers_per_tenant", "max_query_capacity", "query_ready_index_num_days",
        "split_metadata_queries_by_interval",
        "split_recent_metadata_queries_by_interval", "recent_metadata_query_window",
        "split_instant_metric_queries_by_interval", "split_ingester_queries_by_interval", "min_sharding_lookback",
        "max_query_bytes_read", "max_querier_bytes_read", "volume_enabled", "volume_max_series",
        "ruler_max_rules_per_rule_group", "ruler_max_rule_groups_per_tenant", "ruler_alertmanager_config",
        "ruler_tenant_shard_size", "ruler_remote_write_disabled", "ruler_remote_write_config",
        "ruler_remote_evaluation_timeout", "ruler_remote_evaluation_max_response_size", "allow_deletes", "shard_streams", "blocked_queries", "required_labels", "minimum_labels_number",
        "index_gateway_shard_size", "bloom_gateway_shard_size", "bloom_gateway_enable_filtering",
        "bloom_creation_enabled", "max_structured_metadata_size", "max_structured_metadata_entries_count",
        "discover_generic_fields", "block_ingestion_until", "block_ingestion_status_code", "enforce_metric_name",
        "metric_aggregation_enabled", "pattern_persistence_enabled", "ingestion_partitions_tenant_shard_size",
        "max_label_names_per_series_truncate", "query_sharding_enabled",
    ]

    /// `limits_config.otlp_config`.
    static let otlpConfig = ["resource_attributes", "scope_attributes", "log_attributes", "severity_text_as_label"]
    /// Loki's `distributor` keys besides `otlp_config` (ring, rate store, Kafka and limits-service settings).
    static let distributorIgnored: Set<String> = [
        "ring", "push_worker_count", "rate_store", "write_failures_logging", "tenant_topic", "kafka_writes_enabled",
        "ingester_writes_enabled", "ingest_limits_enabled", "ingest_limits_dry_run_enabled", "max_recv_msg_size",
        "max_decompressed_size", "data_obj_tee", "default_policy_stream_mappings",
    ]

    static let ingester = [
        "chunk_encoding", "chunk_block_size", "chunk_target_size", "chunk_idle_period", "max_chunk_age",
        "flush_check_period", "concurrent_flushes", "chunk_retain_period", "wal", "memory_ceiling",
    ]
    static let wal = [
        "enabled", "dir", "checkpoint_duration", "flush_on_shutdown", "replay_memory_ceiling", "disk_full_threshold",
        "sync_policy",
    ]
    static let ingesterIgnored: Set<String> = [
        "lifecycler", "max_transfer_retries", "flush_op_backoff", "flush_op_timeout", "autoforget_unhealthy",
        "sync_period", "sync_min_utilization", "max_returned_stream_errors", "query_store_max_look_back_period",
        "index_shards", "max_dropped_streams", "shutdown_marker_path", "owned_streams_check_interval",
        "kafka_ingestion",
    ]

    static let compactor = [
        "working_directory", "compaction_interval", "retention_enabled", "retention_delete_delay",
        "retention_delete_worker_count", "delete_request_store", "delete_request_cancel_period",
        "delete_max_interval",
    ]
    /// Loki's compactor keys this version leaves at their defaults.
    static let compactorIgnored: Set<String> = [
        "delete_request_store_key_prefix", "delete_batch_size", "max_compaction_parallelism", "upload_parallelism",
        "compactor_ring",
        "run_once", "tables_to_compact", "skip_latest_n_tables", "apply_retention_interval", "shared_store",
        "shared_store_key_prefix", "compaction_interval_jitter", "retention_table_timeout",
        "retain_delete_requests_for_duration", "horizontal_scaling_mode", "worker_config", "jobs_config",
    ]

    /// Chunk encodings Loki has that this version cannot write yet.
    static let lokiOnlyChunkEncodings: Set<String> = ["lz4-64k", "lz4-256k", "lz4-1m", "lz4", "zstd"]
}
