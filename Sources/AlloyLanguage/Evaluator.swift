import Wire

/// The variables an expression can refer to. Identifiers resolve in `variables` first, then in the standard
/// library (`Stdlib.globals`).
public struct Scope: Sendable {
    public var variables: [String: Value]

    public init(_ variables: [String: Value] = [:]) {
        self.variables = variables
    }

    public func lookup(_ name: String) -> Value? {
        variables[name] ?? Stdlib.globals[name]
    }
}

/// Evaluates expressions with Alloy's semantics; every error is a `Diagnostic` pointing at the sub-expression
/// responsible, saying what was expected and what was found.
public enum Evaluator {
    public static func evaluate(_ expression: Expression, in scope: Scope, file: AlloyFile) throws(Diagnostic) -> Value {
        let context = EvaluationContext(scope: scope, file: file)
        return try context.evaluate(expression)
    }
}

private struct EvaluationContext {
    let scope: Scope
    let file: AlloyFile

    func fail(_ range: SourceRange, _ message: String) -> Diagnostic {
        file.diagnostic(range, message)
    }

    /// The source text of `expression`, shortened for messages.
    func snippet(_ expression: Expression) -> String {
        var text = file.text(of: expression.range)
        if text.contains("\n") || text.count > 60 {
            text = String(text.prefix { $0 != "\n" }.prefix(57)) + "..."
        }
        return text
    }

    func evaluate(_ expression: Expression) throws(Diagnostic) -> Value {
        switch expression {
        case .literal(let literal):
            return literal.value

        case .identifier(let name, let range):
            guard let value = scope.lookup(name) else {
                throw fail(range, "identifier \(GoQuote.quote(name)) does not exist")
            }
            return value

        case .array(let elements, _):
            var values: [Value] = []
            values.reserveCapacity(elements.count)
            for element in elements {
                values.append(try evaluate(element))
            }
            return .array(values)

        case .object(let fields, _):
            var object = ValueObject()
            for field in fields {
                object[field.name] = try evaluate(field.value)
            }
            return .object(object)

        case .access(let base, let name, let nameRange):
            let value = try evaluate(base)
            switch value {
            case .object(let object):
                guard let field = object[name] else {
                    let known = object.keys.prefix(20).map { GoQuote.quote($0) }.joined(separator: ", ")
                    throw fail(
                        nameRange,
                        "field \(GoQuote.quote(name)) does not exist in \(snippet(base))"
                            + (object.isEmpty ? " (it has no fields)" : " (it has \(known))"))
                }
                return field
            default:
                throw fail(
                    expression.range,
                    "expected object, got \(value.summary): cannot read field \(GoQuote.quote(name)) of \(snippet(base))")
            }

        case .index(let base, let index, _):
            let value = try evaluate(base)
            let key = try evaluate(index)
            switch value {
            case .array(let elements):
                guard case .number(let number) = key else {
                    throw fail(index.range, "expected number, got \(key.summary): arrays are indexed by number")
                }
                let position = number.int64Value ?? Int64(exactly: number.doubleValue.rounded(.towardZero)) ?? -1
                guard position >= 0, position < elements.count else {
                    throw fail(
                        index.range, "index \(number) is out of range of array with length \(elements.count)")
                }
                return elements[Int(position)]
            case .object(let object):
                guard case .string(let name) = key else {
                    throw fail(index.range, "expected string, got \(key.summary): objects are indexed by string")
                }
                // A missing key read with [] is null, unlike a missing field read with `.`.
                return object[name] ?? .null
            default:
                throw fail(base.range, "expected object or array, got \(value.summary): cannot index \(snippet(base))")
            }

        case .call(let function, let arguments, _):
            let callee = try evaluate(function)
            guard case .function(let alloyFunction) = callee else {
                throw fail(function.range, "expected function, got \(callee.summary): cannot call \(snippet(function))")
            }
            var values: [Value] = []
            values.reserveCapacity(arguments.count)
            for argument in arguments {
                values.append(try evaluate(argument))
            }
            do {
                return try alloyFunction.call(values)
            } catch {
                var range = expression.range
                if let index = error.argumentIndex, arguments.indices.contains(index) {
                    range = arguments[index].range
                }
                throw fail(range, "\(alloyFunction.name): \(error.message)")
            }

        case .unary(let op, let operand, _):
            let value = try evaluate(operand)
            do {
                return try ValueOperators.unary(op, value)
            } catch {
                throw fail(error.side == .whole ? expression.range : operand.range, error.message)
            }

        case .binary(let op, let left, let right, _):
            let lhs = try evaluate(left)
            let rhs = try evaluate(right)
            do {
                return try ValueOperators.binary(op, lhs, rhs)
            } catch {
                let range: SourceRange =
                    switch error.side {
                    case .left: left.range
                    case .right: right.range
                    case .whole: expression.range
                    }
                throw fail(range, error.message)
            }

        case .paren(let inner, _):
            return try evaluate(inner)
        }
    }
}
