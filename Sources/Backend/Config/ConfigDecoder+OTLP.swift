import Wire
import Yams

extension ConfigDecoder {
    /// `limits_config.otlp_config`, read onto `config` as Go's YAML reads a struct: keys written replace their
    /// value, keys not written keep it (so a tenant's override keeps what it does not set), lists are replaced
    /// whole. Bad actions, rules with neither or both of `attributes` and `regex`, regexes that do not compile and
    /// `index_label` for scope attributes are refused with Loki's reasons.
    mutating func decodeOTLPConfig(_ section: Entry, into config: inout OTLPConfig) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "resource_attributes":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "ignore_defaults": try readBool(key, into: &config.ignoreDefaults)
                    case "attributes_config":
                        config.resourceAttributes = try readAttributeRules(key, allowIndexLabel: true)
                    default: ignore(key, read: ["ignore_defaults", "attributes_config"], loki: [])
                    }
                }
            case "scope_attributes":
                config.scopeAttributes = try readAttributeRules(entry, allowIndexLabel: false)
            case "log_attributes":
                config.logAttributes = try readAttributeRules(entry, allowIndexLabel: true)
            case "severity_text_as_label": try readBool(entry, into: &config.severityTextAsLabel)
            default: ignore(entry, read: LokiKeys.otlpConfig, loki: [])
            }
        }
    }

    /// A list of `{action, attributes, regex}`; `action` defaults to `structured_metadata`, as in Loki.
    private mutating func readAttributeRules(
        _ entry: Entry, allowIndexLabel: Bool
    ) throws(ConfigError) -> [OTLPAttributeRule] {
        var rules: [OTLPAttributeRule] = []
        for (index, item) in try elements(of: entry).enumerated() {
            let path = "\(entry.path)[\(index)]"
            guard case .mapping = item else {
                throw error(at: item, path: path,
                            "expected an attributes rule (a mapping with action:, and attributes: or regex:), got \(found(item))")
            }
            var rule = OTLPAttributeRule(action: .structuredMetadata)
            var regex: (pattern: String, entry: Entry)?
            for key in try entries(of: item, path: path) {
                switch key.key {
                case "action":
                    var text = ""
                    try readString(key, into: &text)
                    guard let action = OTLPAttributeRule.Action(rawValue: text.isEmpty ? "structured_metadata" : text) else {
                        throw error(at: key, "unsupported action \(quote(text)), it must be one of: drop, index_label, structured_metadata")
                    }
                    guard action != .indexLabel || allowIndexLabel else {
                        throw error(at: key, "index_label action is only supported for resource_attributes and log_attributes")
                    }
                    rule.action = action
                case "attributes": rule.attributes = try readStringList(key)
                case "regex":
                    var text = ""
                    try readString(key, into: &text)
                    if !text.isEmpty { regex = (text, key) }
                default: ignore(key, read: ["action", "attributes", "regex"], loki: [])
                }
            }
            if let regex {
                guard rule.attributes.isEmpty else {
                    throw error(at: item, path: path, "only one of attributes or regex must be set")
                }
                do {
                    rule.regex = try OTLPAttributeRegex(regex.pattern)
                } catch {
                    throw self.error(at: regex.entry, "invalid regex \(quote(regex.pattern)): \(error)")
                }
            } else if rule.attributes.isEmpty {
                throw error(at: item, path: path, "attributes or regex must be set")
            }
            rules.append(rule)
        }
        return rules
    }

    /// A list of strings (`[a, b]` or block style).
    mutating func readStringList(_ entry: Entry) throws(ConfigError) -> [String] {
        var values: [String] = []
        for (index, item) in try elements(of: entry).enumerated() {
            let element = Entry(key: entry.key, path: "\(entry.path)[\(index)]", keyNode: item, value: item)
            var text = ""
            try readString(element, into: &text)
            values.append(text)
        }
        return values
    }

    /// `distributor`: only `otlp_config.default_resource_attributes_as_index_labels` is read.
    mutating func decodeDistributor(_ section: Entry, defaultIndexLabels: inout [String]?) throws(ConfigError) {
        for entry in try entries(of: section) {
            switch entry.key {
            case "otlp_config":
                for key in try entries(of: entry) {
                    switch key.key {
                    case "default_resource_attributes_as_index_labels": defaultIndexLabels = try readStringList(key)
                    default: ignore(key, read: ["default_resource_attributes_as_index_labels"],
                                    loki: ["defer_attribute_expansion"])
                    }
                }
            default: ignore(entry, read: ["otlp_config"], loki: LokiKeys.distributorIgnored)
            }
        }
    }
}
