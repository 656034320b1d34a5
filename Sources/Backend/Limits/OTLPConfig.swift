import Wire

/// `limits_config.otlp_config`: what the OTLP endpoint (`/otlp/v1/logs`) does with each attribute, as Loki's
/// `push.OTLPConfig`.
///
/// A resource attribute becomes an index label, structured metadata or nothing, by the first rule that names it or
/// whose regex matches it; scope and log attributes likewise (scope attributes cannot be index labels). An
/// attribute no rule matches is structured metadata. Unless `ignoreDefaults`, the resource rules start with
/// `index_label` for `distributor.otlp_config.default_resource_attributes_as_index_labels`.
public struct OTLPConfig: Sendable, Equatable {
    /// `resource_attributes.ignore_defaults`.
    public var ignoreDefaults = false
    /// `resource_attributes.attributes_config`, in the order written.
    public var resourceAttributes: [OTLPAttributeRule] = []
    /// `scope_attributes`.
    public var scopeAttributes: [OTLPAttributeRule] = []
    /// `log_attributes`.
    public var logAttributes: [OTLPAttributeRule] = []
    /// `severity_text_as_label`: also make `severity_text` an index label (Loki advises against it).
    public var severityTextAsLabel = false
    /// `distributor.otlp_config.default_resource_attributes_as_index_labels`: not a per-tenant key; the decoder
    /// copies it here so that every tenant's limits carry it.
    public var defaultIndexLabels: [String] = OTLPConfig.lokiDefaultIndexLabels

    public init() {}

    /// Loki 3's default `default_resource_attributes_as_index_labels`.
    public static let lokiDefaultIndexLabels = [
        "service.name", "service.namespace", "service.instance.id", "deployment.environment",
        "deployment.environment.name", "cloud.region", "cloud.availability_zone", "k8s.cluster.name",
        "k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "container.name", "k8s.replicaset.name",
        "k8s.deployment.name", "k8s.statefulset.name", "k8s.daemonset.name", "k8s.cronjob.name", "k8s.job.name",
    ]

    /// What to do with a resource attribute called `name`.
    public func action(forResource name: String) -> OTLPAttributeRule.Action {
        if !ignoreDefaults, defaultIndexLabels.contains(name) { return .indexLabel }
        return Self.action(for: name, in: resourceAttributes)
    }

    public func action(forScope name: String) -> OTLPAttributeRule.Action {
        Self.action(for: name, in: scopeAttributes)
    }

    public func action(forLog name: String) -> OTLPAttributeRule.Action {
        Self.action(for: name, in: logAttributes)
    }

    /// Loki's `actionForAttribute`: the first rule whose regex matches or whose list holds the name.
    private static func action(for name: String, in rules: [OTLPAttributeRule]) -> OTLPAttributeRule.Action {
        for rule in rules where rule.matches(name) { return rule.action }
        return .structuredMetadata
    }
}

/// One entry of an `attributes_config`, `scope_attributes` or `log_attributes` list.
public struct OTLPAttributeRule: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable {
        case indexLabel = "index_label"
        case structuredMetadata = "structured_metadata"
        case drop
    }

    public var action: Action
    /// `attributes`: exact names. Empty when `regex` is set (Loki refuses both, or neither).
    public var attributes: [String]
    /// `regex`: a pattern anchored at both ends, as Prometheus' `relabel.Regexp`.
    public var regex: OTLPAttributeRegex?

    public init(action: Action, attributes: [String] = [], regex: OTLPAttributeRegex? = nil) {
        self.action = action
        self.attributes = attributes
        self.regex = regex
    }

    func matches(_ name: String) -> Bool {
        if let regex, regex.matches(name) { return true }
        return attributes.contains(name)
    }
}

/// A compiled `regex` of an attribute rule; equal when the patterns are.
public struct OTLPAttributeRegex: Sendable, Equatable {
    public let pattern: String
    private let compiled: RE2Regex

    /// Compiles `pattern` as RE2, anchored at both ends (`^(?:pattern)$`).
    public init(_ pattern: String) throws(RE2Error) {
        self.pattern = pattern
        compiled = try RE2Regex("^(?:" + pattern + ")$", dotMatchesNewline: false)
    }

    func matches(_ name: String) -> Bool { compiled.wholeMatch(name) }

    public static func == (lhs: OTLPAttributeRegex, rhs: OTLPAttributeRegex) -> Bool { lhs.pattern == rhs.pattern }
}
