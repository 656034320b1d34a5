import Wire
extension BackendConfig {
    /// The effective configuration as YAML with Loki's key names and Loki's spelling of values (`256KB`, `1w`,
    /// `30m0s`), as `/config` shows it. `ConfigLoader.parse` reads it back to an equal configuration, but for
    /// secrets (S3's secret access key and session token), which are shown as Loki shows them: `********`.
    public func renderYAML() -> String {
        var out = YAMLWriter()
        out.scalar("target", target.rawValue)
        out.scalar("auth_enabled", String(authEnabled))
        out.section("server") { out in
            out.scalar("http_listen_address", YAMLWriter.string(server.httpListenAddress))
            out.scalar("http_listen_port", String(server.httpListenPort))
            out.scalar("grpc_server_max_recv_msg_size", String(server.grpcServerMaxRecvMsgSize))
        }
        out.section("common") { out in
            out.scalar("path_prefix", YAMLWriter.string(common.pathPrefix))
            out.section("storage") { out in
                out.section("filesystem") { out in
                    out.scalar("chunks_directory", YAMLWriter.string(common.storage.filesystem.chunksDirectory))
                    out.scalar("rules_directory", YAMLWriter.string(common.storage.filesystem.rulesDirectory))
                }
                if common.storage.s3 != S3Config() { Self.render(common.storage.s3, as: "s3", to: &out) }
            }
            out.scalar("replication_factor", String(common.replicationFactor))
        }
        out.section("schema_config") { out in
            if schemaConfig.configs.isEmpty {
                out.scalar("configs", "[]")
                return
            }
            out.list("configs", schemaConfig.configs) { out, period in
                out.scalar("from", period.from.description)
                out.scalar("store", YAMLWriter.string(period.store))
                out.scalar("object_store", YAMLWriter.string(period.objectStore))
                out.scalar("schema", YAMLWriter.string(period.schema))
                out.section("index") { out in
                    out.scalar("prefix", YAMLWriter.string(period.index.prefix))
                    out.scalar("period", DurationText.prometheusString(DurationText.nanoseconds(period.index.period)))
                }
            }
        }
        out.section("storage_config") { out in
            out.section("filesystem") { out in
                out.scalar("directory", YAMLWriter.string(storageConfig.filesystem.directory))
            }
            if storageConfig.aws != S3Config() { Self.render(storageConfig.aws, as: "aws", to: &out) }
            out.section("disk_cache") { out in
                out.scalar("directory", YAMLWriter.string(storageConfig.diskCache.directory))
                out.scalar("max_size_mb", String(storageConfig.diskCache.maxSizeMB))
            }
        }
        out.section("distributor") { out in
            out.section("otlp_config") { out in
                out.scalar("default_resource_attributes_as_index_labels",
                           YAMLWriter.flowList(limitsConfig.otlpConfig.defaultIndexLabels))
            }
        }
        out.section("limits_config") { out in Self.render(limitsConfig, to: &out) }
        renderQuerySections(to: &out)
        out.section("compactor") { out in
            out.scalar("working_directory", YAMLWriter.string(compactor.workingDirectory))
            out.scalar("compaction_interval", Self.prometheus(compactor.compactionInterval))
            out.scalar("retention_enabled", String(compactor.retentionEnabled))
            out.scalar("retention_delete_delay", Self.prometheus(compactor.retentionDeleteDelay))
            out.scalar("retention_delete_worker_count", String(compactor.retentionDeleteWorkerCount))
            out.scalar("delete_request_store", YAMLWriter.string(compactor.deleteRequestStore))
            out.scalar("delete_request_cancel_period", Self.go(compactor.deleteRequestCancelPeriod))
            out.scalar("delete_max_interval", Self.go(compactor.deleteMaxInterval))
        }
        out.section("ingester") { out in
            out.scalar("chunk_encoding", ingester.chunkEncoding.rawValue)
            out.scalar("chunk_block_size", String(ingester.chunkBlockSize))
            out.scalar("chunk_target_size", String(ingester.chunkTargetSize))
            out.scalar("chunk_idle_period", Self.go(ingester.chunkIdlePeriod))
            out.scalar("max_chunk_age", Self.go(ingester.maxChunkAge))
            out.scalar("flush_check_period", Self.go(ingester.flushCheckPeriod))
            out.scalar("concurrent_flushes", String(ingester.concurrentFlushes))
            out.scalar("chunk_retain_period", Self.go(ingester.chunkRetainPeriod))
            out.scalar("memory_ceiling", ByteSizeText.format(ingester.memoryCeiling))
            out.section("wal") { out in
                out.scalar("enabled", String(ingester.wal.enabled))
                out.scalar("dir", YAMLWriter.string(ingester.wal.dir))
                out.scalar("checkpoint_duration", Self.go(ingester.wal.checkpointDuration))
                out.scalar("flush_on_shutdown", String(ingester.wal.flushOnShutdown))
                out.scalar("replay_memory_ceiling", ByteSizeText.format(ingester.wal.replayMemoryCeiling))
                out.scalar("disk_full_threshold", YAMLWriter.number(ingester.wal.diskFullThreshold))
                out.scalar("sync_policy", ingester.wal.syncPolicy.rawValue)
            }
        }
        out.section("runtime_config") { out in
            out.scalar("file", YAMLWriter.string(runtimeConfig.file))
            out.scalar("period", Self.go(runtimeConfig.period))
        }
        return out.text
    }

