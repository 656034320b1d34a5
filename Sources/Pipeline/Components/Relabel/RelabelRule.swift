import AlloyLanguage
import Crypto
import GoCompat
import Wire

/// One `rule` block of `discovery.relabel`, `loki.relabel` and the sources' `relabel_rules`: Prometheus'
/// `relabel.Config`, with its defaults, validation and semantics (regexes RE2 and fully anchored; `$1`, `${1}`,
/// `$name`, `${name}` references in `target_label` and `replacement`).
public struct RelabelRule: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case replace, keep, drop, hashmod, labelmap, labeldrop, labelkeep, keepequal, dropequal, lowercase, uppercase
    }

    public static let defaultRegex = "(.*)"
    public static let defaultReplacement = "$1"
    public static let defaultSeparator = ";"

    public var sourceLabels: [String]
    public var separator: String
    public var regexSource: String
    public var modulus: UInt64
    public var targetLabel: String
    public var replacement: String
    public var action: Action
    let regex: AnchoredRegex

    /// Reads one `rule` block.
    public init(_ reader: ArgumentReader) throws(Diagnostic) {
        sourceLabels = try reader.stringList("source_labels")
        separator = try reader.string("separator", default: Self.defaultSeparator)
        regexSource = try reader.string("regex", default: Self.defaultRegex)
        let modulusValue = try reader.int("modulus", default: 0)
        guard modulusValue >= 0 else { throw reader.error("modulus", "modulus: must not be negative, got \(modulusValue)") }
        modulus = UInt64(modulusValue)
        targetLabel = try reader.string("target_label", default: "")
        replacement = try reader.string("replacement", default: Self.defaultReplacement)
        let actionName = try reader.string("action", default: Action.replace.rawValue)
        guard let action = Action(rawValue: actionName.lowercased()) else {
            let names = Action.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.error("action", "action: unknown relabel action \(GoQuote.quote(actionName)); expected one of \(names)")
        }
        self.action = action
        do throws(RE2Error) {
            regex = try AnchoredRegex(regexSource)
        } catch {
            throw reader.error("regex", "regex: \(error)")
        }
        if let problem = validationProblem { throw reader.blockError(problem) }
    }

    /// A rule from its parts (tests and callers that build rules in code); nil with the problem when invalid.
    public init(
        sourceLabels: [String] = [], separator: String = defaultSeparator, regex: String = defaultRegex,
        modulus: UInt64 = 0, targetLabel: String = "", replacement: String = defaultReplacement, action: Action = .replace
    ) throws {
        self.sourceLabels = sourceLabels
        self.separator = separator
        regexSource = regex
        self.modulus = modulus
        self.targetLabel = targetLabel
        self.replacement = replacement
        self.action = action
        self.regex = try AnchoredRegex(regex)
        if let problem = validationProblem { throw ArgumentError(problem) }
    }

    public static func == (lhs: RelabelRule, rhs: RelabelRule) -> Bool {
        lhs.sourceLabels == rhs.sourceLabels && lhs.separator == rhs.separator && lhs.regexSource == rhs.regexSource
            && lhs.modulus == rhs.modulus && lhs.targetLabel == rhs.targetLabel && lhs.replacement == rhs.replacement
            && lhs.action == rhs.action
    }

    /// Prometheus' `relabel.Config.Validate`, with its messages.
    private var validationProblem: String? {
        let name = action.rawValue
        let needsTarget: Set<Action> = [.replace, .hashmod, .lowercase, .uppercase, .keepequal, .dropequal]
        if needsTarget.contains(action) && targetLabel.isEmpty {
            return "relabel configuration for \(name) action requires 'target_label' value"
        }
        if action == .replace && !Self.hasReference(targetLabel) && !Self.isValidLabelName(targetLabel) {
            return "\(GoQuote.quote(targetLabel)) is invalid 'target_label' for \(name) action"
        }
        if [.lowercase, .uppercase, .keepequal, .dropequal].contains(action) && !Self.isValidLabelName(targetLabel) {
            return "\(GoQuote.quote(targetLabel)) is invalid 'target_label' for \(name) action"
        }
        if [.keepequal, .dropequal].contains(action)
            && (regexSource != Self.defaultRegex || modulus != 0 || separator != Self.defaultSeparator
                || replacement != Self.defaultReplacement)
        {
            return "\(name) action requires only 'source_labels' and `target_label`, and no other fields"
        }
        if action == .hashmod && modulus == 0 {
            return "relabel configuration for hashmod requires non-zero modulus"
        }
        if [.labeldrop, .labelkeep].contains(action)
            && (!sourceLabels.isEmpty || !targetLabel.isEmpty || modulus != 0 || separator != Self.defaultSeparator
                || replacement != Self.defaultReplacement)
        {
            return "\(name) action requires only 'regex', and no other fields"
        }
        return nil
    }

    /// Prometheus' legacy label name rule: `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func isValidLabelName(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ byte: UInt8) -> Bool {
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
        return letter(first) && name.utf8.dropFirst().allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// Whether a template refers to a group (`$1`, `${name}`).
    static func hasReference(_ template: String) -> Bool {
        template.utf8.contains(UInt8(ascii: "$"))
    }

    // MARK: Applying

    /// Applies the rule to `labels` (a builder keyed by name); false when the rule drops the whole set.
    func apply(to labels: inout [String: String]) -> Bool {
        let value = sourceLabels.map { labels[$0] ?? "" }.joined(separator: separator)
        switch action {
        case .drop:
            if regex.matches(value) { return false }
        case .keep:
            if !regex.matches(value) { return false }
        case .dropequal:
            if (labels[targetLabel] ?? "") == value { return false }
        case .keepequal:
            if (labels[targetLabel] ?? "") != value { return false }
        case .replace:
            // Prometheus' fast path: the default regex on an empty value sets (or with an empty replacement,
            // deletes) the target as written.
            if value.isEmpty && regexSource == Self.defaultRegex && !Self.hasReference(targetLabel)
                && !Self.hasReference(replacement)
            {
                set(&labels, targetLabel, replacement)
                break
            }
            guard let groups = regex.groups(value) else { break }
            let target = regex.expand(targetLabel, groups: groups)
            guard Self.isValidLabelName(target) else { break }
            set(&labels, target, regex.expand(replacement, groups: groups))
        case .lowercase:
            set(&labels, targetLabel, value.lowercased())
        case .uppercase:
            set(&labels, targetLabel, value.uppercased())
        case .hashmod:
            let digest = Array(Insecure.MD5.hash(data: Array(value.utf8)))
            // Prometheus' sum64: the digest's last 8 bytes, big-endian (earlier bytes shift out).
            var sum: UInt64 = 0
            for byte in digest.suffix(8) { sum = sum << 8 | UInt64(byte) }
            set(&labels, targetLabel, String(sum % modulus))
        case .labelmap:
            for (name, labelValue) in labels {
                guard let groups = regex.groups(name) else { continue }
                let mapped = regex.expand(replacement, groups: groups)
                if !mapped.isEmpty { labels[mapped] = labelValue }
            }
        case .labeldrop:
            for name in labels.keys where regex.matches(name) { labels[name] = nil }
        case .labelkeep:
            for name in labels.keys where !regex.matches(name) { labels[name] = nil }
        }
        return true
    }

    private func set(_ labels: inout [String: String], _ name: String, _ value: String) {
        labels[name] = value.isEmpty ? nil : value
    }
}

