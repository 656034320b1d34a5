import GoCompat

/// Alloy's standard library: the namespaces `array`, `coalesce`, `constants`, `convert`, `encoding`, `file`,
/// `json_path`, `string` and `sys`, plus the bare names Alloy still accepts for backward compatibility
/// (`env`, `concat`, `format`, `json_decode`, ...). Function errors are messages for the evaluator to position.
public enum Stdlib {
    public static let globals: [String: Value] = {
        var globals: [String: Value] = [
            "constants": constants,
            "coalesce": function("coalesce", coalesce),
            "json_path": function("json_path", jsonPath),
            "sys": namespace("sys", ["env": env]),
            "convert": namespace("convert", ["nonsensitive": nonsensitive]),
            "array": namespace("array", ["concat": concat, "combine_maps": combineMaps]),
            "encoding": namespace(
                "encoding",
                [
                    "from_json": fromJSON, "from_yaml": fromYAML,
                    "from_base64": { args throws(EvaluationError) in try fromBase64(args, urlSafe: false) },
                    "from_URLbase64": { args throws(EvaluationError) in try fromBase64(args, urlSafe: true) },
                    "to_base64": { args throws(EvaluationError) in try toBase64(args, urlSafe: false) },
                    "to_URLbase64": { args throws(EvaluationError) in try toBase64(args, urlSafe: true) },
                    "to_json": toJSON, "url_encode": urlEncode, "url_decode": urlDecode,
                ]),
            "string": namespace("string", stringFunctions),
            "file": namespace("file", ["path_join": pathJoin]),
        ]
        // Names from before the namespaces existed; Alloy still accepts them.
        let deprecated: [String: Implementation] = [
            "env": env, "nonsensitive": nonsensitive, "concat": concat, "json_decode": fromJSON,
            "yaml_decode": fromYAML,
            "base64_decode": { args throws(EvaluationError) in try fromBase64(args, urlSafe: false) },
        ]
        for (name, implementation) in deprecated {
            globals[name] = function(name, implementation)
        }
        for (name, implementation) in stringFunctions {
            globals[name] = function(name, implementation)
        }
        return globals
    }()

    /// The old bare names, each with the namespaced name that replaces it.
    public static let deprecatedAliases: [String: String] = [
        "env": "sys.env", "nonsensitive": "convert.nonsensitive", "concat": "array.concat",
        "json_decode": "encoding.from_json", "yaml_decode": "encoding.from_yaml",
        "base64_decode": "encoding.from_base64", "format": "string.format", "join": "string.join",
        "replace": "string.replace", "split": "string.split", "to_lower": "string.to_lower",
        "to_upper": "string.to_upper", "trim": "string.trim", "trim_prefix": "string.trim_prefix",
        "trim_suffix": "string.trim_suffix", "trim_space": "string.trim_space",
    ]

    /// `constants.version`: the version reported to configs.
    public static let version = "v0.0.0"

    typealias Implementation = @Sendable ([Value]) throws(EvaluationError) -> Value

    static func function(_ name: String, _ implementation: @escaping Implementation) -> Value {
        .function(AlloyFunction(name: name, call: implementation))
    }

    private static func namespace(_ name: String, _ functions: [String: Implementation]) -> Value {
        .object(ValueObject(functions.sorted { $0.key < $1.key }.map { ($0.key, function(name + "." + $0.key, $0.value)) }))
    }

    // MARK: constants, sys, convert, coalesce

    private static let constants: Value = .object(
        ValueObject([
            ("hostname", .string(CLibrary.hostname())),
            ("os", .string(operatingSystem)),
            ("arch", .string(architecture)),
            ("version", .string(version)),
        ]))

    /// Go's `runtime.GOOS` name for this platform.
    static var operatingSystem: String {
        #if os(Linux)
        "linux"
        #elseif os(macOS) || os(iOS) || os(tvOS) || os(watchOS) || os(visionOS)
        "darwin"
        #elseif os(Windows)
        "windows"
        #elseif os(FreeBSD)
        "freebsd"
        #else
        "unknown"
        #endif
    }

