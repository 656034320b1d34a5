import Wire

extension Value: CustomStringConvertible {
    /// The value in Alloy syntax: `"text"`, `[1, 2]`, `{ a = 1, "b-c" = 2 }`. Secrets show as `(secret)` wherever
    /// they are, so printing a value never reveals one.
    public var description: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .number(let number): out += number.description
        case .string(let text): out += GoQuote.quote(text)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += ", " }
                element.write(to: &out)
            }
            out += "]"
        case .object(let object):
            guard !object.isEmpty else {
                out += "{}"
                return
            }
            out += "{ "
            for (index, pair) in object.pairs.enumerated() {
                if index > 0 { out += ", " }
                out += Self.objectKey(pair.key) + " = "
                pair.value.write(to: &out)
            }
            out += " }"
        case .function(let function): out += "function(\(function.name))"
        case .capsule(let capsule): out += "capsule(\(GoQuote.quote(capsule.typeName)))"
        case .secret: out += "(secret)"
        }
    }

    /// An object key as Alloy writes it: bare when it is an identifier, quoted otherwise.
    static func objectKey(_ key: String) -> String {
        if AlloyLexer.isValidIdentifier(key), key != "true", key != "false", key != "null" {
            return key
        }
        return GoQuote.quote(key)
    }

    /// The type and a short rendering of the value, for error messages: `string "abc"`, `number 1.5`.
    var summary: String {
        switch self {
        case .null: return "null"
        case .secret: return "secret"
        case .function(let function): return "function \(function.name)"
        case .capsule(let capsule): return "capsule \(capsule.typeName)"
        default:
            var text = description
            if text.count > 60 {
                text = String(text.prefix(57)) + "..."
            }
            return "\(typeName) \(text)"
        }
    }
}
