import AlloyLanguage

/// The components an agent knows, by their Alloy names (`loki.write`).
public struct ComponentRegistry: Sendable {
    let factories: [String: any ComponentFactory]

    public init(_ types: [any Component.Type]) {
        var factories: [String: any ComponentFactory] = [:]
        for type in types {
            let factory = Self.factory(type)
            factories[factory.name] = factory
        }
        self.factories = factories
    }

    private static func factory<C: Component>(_ type: C.Type) -> any ComponentFactory {
        TypedFactory<C>()
    }

    /// Every registered name, sorted.
    public var names: [String] { factories.keys.sorted() }

    func factory(named name: String) -> (any ComponentFactory)? {
        factories[name]
    }
}

/// Creates and drives one kind of component without the graph knowing its type.
protocol ComponentFactory: Sendable {
    var name: String { get }
    /// Decodes and validates arguments; problems come back as diagnostics (unknown attributes included).
    func decode(_ reader: ArgumentReader) -> Result<any Sendable, Diagnostics>
    func make(_ context: ComponentContext, _ arguments: any Sendable) throws -> ComponentHandle
    func equal(_ a: any Sendable, _ b: any Sendable) -> Bool
}

private struct TypedFactory<C: Component>: ComponentFactory {
    var name: String { C.name }

    func decode(_ reader: ArgumentReader) -> Result<any Sendable, Diagnostics> {
        let arguments: C.Arguments
        do throws(Diagnostic) {
            arguments = try C.Arguments(reader)
        } catch {
            return .failure(Diagnostics([error]))
        }
        let unknown = reader.finish()
        if !unknown.isEmpty { return .failure(Diagnostics(unknown)) }
        do throws(ArgumentError) {
            try arguments.validate()
        } catch {
            return .failure(Diagnostics([reader.blockError("\(reader.name): \(error.message)")]))
        }
        return .success(arguments)
    }

    func make(_ context: ComponentContext, _ arguments: any Sendable) throws -> ComponentHandle {
        let component = try C(context: context, arguments: typed(arguments))
        return ComponentHandle(
            update: { try component.update(typed($0)) },
            run: { try await component.run() },
            exports: { component.exports })
    }

    func equal(_ a: any Sendable, _ b: any Sendable) -> Bool {
        (a as? C.Arguments) == (b as? C.Arguments)
    }

    private func typed(_ arguments: any Sendable) -> C.Arguments {
        guard let typed = arguments as? C.Arguments else {
            preconditionFailure("arguments of \(C.name) are only ever decoded by its own factory")
        }
        return typed
    }
}

/// A created component, type-erased for the graph.
struct ComponentHandle: Sendable {
    let update: @Sendable (any Sendable) throws -> Void
    let run: @Sendable () async throws -> Void
    let exports: @Sendable () -> ValueObject
}
