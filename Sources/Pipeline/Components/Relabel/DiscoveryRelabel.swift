import AlloyLanguage
import Synchronization
import Wire

/// `discovery.relabel`: rewrites a list of targets with `rule` blocks (Prometheus relabeling). Exports `output`,
/// the targets that were kept, and `rules`, for components that take `relabel_rules`.
public final class DiscoveryRelabel: Component {
    public static let name = "discovery.relabel"

    public struct Arguments: ComponentArguments {
        public var targets: [Target]
        public var rules: [RelabelRule]

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("targets")
            targets = try reader.targets("targets")
            rules = try RelabelRule.rules(reader)
        }
    }

    private let context: ComponentContext
    private let state: Mutex<ValueObject>

    public var exports: ValueObject { state.withLock { $0 } }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(ValueObject())
        state.withLock { $0 = Self.exports(for: arguments) }
    }

    public func update(_ arguments: Arguments) throws {
        let new = Self.exports(for: arguments)
        let changed = state.withLock { current -> Bool in
            guard current != new else { return false }
            current = new
            return true
        }
        if changed { context.exportsChanged(new) }
    }

    static func relabel(_ targets: [Target], _ rules: [RelabelRule]) -> [Target] {
        targets.compactMap { target in RelabelRule.process(rules, target.pairs).map { Target(pairs: $0) } }
    }

    private static func exports(for arguments: Arguments) -> ValueObject {
        ValueObject([
            ("output", relabel(arguments.targets, arguments.rules).value),
            ("rules", RelabelRules(arguments.rules).value),
        ])
    }
}