    /// Go's `runtime.GOARCH` name for this platform.
    static var architecture: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #elseif arch(i386)
        "386"
        #elseif arch(arm)
        "arm"
        #elseif arch(s390x)
        "s390x"
        #elseif arch(powerpc64le)
        "ppc64le"
        #else
        "unknown"
        #endif
    }

    private static let env: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        return .string(CLibrary.environment(try arguments.string(0)) ?? "")
    }

    private static let nonsensitive: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 1)
        switch args[0] {
        case .secret(let text), .string(let text): return .string(text)
        default: throw arguments.typeError(0, expected: "secret")
        }
    }

    /// The first argument that is neither null nor empty (false, 0, "", [], {}); the last argument otherwise.
    private static let coalesce: Implementation = { args throws(EvaluationError) in
        for argument in args {
            switch argument {
            case .null: continue
            case .bool(false): continue
            case .number(let number) where number.isEqual(to: .int(0)): continue
            case .string(let text) where text.isEmpty: continue
            case .secret(let text) where text.isEmpty: continue
            case .array(let elements) where elements.isEmpty: continue
            case .object(let object) where object.isEmpty: continue
            default: return argument
            }
        }
        return args.last ?? .null
    }

    // MARK: array

    private static let concat: Implementation = { args throws(EvaluationError) in
        let arguments = FunctionArguments(args)
        var result: [Value] = []
        for index in args.indices {
            result += try arguments.array(index)
        }
        return .array(result)
    }

    /// `array.combine_maps(left, right, keys)`: every merge of a left and a right object that agree on all `keys`,
    /// the right object's values winning. (Experimental in Alloy.)
    private static let combineMaps: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 3)
        func objects(_ index: Int) throws(EvaluationError) -> [ValueObject] {
            var result: [ValueObject] = []
            for element in try arguments.array(index) {
                guard case .object(let object) = element else {
                    throw EvaluationError(
                        message: "expected array of objects, got an element \(element.summary)", argumentIndex: index)
                }
                result.append(object)
            }
            return result
        }
        let left = try objects(0)
        let right = try objects(1)
        var keys: [String] = []
        for key in try arguments.array(2) {
            guard case .string(let name) = key else {
                throw EvaluationError(message: "expected array of strings, got an element \(key.summary)", argumentIndex: 2)
            }
            keys.append(name)
        }
        guard !keys.isEmpty else {
            throw EvaluationError(message: "merge conditions must not be empty", argumentIndex: 2)
        }
        var result: [Value] = []
        for l in left {
            for r in right where keys.allSatisfy({ key in l[key].flatMap { lv in r[key].map { $0 == lv } } ?? false }) {
                var merged = l
                for (key, value) in r.pairs { merged[key] = value }
                result.append(.object(merged))
            }
        }
        return .array(result)
    }

    // MARK: file

    /// Go's `filepath.Join`: the non-empty elements joined with `/` and cleaned.
    private static let pathJoin: Implementation = { args throws(EvaluationError) in
        let arguments = FunctionArguments(args)
        var parts: [String] = []
        for index in args.indices {
            let part = try arguments.string(index)
            if !part.isEmpty { parts.append(part) }
        }
        return .string(parts.isEmpty ? "" : cleanPath(parts.joined(separator: "/")))
    }

    /// Go's `path.Clean`.
    static func cleanPath(_ path: String) -> String {
        guard !path.isEmpty else { return "." }
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append(part)
                }
            default: parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

/// Checked access to a function's arguments, producing messages that name the argument.
struct FunctionArguments {
    let values: [Value]

    init(_ values: [Value]) {
        self.values = values
    }

    init(_ values: [Value], count: Int) throws(EvaluationError) {
        guard values.count == count else {
            throw EvaluationError(
                message: "expected \(count) argument\(count == 1 ? "" : "s"), got \(values.count)")
        }
        self.values = values
    }

    init(_ values: [Value], count: ClosedRange<Int>) throws(EvaluationError) {
        guard count.contains(values.count) else {
            throw EvaluationError(
                message: "expected \(count.lowerBound) to \(count.upperBound) arguments, got \(values.count)")
        }
        self.values = values
    }

    func typeError(_ index: Int, expected: String) -> EvaluationError {
        let value = values[index]
        var message = "argument \(index + 1): expected \(expected), got \(value.summary)"
        if case .secret = value {
            message += "; use convert.nonsensitive to turn a secret into a string"
        }
        return EvaluationError(message: message, argumentIndex: index)
    }

    /// A string argument; numbers are converted to their text, as Alloy does when decoding into a string.
    func string(_ index: Int) throws(EvaluationError) -> String {
        switch values[index] {
        case .string(let text): return text
        case .number(let number): return number.plainText
        default: throw typeError(index, expected: "string")
        }
    }

    func array(_ index: Int) throws(EvaluationError) -> [Value] {
        guard case .array(let elements) = values[index] else {
            throw typeError(index, expected: "array")
        }
        return elements
    }

    /// An array of strings (numbers converted to text).
    func strings(_ index: Int) throws(EvaluationError) -> [String] {
        var result: [String] = []
        for element in try array(index) {
            switch element {
            case .string(let text): result.append(text)
            case .number(let number): result.append(number.plainText)
            default:
                throw EvaluationError(
                    message: "argument \(index + 1): expected array of strings, got an element \(element.summary)",
                    argumentIndex: index)
            }
        }
        return result
    }
}

extension Number {
    /// The number as plain text, as Go prints it: integers in decimal, integral floats without a fraction.
    var plainText: String {
        switch self {
        case .int(let value): return String(value)
        case .uint(let value): return String(value)
        case .float(let value):
            if value.isFinite, value.rounded() == value, abs(value) < 1e21 {
                return String(Int128(value))
            }
            return GoFormat.shortestFloat(value, verb: "g")
        }
    }
}
