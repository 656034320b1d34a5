extension Stdlib {
    /// The `string` namespace; each function is also available under its old bare name (`format`, `join`, ...).
    static let stringFunctions: [String: Implementation] = [
        "format": format,
        "join": join,
        "replace": replace,
        "split": split,
        "to_lower": { args throws(EvaluationError) in
            .string(try FunctionArguments(args, count: 1).string(0).lowercased())
        },
        "to_upper": { args throws(EvaluationError) in
            .string(try FunctionArguments(args, count: 1).string(0).uppercased())
        },
        "trim": trim,
        "trim_prefix": { args throws(EvaluationError) in
            let arguments = try FunctionArguments(args, count: 2)
            let text = Array(try arguments.string(0).utf8)
            let prefix = Array(try arguments.string(1).utf8)
            guard text.starts(with: prefix) else { return .string(String(decoding: text, as: UTF8.self)) }
            return .string(String(decoding: text[prefix.count...], as: UTF8.self))
        },
        "trim_suffix": { args throws(EvaluationError) in
            let arguments = try FunctionArguments(args, count: 2)
            let text = Array(try arguments.string(0).utf8)
            let suffix = Array(try arguments.string(1).utf8)
            guard text.count >= suffix.count, text[(text.count - suffix.count)...].elementsEqual(suffix) else {
                return .string(String(decoding: text, as: UTF8.self))
            }
            return .string(String(decoding: text[..<(text.count - suffix.count)], as: UTF8.self))
        },
        "trim_space": { args throws(EvaluationError) in
            let scalars = try FunctionArguments(args, count: 1).string(0).unicodeScalars
            return .string(trimScalars(scalars) { $0.properties.isWhitespace })
        },
    ]

    /// `string.format(spec, values...)`. Formatting a secret yields a secret, so it is never shown.
    private static let format: Implementation = { args throws(EvaluationError) in
        guard let first = args.first else {
            throw EvaluationError(message: "expected at least 1 argument (the format), got 0")
        }
        let spec: String
        switch first {
        case .string(let text): spec = text
        default: throw FunctionArguments(args).typeError(0, expected: "string")
        }
        let values = Array(args.dropFirst())
        let text = try StringFormat.format(spec, values)
        return values.contains { if case .secret = $0 { true } else { false } } ? .secret(text) : .string(text)
    }

    private static let join: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 2)
        return .string(try arguments.strings(0).joined(separator: try arguments.string(1)))
    }

    /// Go's `strings.ReplaceAll`: an empty `old` inserts `new` before every character and at the end.
    private static let replace: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 3)
        let text = try arguments.string(0)
        let old = try arguments.string(1)
        let new = try arguments.string(2)
        if old.isEmpty {
            var out = new
            for scalar in text.unicodeScalars {
                out.unicodeScalars.append(scalar)
                out += new
            }
            return .string(out)
        }
        let pieces = splitBytes(Array(text.utf8), Array(old.utf8))
        return .string(pieces.map { String(decoding: $0, as: UTF8.self) }.joined(separator: new))
    }

    /// Go's `strings.Split`: every piece between separators, empty ones included; an empty separator splits
    /// into characters.
    private static let split: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 2)
        let text = try arguments.string(0)
        let separator = try arguments.string(1)
        if separator.isEmpty {
            return .array(text.unicodeScalars.map { .string(String($0)) })
        }
        return .array(splitBytes(Array(text.utf8), Array(separator.utf8)).map { .string(String(decoding: $0, as: UTF8.self)) })
    }

    /// Go's `strings.Trim`: drops leading and trailing characters that appear in the cutset.
    private static let trim: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 2)
        let text = try arguments.string(0)
        let cutset = Set(try arguments.string(1).unicodeScalars)
        return .string(trimScalars(text.unicodeScalars) { cutset.contains($0) })
    }

    static func trimScalars(_ scalars: String.UnicodeScalarView, where drop: (Unicode.Scalar) -> Bool) -> String {
        guard let first = scalars.firstIndex(where: { !drop($0) }), let last = scalars.lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// Splits `bytes` at every non-overlapping occurrence of the non-empty `separator`.
    static func splitBytes(_ bytes: [UInt8], _ separator: [UInt8]) -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i + separator.count <= bytes.count {
            if bytes[i] == separator[0], bytes[i..<(i + separator.count)].elementsEqual(separator) {
                pieces.append(bytes[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        pieces.append(bytes[start...])
        return pieces
    }
}