extension RelabelRule {
    /// Applies `rules` in order to `labels`; nil when a rule drops them, or when no label is left.
    public static func process(_ rules: [RelabelRule], _ pairs: [LabelPair]) -> [LabelPair]? {
        guard !rules.isEmpty else { return pairs }
        var labels: [String: String] = [:]
        for pair in pairs { labels[pair.name] = pair.value }
        for rule in rules {
            guard rule.apply(to: &labels) else { return nil }
        }
        guard !labels.isEmpty else { return nil }
        return labels.map { LabelPair(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
    }

    /// Reads the `rule` blocks of a component, in order.
    public static func rules(_ reader: ArgumentReader) throws(Diagnostic) -> [RelabelRule] {
        var rules: [RelabelRule] = []
        for block in reader.blocks("rule") { rules.append(try RelabelRule(block)) }
        return rules
    }
}

/// The `rules` export: a list of rules other components take as `relabel_rules` (Alloy's `RelabelRules` capsule).
public final class RelabelRules: Sendable, CapsuleKind {
    public typealias Payload = RelabelRules
    public static let typeName = "RelabelRules"

    public let rules: [RelabelRule]

    public init(_ rules: [RelabelRule]) {
        self.rules = rules
    }

    public var value: Value { .capsule(RelabelRules.self, self) }
}

extension ArgumentReader {
    /// A `relabel_rules` argument: the `rules` export of a `discovery.relabel` or `loki.relabel`.
    public func relabelRules(_ name: String) throws(Diagnostic) -> [RelabelRule] {
        guard let value = try value(name) else { return [] }
        guard case .capsule(let capsule) = value, let rules = capsule.payload(RelabelRules.self) else {
            throw error(name, "\(name): expected RelabelRules (e.g. discovery.relabel.NAME.rules), got \(value.typeName)")
        }
        return rules.rules
    }
}
