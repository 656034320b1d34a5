@testable import AlloyLanguage

/// Evaluates one expression; on failure returns the diagnostic.
func evaluate(_ text: String, _ variables: [String: Value] = [:]) -> Result<Value, Diagnostic> {
    let parsed: (file: AlloyFile, expression: Expression)
    do {
        parsed = try AlloyParser.parseExpression(text)
    } catch {
        return .failure(error.items.first ?? Diagnostic(file: "", range: SourceRange(at: .start), message: "?", sourceLine: ""))
    }
    do {
        return .success(try Evaluator.evaluate(parsed.expression, in: Scope(variables), file: parsed.file))
    } catch {
        return .failure(error)
    }
}

/// The value of an expression that must evaluate, or a descriptive placeholder that fails comparisons.
func value(_ text: String, _ variables: [String: Value] = [:]) -> Value {
    switch evaluate(text, variables) {
    case .success(let value): value
    case .failure(let diagnostic): .string("<error: \(diagnostic.message)>")
    }
}

/// The message of the error an expression must produce, or nil when it evaluates.
func errorMessage(_ text: String, _ variables: [String: Value] = [:]) -> String? {
    if case .failure(let diagnostic) = evaluate(text, variables) { return diagnostic.message }
    return nil
}

/// `line:column: message` for each diagnostic of a text that must fail to parse; empty when it parses.
func parseErrors(_ text: String) -> [String] {
    do {
        _ = try AlloyParser.parse(name: "test.alloy", text: text)
        return []
    } catch {
        return error.items.map { "\($0.range.start.line):\($0.range.start.column): \($0.message)" }
    }
}

final class TestReceiver: Sendable, CapsuleKind {
    typealias Payload = TestReceiver
    static let typeName = "loki.LogsReceiver"
}
