import AlloyLanguage
import Wire

/// The shape of a configuration: its components, what each references, and an order to evaluate them in.
///
/// Built before anything runs, so that an unknown component, a duplicate label, a reference to a component that
/// does not exist and a reference cycle are all start-up (or reload) errors, reported together with positions.
struct GraphPlan: Sendable {
    struct Node: Sendable {
        let id: String
        let block: Block
        let factory: any ComponentFactory
        /// Ids of the components this one references, sorted.
        let dependencies: [String]
    }

    let file: AlloyFile
    let nodes: [String: Node]
    /// Dependencies before dependants; ties in file order.
    let order: [String]
    /// The top-level `logging` block, if any (read by the agent, not a component).
    let logging: Block?

    /// Top-level blocks that configure the agent itself rather than run as components.
    static let configurationBlocks: Set<String> = ["logging"]

    static func build(_ file: AlloyFile, registry: ComponentRegistry) throws(Diagnostics) -> GraphPlan {
        var problems: [Diagnostic] = []
        var blocks: [(id: String, block: Block, factory: any ComponentFactory)] = []
        var firstSeen: [String: SourceRange] = [:]
        var logging: Block?

        for statement in file.body.statements {
            switch statement {
            case .attribute(let attribute):
                problems.append(file.diagnostic(
                    attribute.nameRange,
                    "unexpected attribute \(GoQuote.quote(attribute.name)) at the top level: only blocks (components) may appear here"))
            case .block(let block):
                if configurationBlocks.contains(block.fullName) {
                    if block.label != nil {
                        problems.append(file.diagnostic(block.nameRange, "block \(block.fullName) does not take a label"))
                    } else if logging != nil {
                        problems.append(file.diagnostic(block.nameRange, "block \(block.fullName) may only be given once"))
                    }
                    logging = block
                    continue
                }
                guard let factory = registry.factory(named: block.fullName) else {
                    problems.append(file.diagnostic(
                        block.nameRange, "unrecognized component name \(GoQuote.quote(block.fullName))" + suggestion(block.fullName, registry)))
                    continue
                }
                guard let label = block.label else {
                    problems.append(file.diagnostic(
                        block.nameRange, "component \(GoQuote.quote(block.fullName)) must have a label, e.g. \(block.fullName) \"default\" { ... }"))
                    continue
                }
                if !isValidLabel(label) {
                    problems.append(file.diagnostic(
                        block.labelRange ?? block.nameRange,
                        "component label \(GoQuote.quote(label)) must start with a letter or underscore and contain only letters, digits and underscores"))
                    continue
                }
                if let first = firstSeen[block.id] {
                    problems.append(file.diagnostic(
                        block.nameRange, "component \(block.id) declared more than once (first declared at \(file.name):\(first.start))"))
                    continue
                }
                firstSeen[block.id] = block.nameRange
                blocks.append((block.id, block, factory))
            }
        }

        let ids = Set(blocks.map(\.id))
        var nodes: [String: Node] = [:]
        for (id, block, factory) in blocks {
            var dependencies = Set<String>()
            for reference in block.body.references {
                if let target = componentID(for: reference.path, in: ids) {
                    dependencies.insert(target)
                } else if Stdlib.globals[reference.path[0]] == nil {
                    problems.append(file.diagnostic(
                        reference.range,
                        "component \(GoQuote.quote(reference.path.joined(separator: "."))) does not exist or is out of scope"))
                }
            }
            nodes[id] = Node(id: id, block: block, factory: factory, dependencies: dependencies.sorted())
        }

        let fileOrder = blocks.map(\.id)
        let (order, cycle) = topologicalOrder(fileOrder, nodes)
        if let cycle {
            let node = nodes[cycle[0]]
            problems.append(file.diagnostic(
                node?.block.nameRange ?? SourceRange(start: .start, end: .start),
                "cycle detected: \(cycle.joined(separator: " -> ")) -> \(cycle[0])"))
        }
        if !problems.isEmpty { throw Diagnostics(problems) }
        return GraphPlan(file: file, nodes: nodes, order: order, logging: logging)
    }

    /// The component a reference path names: the longest prefix of the path that is a component id
    /// (`loki.write.default.receiver` → `loki.write.default`).
    static func componentID(for path: [String], in ids: Set<String>) -> String? {
        guard path.count >= 2 else { return nil }
        for length in stride(from: path.count, through: 2, by: -1) {
            let candidate = path[0..<length].joined(separator: ".")
            if ids.contains(candidate) { return candidate }
        }
        return nil
    }

    /// Dependencies first (depth-first, visiting in file order), or the first cycle found.
    private static func topologicalOrder(_ fileOrder: [String], _ nodes: [String: Node]) -> ([String], [String]?) {
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var order: [String] = []
        var stack: [String] = []

        func visit(_ id: String) -> [String]? {
            switch marks[id] {
            case .done: return nil
            case .visiting:
                guard let start = stack.firstIndex(of: id) else { return [id] }
                return Array(stack[start...])
            case nil: break
            }
            marks[id] = .visiting
            stack.append(id)
            for dependency in nodes[id]?.dependencies ?? [] {
                if let cycle = visit(dependency) { return cycle }
            }
            stack.removeLast()
            marks[id] = .done
            order.append(id)
            return nil
        }

        for id in fileOrder {
            if let cycle = visit(id) { return (order, cycle) }
        }
        return (order, nil)
    }

    private static func isValidLabel(_ label: String) -> Bool {
        guard let first = label.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else { return false }
        return label.unicodeScalars.allSatisfy { $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }

    private static func suggestion(_ name: String, _ registry: ComponentRegistry) -> String {
        let family = name.split(separator: ".").prefix(2).joined(separator: ".")
        let close = registry.names.filter { $0.hasPrefix(family) }
        guard !close.isEmpty else { return "; known components: \(registry.names.joined(separator: ", "))" }
        return "; did you mean \(close.map { GoQuote.quote($0) }.joined(separator: " or "))?"
    }
}
