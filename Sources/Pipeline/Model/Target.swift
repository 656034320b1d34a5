import AlloyLanguage
import Wire

/// A discovery target: Alloy's `discovery.Target`, a set of labels such as `__path__`, `__address__` or
/// `__meta_kubernetes_pod_name`. Targets flow between `discovery.*`, `local.file_match` and `loki.source.*`
/// components as `list(map(string))` values.
public struct Target: Sendable, Hashable, CustomStringConvertible {
    /// Sorted by name, names unique.
    public private(set) var pairs: [LabelPair]

    public init(_ labels: [String: String]) {
        pairs = labels.map { LabelPair(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
    }

    public init(pairs: [LabelPair]) {
        var byName: [String: String] = [:]
        for pair in pairs { byName[pair.name] = pair.value }
        self.init(byName)
    }

    /// A label's value; setting nil removes it.
    public subscript(name: String) -> String? {
        get { pairs.first { $0.name == name }?.value }
        set {
            let index = pairs.firstIndex { $0.name >= name } ?? pairs.endIndex
            let present = index < pairs.endIndex && pairs[index].name == name
            switch (newValue, present) {
            case (let value?, true): pairs[index].value = value
            case (let value?, false): pairs.insert(LabelPair(name: name, value: value), at: index)
            case (nil, true): pairs.remove(at: index)
            case (nil, false): break
            }
        }
    }

    /// The labels whose names do not start with `__`: what a source attaches to the entries it reads.
    public var publicLabels: [LabelPair] {
        pairs.filter { !$0.name.hasPrefix("__") }
    }

    /// The target as an Alloy object value.
    public var value: Value {
        .object(ValueObject(pairs.map { ($0.name, .string($0.value)) }))
    }

    public var description: String { LabelSet(pairs).description }
}

extension Array where Element == Target {
    /// The targets as an Alloy `list(map(string))` value.
    public var value: Value { .array(map(\.value)) }
}

extension ArgumentReader {
    /// A `list(map(string))` of targets (`targets = local.file_match.pods.targets`).
    public func targets(_ name: String) throws(Diagnostic) -> [Target] {
        guard let value = try value(name) else { return [] }
        guard case .array(let items) = value else {
            throw error(name, "\(name): expected list(map(string)), got \(value.typeName)")
        }
        var targets: [Target] = []
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else {
                throw error(name, "\(name)[\(index)]: expected map(string), got \(item.typeName)")
            }
            var labels: [String: String] = [:]
            for (key, labelValue) in object.pairs {
                guard case .string(let text) = labelValue else {
                    throw error(name, "\(name)[\(index)].\(key): expected string, got \(labelValue.typeName)")
                }
                labels[key] = text
            }
            targets.append(Target(labels))
        }
        return targets
    }
}