    /// `limits_config`'s keys, also each tenant's limits in `/runtime_config`.
    static func render(_ limits: LimitsConfig, to out: inout YAMLWriter) {
        out.scalar("ingestion_rate_mb", YAMLWriter.number(limits.ingestionRateMB))
        out.scalar("ingestion_burst_size_mb", YAMLWriter.number(limits.ingestionBurstSizeMB))
        out.scalar("per_stream_rate_limit", ByteSizeText.format(limits.perStreamRateLimit))
        out.scalar("per_stream_rate_limit_burst", ByteSizeText.format(limits.perStreamRateLimitBurst))
        out.scalar("max_line_size", ByteSizeText.format(limits.maxLineSize))
        out.scalar("max_line_size_truncate", String(limits.maxLineSizeTruncate))
        out.scalar("max_label_names_per_series", String(limits.maxLabelNamesPerSeries))
        out.scalar("max_label_name_length", String(limits.maxLabelNameLength))
        out.scalar("max_label_value_length", String(limits.maxLabelValueLength))
        out.scalar("reject_old_samples", String(limits.rejectOldSamples))
        out.scalar("reject_old_samples_max_age", prometheus(limits.rejectOldSamplesMaxAge))
        out.scalar("creation_grace_period", prometheus(limits.creationGracePeriod))
        out.scalar("max_global_streams_per_user", String(limits.maxGlobalStreamsPerUser))
        out.scalar("max_concurrent_tail_requests", String(limits.maxConcurrentTailRequests))
        out.scalar("max_entries_limit_per_query", String(limits.maxEntriesLimitPerQuery))
        out.scalar("max_query_length", prometheus(limits.maxQueryLength))
        out.scalar("query_timeout", prometheus(limits.queryTimeout))
        out.scalar("max_query_series", String(limits.maxQuerySeries))
        out.scalar("max_query_lookback", prometheus(limits.maxQueryLookback))
        out.scalar("max_query_parallelism", String(limits.maxQueryParallelism))
        out.scalar("tsdb_max_bytes_per_shard", ByteSizeText.format(limits.tsdbMaxBytesPerShard))
        out.scalar("split_queries_by_interval", prometheus(limits.splitQueriesByInterval))
        out.scalar("max_cache_freshness_per_query", prometheus(limits.maxCacheFreshnessPerQuery))
        out.scalar("allow_structured_metadata", String(limits.allowStructuredMetadata))
        out.scalar("discover_service_name", YAMLWriter.flowList(limits.discoverServiceName))
        out.scalar("discover_log_levels", String(limits.discoverLogLevels))
        out.section("otlp_config") { out in render(limits.otlpConfig, to: &out) }
        out.scalar("retention_period", prometheus(limits.retentionPeriod))
        if limits.retentionStream.isEmpty {
            out.scalar("retention_stream", "[]")
        } else {
            // Loki's field order: period, priority, selector.
            out.list("retention_stream", limits.retentionStream) { out, rule in
                out.scalar("period", DurationText.prometheusString(rule.period))
                out.scalar("priority", String(rule.priority))
                out.scalar("selector", YAMLWriter.string(rule.selector))
            }
        }
        out.scalar("per_tenant_override_config", YAMLWriter.string(limits.perTenantOverrideConfig))
        out.scalar("per_tenant_override_period", prometheus(limits.perTenantOverridePeriod))
        // After the override keys, as in Loki's `validation.Limits`.
        out.scalar("deletion_mode", limits.deletionMode.rawValue)
    }

