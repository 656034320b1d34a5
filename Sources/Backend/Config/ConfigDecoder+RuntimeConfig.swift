import Wire
import Yams

extension ConfigDecoder {
    /// `runtime_config`.
    mutating func decodeRuntimeConfig(
        _ section: Entry, into runtime: inout BackendConfig.RuntimeConfig
    ) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "file": try readString(entry, into: &runtime.file)
            case "period": try readDuration(entry, into: &runtime.period, minimum: .nanoseconds(1))
            default: ignore(entry, read: LokiKeys.runtimeConfig, loki: LokiKeys.runtimeConfigIgnored)
            }
        }
    }

    /// `limits_config.retention_stream`: a list of `{selector, priority, period}`, validated as Loki does (the
    /// selector holds only label matchers, the period is at least 24h), with Loki's messages.
    mutating func readRetentionStream(_ entry: Entry) throws(ConfigError) -> [RetentionStreamRule] {
        var rules: [RetentionStreamRule] = []
        for (index, item) in try elements(of: entry).enumerated() {
            let path = "\(entry.path)[\(index)]"
            guard case .mapping = item else {
                throw error(at: item, path: path,
                            "expected a retention rule (a mapping with selector:, priority:, period:), got \(found(item))")
            }
            var selector: (text: String, entry: Entry)?
            var priority = 0
            var period: (value: Duration, entry: Entry)?
            for key in try entries(of: item, path: path) {
                switch key.key {
                case "selector":
                    var text = ""
                    try readString(key, into: &text)
                    selector = (text, key)
                case "priority": try readInt(key, into: &priority, range: Int.min...Int.max)
                case "period":
                    var value = Duration.zero
                    try readDuration(key, into: &value)
                    period = (value, key)
                default: ignore(key, read: ["selector", "priority", "period"], loki: [])
                }
            }
            guard let selector else {
                throw error(at: item, path: path,
                            "missing selector: the streams the rule keeps, such as selector: '{namespace=\"dev\"}'")
            }
            let nanoseconds = DurationText.nanoseconds(period?.value ?? .zero)
            guard nanoseconds >= RetentionStreamRule.minimumPeriod else {
                let text = DurationText.prometheusString(nanoseconds)
                if let period { throw error(at: period.entry, "retention period must be >= 24h was \(text)") }
                throw error(at: item, path: path + ".period", "retention period must be >= 24h was \(text)")
            }
            do {
                rules.append(try RetentionStreamRule(selector: selector.text, priority: priority, period: nanoseconds))
            } catch {
                throw self.error(at: selector.entry, "invalid labels matchers: \(error)")
            }
        }
        return rules
    }

    /// The top level of one runtime configuration file: each tenant of `overrides` with its mapping of limits, in
    /// file order. Other keys of Loki's runtime configuration warn.
    mutating func decodeRuntimeFile(_ root: Node?) throws(ConfigError) -> [(tenant: String, limits: Entry)] {
        guard let root, !isNull(root) else { return [] }
        guard case .mapping = root else {
            throw error(at: root, path: "",
                        "expected a mapping with overrides: at the top level of a runtime configuration file, "
                            + "got \(found(root))")
        }
        var tenants: [(tenant: String, limits: Entry)] = []
        for entry in try entries(of: root, path: "") {
            switch entry.key {
            case "overrides":
                for tenant in try entries(of: entry) {
                    if !isNull(tenant.value) {
                        guard case .mapping = tenant.value else {
                            throw error(at: tenant, "expected the tenant's limits (a mapping of limits_config keys), "
                                            + "got \(found(tenant.value))")
                        }
                    }
                    tenants.append((tenant.key, tenant))
                }
            default: ignore(entry, read: LokiKeys.runtimeFile, loki: LokiKeys.runtimeFileIgnored)
            }
        }
        return tenants
    }
}

extension ConfigLoader {
    /// Parses the runtime configuration files, given in order as their paths and bytes, into each tenant's limits:
    /// `limits` (the global `limits_config`) with the keys every file sets for the tenant applied on top, later
    /// files over earlier ones, key by key.
    ///
    /// Tenant keys are read by the same code as `limits_config`, so every limits key works and unknown keys
    /// warn in the same words. Files are not expanded with `-config.expand-env`, as in Loki.
    static func parseRuntimeConfig(
        files: [(path: String, bytes: [UInt8])], limits: BackendConfig.LimitsConfig
    ) throws(ConfigError) -> (tenants: [String: BackendConfig.LimitsConfig], warnings: [ConfigWarning]) {
        var decoders: [ConfigDecoder] = []
        var sections: [(decoder: Int, tenant: String, limits: ConfigDecoder.Entry)] = []
        for (path, bytes) in files {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                let (line, column) = invalidUTF8Position(bytes)
                throw ConfigError(file: path, line: line, column: column,
                                  message: "the runtime configuration file is not valid UTF-8 text")
            }
            let root: Node?
            do {
                root = try Yams.compose(yaml: text)
            } catch {
                throw syntaxError(error, text: text, file: path)
            }
            // expandEnv true only keeps the decoder from suggesting -config.expand-env, which never applies here.
            var decoder = ConfigDecoder(file: path, expandEnv: true)
            for (tenant, entry) in try decoder.decodeRuntimeFile(root) {
                sections.append((decoders.count, tenant, entry))
            }
            decoders.append(decoder)
        }
        var tenants: [String: BackendConfig.LimitsConfig] = [:]
        for section in sections {
            var tenant = tenants[section.tenant] ?? limits
            try decoders[section.decoder].decodeLimits(section.limits, into: &tenant)
            tenants[section.tenant] = tenant
        }
        // Tenants' keys are read after the whole file: put each file's warnings back in file order.
        let warnings = decoders.flatMap { $0.warnings.sorted { ($0.line, $0.column) < ($1.line, $1.column) } }
        return (tenants, warnings)
    }
}
