@testable import AlloyLanguage
@testable import Pipeline

/// Decodes one component block from Alloy text the way the graph does: parse, read the arguments with `scope`
/// (the components it references), report attributes left unread, validate. Errors carry the message the operator
/// would see.
enum ComponentConfig {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func decode<Arguments: ComponentArguments>(
        _ type: Arguments.Type, _ config: String, scope: Scope = Scope()
    ) throws -> (id: String, arguments: Arguments) {
        let file: AlloyFile
        do throws(Diagnostics) {
            file = try AlloyParser.parse(name: "test.alloy", text: config)
        } catch {
            throw Problem(description: error.description)
        }
        guard let block = file.body.blocks.first else { throw Problem(description: "no block") }
        let reader = ArgumentReader(block: block, file: file, scope: scope)
        let arguments: Arguments
        do throws(Diagnostic) {
            arguments = try Arguments(reader)
        } catch {
            throw Problem(description: error.description)
        }
        if let unknown = reader.finish().first { throw Problem(description: unknown.description) }
        do throws(ArgumentError) {
            try arguments.validate()
        } catch {
            throw Problem(description: "\(reader.name): \(error.message)")
        }
        return (block.id, arguments)
    }

    /// The problem `config` is refused with, or nil when it is accepted.
    static func problem<Arguments: ComponentArguments>(
        _ type: Arguments.Type, _ config: String, scope: Scope = Scope()
    ) -> String? {
        do {
            _ = try decode(type, config, scope: scope)
            return nil
        } catch {
            return "\(error)"
        }
    }
}