    /// `otlp_config`, as written (the default index labels come from `distributor`, shown there).
    private static func render(_ otlp: OTLPConfig, to out: inout YAMLWriter) {
        out.section("resource_attributes") { out in
            out.scalar("ignore_defaults", String(otlp.ignoreDefaults))
            renderRules("attributes_config", otlp.resourceAttributes, to: &out)
        }
        renderRules("scope_attributes", otlp.scopeAttributes, to: &out)
        renderRules("log_attributes", otlp.logAttributes, to: &out)
        out.scalar("severity_text_as_label", String(otlp.severityTextAsLabel))
    }

    private static func renderRules(_ key: String, _ rules: [OTLPAttributeRule], to out: inout YAMLWriter) {
        guard !rules.isEmpty else {
            out.scalar(key, "[]")
            return
        }
        out.list(key, rules) { out, rule in
            out.scalar("action", rule.action.rawValue)
            if let regex = rule.regex {
                out.scalar("regex", YAMLWriter.string(regex.pattern))
            } else {
                out.scalar("attributes", YAMLWriter.flowList(rule.attributes))
            }
        }
    }

    /// Loki keeps limits as Prometheus `model.Duration` (`1w`) ...
    static func prometheus(_ duration: Duration) -> String {
        DurationText.prometheusString(DurationText.nanoseconds(duration))
    }

    /// ... and ingester settings as Go `time.Duration` (`30m0s`).
    private static func go(_ duration: Duration) -> String {
        DurationText.goString(DurationText.nanoseconds(duration))
    }

    /// The mask Loki's `/config` shows for a secret that is set.
    static let secretMask = "********"

    private static func render(_ s3: S3Config, as name: String, to out: inout YAMLWriter) {
        func secret(_ value: String) -> String { value.isEmpty ? YAMLWriter.string("") : YAMLWriter.string(secretMask) }
        out.section(name) { out in
            out.scalar("endpoint", YAMLWriter.string(s3.endpoint))
            out.scalar("region", YAMLWriter.string(s3.region))
            out.scalar("bucketnames", YAMLWriter.string(s3.bucketNames))
            out.scalar("access_key_id", YAMLWriter.string(s3.accessKeyID))
            out.scalar("secret_access_key", secret(s3.secretAccessKey))
            out.scalar("session_token", secret(s3.sessionToken))
            out.scalar("s3forcepathstyle", String(s3.forcePathStyle))
            out.scalar("insecure", String(s3.insecure))
            out.scalar("storage_class", YAMLWriter.string(s3.storageClass))
            out.scalar("s3", YAMLWriter.string(S3URL.masked(s3.url, mask: secretMask)))
            out.scalar("sts_endpoint", YAMLWriter.string(s3.stsEndpoint))
            out.section("http_config") { out in
                out.scalar("idle_conn_timeout", prometheus(s3.idleConnTimeout))
                out.scalar("response_header_timeout", prometheus(s3.responseHeaderTimeout))
                out.scalar("insecure_skip_verify", String(s3.insecureSkipVerify))
                out.scalar("ca_file", YAMLWriter.string(s3.caFile))
            }
            out.section("sse") { out in
                out.scalar("type", YAMLWriter.string(s3.sseType))
                out.scalar("kms_key_id", YAMLWriter.string(s3.kmsKeyID))
                out.scalar("kms_encryption_context", YAMLWriter.string(s3.kmsEncryptionContext))
            }
            out.section("backoff_config") { out in
                out.scalar("min_period", prometheus(s3.backoffMinPeriod))
                out.scalar("max_period", prometheus(s3.backoffMaxPeriod))
                out.scalar("max_retries", String(s3.maxRetries))
            }
        }
    }
}

/// Writes block-style YAML, two spaces per level.
struct YAMLWriter {
    private(set) var text = ""
    private var indent = ""
    /// The prefix of the next line, replacing its indentation (`- ` for the first key of a list item).
    private var pendingPrefix: String?

    mutating func scalar(_ key: String, _ value: String) {
        line("\(key): \(value)")
    }

    mutating func section(_ key: String, _ body: (inout YAMLWriter) -> Void) {
        line("\(key):")
        let saved = indent
        indent += "  "
        body(&self)
        indent = saved
    }

    mutating func list<Element>(_ key: String, _ elements: [Element], _ body: (inout YAMLWriter, Element) -> Void) {
        line("\(key):")
        let saved = indent
        indent += "    "
        for element in elements {
            pendingPrefix = saved + "  - "
            body(&self, element)
        }
        indent = saved
    }

    private mutating func line(_ content: String) {
        text += (pendingPrefix ?? indent) + content + "\n"
        pendingPrefix = nil
    }

    /// A string as a plain scalar when it cannot be read as anything else, otherwise double-quoted.
    static func string(_ value: String) -> String {
        isSafePlain(value) ? value : doubleQuoted(value)
    }

    /// A list of strings in flow style: `[a, "b c"]`.
    static func flowList(_ values: [String]) -> String {
        "[" + values.map(string).joined(separator: ", ") + "]"
    }

    /// Whole numbers without a fraction (`4`), others in Swift's shortest exact form (`1.5`).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private static func isSafePlain(_ value: String) -> Bool {
        guard let first = value.unicodeScalars.first else { return false }
        let allowed: (Unicode.Scalar) -> Bool = { scalar in
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "/", "-", "+", "@": true
            default: false
            }
        }
        // `@` and `` ` `` are reserved and `-`, `+` read as numbers or list items: none may start a plain scalar.
        guard value.unicodeScalars.allSatisfy(allowed), !["-", "+", "@"].contains(first) else { return false }
        // Text a YAML reader would take for null, a boolean or a number must be quoted to stay a string.
        let reserved: Set<String> = [
            "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no",
            "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
        ]
        if reserved.contains(value) { return false }
        if ConfigDecoder.integer(value) != nil || ConfigDecoder.number(value) != nil { return false }
        if value.hasPrefix(".") && value.dropFirst().allSatisfy({ $0.isLetter }) { return false }   // .inf, .nan
        return true
    }

    private static func doubleQuoted(_ value: String) -> String {
        var body = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": body += "\\\""
            case "\\": body += "\\\\"
            case "\n": body += "\\n"
            case "\t": body += "\\t"
            case "\r": body += "\\r"
            default:
                let v = scalar.value
                let printable = (0x20...0x7E).contains(v) || (0xA0...0xD7FF).contains(v)
                    || ((0xE000...0xFFFD).contains(v) && v != 0xFEFF) || v >= 0x10000
                if printable {
                    body.unicodeScalars.append(scalar)
                } else {
                    let hex = String(v, radix: 16, uppercase: true)
                    body += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                }
            }
        }
        return "\"" + body + "\""
    }
}
