import Crypto
import Wire

/// The part of Go's `text/template` that `stage.template` and `stage.replace` templates use: text with
/// `{{ pipeline }}` actions (`{{-` / `-}}` trim the whitespace beside them), fields `.Name` and `.`, string, number
/// and bool literals, parenthesised pipelines, `|` pipes (the value goes in as the last argument),
/// `{{ if }} {{ else if }} {{ else }} {{ end }}`, and the functions Alloy's docs list: `ToLower`, `ToUpper`,
/// `Replace`, `Trim`, `TrimLeft`, `TrimRight`, `TrimPrefix`, `TrimSuffix`, `TrimSpace`, `Hash`, `Sha2Hash`,
/// `regexReplaceAll`, `regexReplaceAllLiteral`, Go's `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `and`, `or`, `not`, `len`,
/// `print`, `printf` (`%s %d %v %q`), and the common sprig ones `default`, `upper`, `lower`, `trim`, `contains`,
/// `hasPrefix`, `hasSuffix`, `replace`, `trunc`, `quote`, `repeat`, `b64enc`, `b64dec`. A missing field prints
/// `<no value>`, as Go's does for a map.
package struct GoTemplate: Sendable, Equatable {
    package enum Value: Sendable, Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        /// A Go `time.Time` (nanoseconds since the epoch, UTC), from functions such as Loki's `__timestamp__`.
        case time(Int64)
        /// A number, slice or map decoded from JSON (sprig's `fromJson`), printed as Go prints a float64, a
        /// `[]interface{}` or a `map[string]interface{}`.
        case json(GoJSONValue)
        case missing

        var text: String {
            switch self {
            case .string(let text): text
            case .number(let number): GoFloatFormat.fixed(number)
            case .bool(let flag): flag ? "true" : "false"
            case .time(let nanoseconds): GoTemplate.goTimeString(nanoseconds)
            case .json(let value): value.goText
            case .missing: "<no value>"
            }
        }

        /// Go's truth: empty strings, zero, false and missing values are false.
        var isTrue: Bool {
            switch self {
            case .string(let text): !text.isEmpty
            case .number(let number): number != 0
            case .bool(let flag): flag
            case .time: true
            case .json(.number(let number)): number != 0
            case .json(.array(let items)): !items.isEmpty
            case .json(.object(let fields)): !fields.isEmpty
            case .json: true
            case .missing: false
            }
        }

        /// A function's string argument.
        var argument: String {
            if case .missing = self { return "" }
            return text
        }
    }

    package struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
        package let description: String

        package init(description: String) {
            self.description = description
        }
    }

    indirect enum Node: Sendable, Equatable {
        case text(String)
        case action(Pipeline)
        case conditional([(condition: Pipeline, body: [Node])], otherwise: [Node])

        static func == (lhs: Node, rhs: Node) -> Bool {
            switch (lhs, rhs) {
            case (.text(let a), .text(let b)): return a == b
            case (.action(let a), .action(let b)): return a == b
            case (.conditional(let a, let x), .conditional(let b, let y)):
                return x == y && a.count == b.count && zip(a, b).allSatisfy { $0.condition == $1.condition && $0.body == $1.body }
            default: return false
            }
        }
    }

    struct Pipeline: Sendable, Equatable {
        var commands: [[Term]]
    }

    indirect enum Term: Sendable, Equatable {
        case field(String)  // "" is `.`
        case literal(Value)
        case function(String)
        case group(Pipeline)
        /// `(pipeline).key.sub`: map keys looked up in what the group gives.
        case chain(Term, [String])
    }

    let source: String
    let nodes: [Node]
    /// Functions the caller provides at render time (Loki's `line_format` set), besides the built-in ones.
    let extraFunctionNames: Set<String>
    /// Built-in functions this dialect does not have (parsing a call to one fails as an undefined function).
    let excludedFunctionNames: Set<String>

    /// Functions a caller adds: called with the function's name and arguments; nil means "not mine".
    package typealias ExtraFunctions = (String, [Value]) throws(TemplateError) -> Value?

    static let functionNames: Set<String> = [
        "ToLower", "ToUpper", "Replace", "Trim", "TrimLeft", "TrimRight", "TrimPrefix", "TrimSuffix", "TrimSpace",
        "Hash", "Sha2Hash", "regexReplaceAll", "regexReplaceAllLiteral", "eq", "ne", "lt", "le", "gt", "ge", "and", "or",
        "not", "len", "print", "printf", "default", "upper", "lower", "trim", "contains", "hasPrefix", "hasSuffix",
        "replace", "trunc", "quote", "repeat", "b64enc", "b64dec", "index",
    ]

    package init(_ source: String) throws(TemplateError) {
        try self.init(source, extraFunctions: [], excluding: [])
    }

    /// A template for a dialect with other functions: `extraFunctions` are resolved at render time by the
    /// caller's `ExtraFunctions`; `excluding` built-ins are unknown in this dialect.
    package init(_ source: String, extraFunctions: Set<String>, excluding: Set<String>) throws(TemplateError) {
        self.source = source
        self.extraFunctionNames = extraFunctions
        self.excludedFunctionNames = excluding
        var known = GoTemplate.functionNames.subtracting(excluding)
        known.formUnion(extraFunctions)
        var parser = Parser(Array(source.unicodeScalars), functions: known)
        let (nodes, end) = try parser.parseNodes()
        if let end { throw TemplateError(description: "unexpected {{\(end)}}") }
        self.nodes = nodes
    }

    /// Renders with `fields` for `.Name` (and `dot` for `.`).
    package func render(_ fields: (String) -> Value, dot: Value) throws(TemplateError) -> String {
        var out = ""
        try Self.render(nodes, fields, dot, { _, _ throws(TemplateError) in nil }, into: &out)
        return out
    }

    /// Renders with `extra` answering calls to the functions given as `extraFunctions` at init.
    package func render(_ fields: (String) -> Value, dot: Value, extra: ExtraFunctions) throws(TemplateError) -> String {
        var out = ""
        try Self.render(nodes, fields, dot, extra, into: &out)
        return out
    }

    /// The single field a template that is only `{{ .name }}` prints, else nil (callers copy the value directly).
    package var singleField: String? {
        guard nodes.count == 1, case .action(let pipeline) = nodes[0], pipeline.commands.count == 1,
              pipeline.commands[0].count == 1, case .field(let name) = pipeline.commands[0][0], !name.isEmpty
        else { return nil }
        return name
    }

    /// Every `.name` the template reads.
    package var fieldNames: Set<String> {
        var names = Set<String>()
        func visit(_ term: Term) {
            switch term {
            case .field(let name): if !name.isEmpty { names.insert(name) }
            case .group(let inner): visit(inner)
            case .chain(let base, _): visit(base)
            case .literal, .function: break
            }
        }
        func visit(_ pipeline: Pipeline) {
            for command in pipeline.commands {
                for term in command { visit(term) }
            }
        }
        func visit(_ nodes: [Node]) {
            for node in nodes {
                switch node {
                case .text: break
                case .action(let pipeline): visit(pipeline)
                case .conditional(let branches, let otherwise):
                    for branch in branches {
                        visit(branch.condition)
                        visit(branch.body)
                    }
                    visit(otherwise)
                }
            }
        }
        visit(nodes)
        return names
    }

    private static func render(_ nodes: [Node], _ fields: (String) -> Value, _ dot: Value, _ extra: ExtraFunctions, into out: inout String) throws(TemplateError) {
        for node in nodes {
            switch node {
            case .text(let text): out += text
            case .action(let pipeline): out += try evaluate(pipeline, fields, dot, extra).text
            case .conditional(let branches, let otherwise):
                var taken = false
                for branch in branches where try evaluate(branch.condition, fields, dot, extra).isTrue {
                    try render(branch.body, fields, dot, extra, into: &out)
                    taken = true
                    break
                }
                if !taken { try render(otherwise, fields, dot, extra, into: &out) }
            }
        }
    }

    private static func evaluate(_ pipeline: Pipeline, _ fields: (String) -> Value, _ dot: Value, _ extra: ExtraFunctions) throws(TemplateError) -> Value {
        var piped: Value?
        for command in pipeline.commands {
            guard let head = command.first else { throw TemplateError(description: "empty command") }
            if case .function(let name) = head {
                var arguments: [Value] = []
                for term in command.dropFirst() { arguments.append(try value(term, fields, dot, extra)) }
                if let piped { arguments.append(piped) }
                piped = try call(name, arguments, extra)
            } else {
                guard command.count == 1, piped == nil else {
                    throw TemplateError(description: "can't give argument to non-function \(command)")
                }
                piped = try value(head, fields, dot, extra)
            }
        }
        return piped ?? .missing
    }

    private static func value(_ term: Term, _ fields: (String) -> Value, _ dot: Value, _ extra: ExtraFunctions) throws(TemplateError) -> Value {
        switch term {
        case .field(let name): return name.isEmpty ? dot : fields(name)
        case .literal(let value): return value
        case .function(let name): return try call(name, [], extra)
        case .group(let pipeline): return try evaluate(pipeline, fields, dot, extra)
        case .chain(let base, let keys):
            var current = try value(base, fields, dot, extra)
            for key in keys { current = try Self.field(key, of: current) }
            return current
        }
    }

    /// `.key` on a value: a map's entry (missing: Go's zero value, nil); anything else is Go's error.
    private static func field(_ key: String, of value: Value) throws(TemplateError) -> Value {
        switch value {
        case .json(.object(let fields)): return fields[key]?.templateValue ?? .missing
        case .missing: throw TemplateError(description: "nil pointer evaluating interface {}.\(key)")
        default: throw TemplateError(description: "can't evaluate field \(key) in type \(value.goTypeName)")
        }
    }

    /// Go's `index item keys...`: map entries by string key, slice elements by integer.
    private static func index(_ args: [Value]) throws(TemplateError) -> Value {
        guard var current = args.first else { throw TemplateError(description: "wrong number of args for index: want at least 1 got 0") }
        for key in args.dropFirst() {
            switch current {
            case .json(.object(let fields)):
                guard case .string(let name) = key else {
                    throw TemplateError(description: "error calling index: value has type \(key.goTypeName); should be string")
                }
                current = fields[name]?.templateValue ?? .missing
            case .json(.array(let items)):
                let position: Int
                switch key {
                case .number(let number) where number == number.rounded(.towardZero) && number.magnitude < 1e15:
                    position = Int(number)
                case .json(.number(let number)) where number == number.rounded(.towardZero) && number.magnitude < 1e15:
                    position = Int(number)
                default:
                    throw TemplateError(description: "error calling index: cannot index slice/array with type \(key.goTypeName)")
                }
                guard items.indices.contains(position) else {
                    throw TemplateError(description: "error calling index: index out of range: \(position)")
                }
                current = items[position].templateValue
            case .missing:
                throw TemplateError(description: "error calling index: index of untyped nil")
            default:
                throw TemplateError(description: "error calling index: can't index item of type \(current.goTypeName)")
            }
        }
        return current
    }

    private static func call(_ name: String, _ args: [Value], _ extra: ExtraFunctions) throws(TemplateError) -> Value {
        if let answer = try extra(name, args) { return answer }
        return try call(name, args)
    }

    private static func call(_ name: String, _ args: [Value]) throws(TemplateError) -> Value {
        func need(_ count: Int) throws(TemplateError) {
            guard args.count == count else {
                throw TemplateError(description: "wrong number of args for \(name): want \(count) got \(args.count)")
            }
        }
        func number(_ value: Value) -> Double? {
            switch value {
            case .number(let number), .json(.number(let number)): number
            case .string(let text): Double(text)
            case .bool, .time, .json, .missing: nil
            }
        }
        func compare(_ a: Value, _ b: Value) throws(TemplateError) -> Int {
            if let x = number(a), let y = number(b), !(a.isString && b.isString) { return x < y ? -1 : (x > y ? 1 : 0) }
            return a.argument < b.argument ? -1 : (a.argument > b.argument ? 1 : 0)
        }
        switch name {
        case "ToLower", "lower": try need(1); return .string(args[0].argument.lowercased())
        case "ToUpper", "upper": try need(1); return .string(args[0].argument.uppercased())
        case "TrimSpace", "trim": try need(1); return .string(args[0].argument.trimmingCharacters(in: .whitespacesAndNewlines))
        case "Trim", "TrimLeft", "TrimRight":
            try need(2)
            let cutset = Set(args[1].argument.unicodeScalars)
            var scalars = Array(args[0].argument.unicodeScalars)
            if name != "TrimRight" { while let first = scalars.first, cutset.contains(first) { scalars.removeFirst() } }
            if name != "TrimLeft" { while let last = scalars.last, cutset.contains(last) { scalars.removeLast() } }
            var out = ""
            out.unicodeScalars.append(contentsOf: scalars)
            return .string(out)
        case "TrimPrefix":
            try need(2)
            let (text, prefix) = (args[0].argument, args[1].argument)
            return .string(text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text)
        case "TrimSuffix":
            try need(2)
            let (text, suffix) = (args[0].argument, args[1].argument)
            return .string(text.hasSuffix(suffix) ? String(text.dropLast(suffix.count)) : text)
        case "Replace":
            try need(4)
            guard let count = number(args[3]).map({ Int(clampingTruncating: $0) }) else { throw TemplateError(description: "Replace: n must be a number") }
            return .string(Self.replace(args[0].argument, args[1].argument, args[2].argument, count: count))
        case "replace":  // sprig: replace old new s
            try need(3)
            return .string(Self.replace(args[2].argument, args[0].argument, args[1].argument, count: -1))
        case "Sha2Hash", "Hash":
            // Alloy's: the hex digest of salt and text written one after the other (SHA-256, or SHA3-256 for Hash).
            try need(2)
            let input = Array((args[0].argument + args[1].argument).utf8)
            let digest = name == "Hash" ? SHA3_256.hash(input) : Array(SHA256.hash(data: input))
            return .string(digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        case "regexReplaceAll", "regexReplaceAllLiteral":
            try need(3)
            let regex: AnchoredRegex
            do throws(RE2Error) {
                regex = try AnchoredRegex(args[0].argument)
            } catch {
                throw TemplateError(description: "\(name): \(error)")
            }
            return .string(Self.replaceAll(regex, in: args[1].argument, with: args[2].argument, literal: name.hasSuffix("Literal")))
        case "contains": try need(2); return .bool(args[1].argument.contains(args[0].argument))
        case "hasPrefix": try need(2); return .bool(args[1].argument.hasPrefix(args[0].argument))
        case "hasSuffix": try need(2); return .bool(args[1].argument.hasSuffix(args[0].argument))
        case "default":
            try need(2)
            return args[1].isTrue ? args[1] : args[0]
        case "trunc":
            try need(2)
            guard let count = number(args[0]).map({ Int(clampingTruncating: $0) }) else { throw TemplateError(description: "trunc: length must be a number") }
            let text = args[1].argument
            return .string(count >= 0 ? String(text.prefix(count)) : String(text.suffix(Int(clamping: count.magnitude))))
        case "quote": return .string(args.map { GoQuote.quote($0.argument) }.joined(separator: " "))
        case "repeat":
            try need(2)
            guard let count = number(args[0]).map({ Int(clampingTruncating: $0) }), count >= 0, count <= 10_000 else {
                throw TemplateError(description: "repeat: count must be a number from 0 to 10000")
            }
            return .string(String(repeating: args[1].argument, count: count))
        case "b64enc": try need(1); return .string(Base64Codec.encoded(Array(args[0].argument.utf8)))
        case "b64dec":
            try need(1)
            let bytes = Array(args[0].argument.utf8)
            let decoded = bytes.withUnsafeBufferPointer { Base64Codec.decode($0) }
            guard case .success(let raw) = decoded else { throw TemplateError(description: "b64dec: invalid base64") }
            return .string(String(decoding: raw, as: UTF8.self))
        case "eq":
            guard args.count >= 2 else { throw TemplateError(description: "eq needs at least two arguments") }
            for other in args.dropFirst() where try compare(args[0], other) == 0 { return .bool(true) }
            return .bool(false)
        case "ne": try need(2); return .bool(try compare(args[0], args[1]) != 0)
        case "lt": try need(2); return .bool(try compare(args[0], args[1]) < 0)
        case "le": try need(2); return .bool(try compare(args[0], args[1]) <= 0)
        case "gt": try need(2); return .bool(try compare(args[0], args[1]) > 0)
        case "ge": try need(2); return .bool(try compare(args[0], args[1]) >= 0)
        case "and":
            guard let first = args.first else { throw TemplateError(description: "and needs arguments") }
            return args.first { !$0.isTrue } ?? args.last ?? first
        case "or":
            guard let first = args.first else { throw TemplateError(description: "or needs arguments") }
            return args.first { $0.isTrue } ?? args.last ?? first
        case "not": try need(1); return .bool(!args[0].isTrue)
        case "len":
            try need(1)
            switch args[0] {
            case .json(.array(let items)): return .number(Double(items.count))
            case .json(.object(let fields)): return .number(Double(fields.count))
            default: return .number(Double(args[0].argument.utf8.count))
            }
        case "index": return try index(args)
        case "print": return .string(args.map(\.text).joined())
        case "printf":
            guard let format = args.first else { throw TemplateError(description: "printf needs a format") }
            return .string(Self.printf(format.argument, Array(args.dropFirst())))
        default:
            throw TemplateError(description: "function \(GoQuote.quote(name)) not defined")
        }
    }

    static func replace(_ text: String, _ old: String, _ new: String, count: Int) -> String {
        guard !old.isEmpty, count != 0 else { return text }
        var out = ""
        var rest = Substring(text)
        var done = 0
        while count < 0 || done < count, let range = rest.range(of: old) {
            out += rest[..<range.lowerBound]
            out += new
            rest = rest[range.upperBound...]
            done += 1
        }
        return out + rest
    }

    /// Go's `Regexp.ReplaceAllString` (with `$1` expansion) or `ReplaceAllLiteralString`: unanchored matches.
    static func replaceAll(_ regex: AnchoredRegex, in text: String, with template: String, literal: Bool) -> String {
        var out = ""
        var last = text.startIndex
        for ranges in regex.regex.allMatchRanges(text) {
            guard let whole = ranges.first ?? nil else { continue }
            out += text[last..<whole.lowerBound]
            if literal {
                out += template
            } else {
                out += regex.expand(template, groups: ranges.map { $0.map { text[$0] } })
            }
            last = whole.upperBound
        }
        return out + text[last...]
    }

    private static func printf(_ format: String, _ args: [Value]) -> String {
        var out = ""
        var rest = args[...]
        var scalars = format.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            guard scalar == "%" else {
                out.unicodeScalars.append(scalar)
                continue
            }
            guard let verb = scalars.next() else {
                out += "%!(NOVERB)"
                break
            }
            if verb == "%" {
                out += "%"
                continue
            }
            guard let arg = rest.popFirst() else {
                out += "%!\(verb)(MISSING)"
                continue
            }
            switch verb {
            case "q": out += GoQuote.quote(arg.argument)
            case "d":
                if case .number(let number) = arg { out += String(Int(number)) } else { out += "%!d(\(arg.text))" }
            default: out += arg.text
            }
        }
        return out
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        let functions: Set<String>
        var index = 0

        init(_ scalars: [Unicode.Scalar], functions: Set<String>) {
            self.scalars = scalars
            self.functions = functions
        }

        func starts(_ text: String, at position: Int) -> Bool {
            let wanted = Array(text.unicodeScalars)
            return position + wanted.count <= scalars.count && Array(scalars[position..<(position + wanted.count)]) == wanted
        }

        /// Nodes up to the end or to a `{{else ...}}` / `{{end}}`, which is returned (its words) unconsumed-by-caller.
        mutating func parseNodes() throws(TemplateError) -> ([Node], String?) {
            var nodes: [Node] = []
            var text = ""
            while index < scalars.count {
                guard starts("{{", at: index) else {
                    text.unicodeScalars.append(scalars[index])
                    index += 1
                    continue
                }
                index += 2
                if index < scalars.count, scalars[index] == "-", index + 1 < scalars.count, scalars[index + 1].properties.isWhitespace {
                    while let last = text.unicodeScalars.last, last.properties.isWhitespace { text.unicodeScalars.removeLast() }
                    index += 1
                }
                if !text.isEmpty { nodes.append(.text(text)) }
                text = ""
                guard let close = closing(from: index) else { throw TemplateError(description: "unclosed action") }
                var inner = ""
                inner.unicodeScalars.append(contentsOf: scalars[index..<close.start])
                index = close.end
                if close.trim {
                    while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
                }
                let words = inner.trimmingCharacters(in: .whitespaces)
                if words == "end" || words == "else" || words.hasPrefix("else ") { return (nodes, words) }
                if words.hasPrefix("if ") {
                    nodes.append(try parseConditional(String(words.dropFirst(3))))
                } else if words.hasPrefix("range ") || words.hasPrefix("with ") || words.hasPrefix("define ")
                    || words.hasPrefix("template ") || words.hasPrefix("block ")
                {
                    throw TemplateError(description: "{{\(words.split(separator: " ")[0])}} is not supported")
                } else if words.hasPrefix("/*") {
                    continue
                } else {
                    nodes.append(.action(try Self.pipeline(words, functions)))
                }
            }
            if !text.isEmpty { nodes.append(.text(text)) }
            return (nodes, nil)
        }

        private mutating func parseConditional(_ condition: String) throws(TemplateError) -> Node {
            var branches: [(condition: Pipeline, body: [Node])] = []
            var pending = try Self.pipeline(condition, functions)
            while true {
                let (body, end) = try parseNodes()
                guard let end else { throw TemplateError(description: "unexpected EOF: missing {{end}}") }
                branches.append((pending, body))
                if end == "end" { return .conditional(branches, otherwise: []) }
                if end == "else" {
                    let (otherwise, last) = try parseNodes()
                    guard last == "end" else { throw TemplateError(description: "expected {{end}} after {{else}}") }
                    return .conditional(branches, otherwise: otherwise)
                }
                // else if ...
                let rest = end.dropFirst(5).trimmingCharacters(in: .whitespaces)
                guard rest.hasPrefix("if ") else { throw TemplateError(description: "unexpected {{\(end)}}") }
                pending = try Self.pipeline(String(rest.dropFirst(3)), functions)
            }
        }

        /// Where the action that starts at `from` ends: `}}` outside string literals (` -}}` trims after it).
        private func closing(from: Int) -> (start: Int, end: Int, trim: Bool)? {
            var position = from
            var quote: Unicode.Scalar?
            while position < scalars.count {
                let scalar = scalars[position]
                if let open = quote {
                    if scalar == "\\" && open == "\"" { position += 2; continue }
                    if scalar == open { quote = nil }
                } else if scalar == "\"" || scalar == "`" {
                    quote = scalar
                } else if starts("}}", at: position) {
                    if position >= 2, scalars[position - 1] == "-", scalars[position - 2].properties.isWhitespace {
                        return (position - 1, position + 2, true)
                    }
                    return (position, position + 2, false)
                }
                position += 1
            }
            return nil
        }

        /// A pipeline: commands separated by `|`, each a list of terms.
        static func pipeline(_ text: String, _ functions: Set<String>) throws(TemplateError) -> Pipeline {
            var tokens = try tokenize(text)
            tokens.reverse()
            let pipeline = try parsePipeline(&tokens, functions)
            guard tokens.isEmpty else { throw TemplateError(description: "unexpected \(tokens.last ?? "") in \(text)") }
            return pipeline
        }

        private static func parsePipeline(_ tokens: inout [String], _ functions: Set<String>) throws(TemplateError) -> Pipeline {
            var commands: [[Term]] = [[]]
            while let token = tokens.last, token != ")" {
                tokens.removeLast()
                if token == "|" {
                    guard commands[commands.count - 1].isEmpty == false else { throw TemplateError(description: "missing command before |") }
                    commands.append([])
                    continue
                }
                commands[commands.count - 1].append(try term(token, &tokens, functions))
            }
            guard commands.allSatisfy({ !$0.isEmpty }) else { throw TemplateError(description: "missing value for command") }
            return Pipeline(commands: commands)
        }

        private static func term(_ token: String, _ tokens: inout [String], _ functions: Set<String>) throws(TemplateError) -> Term {
            if token == "(" {
                let inner = try parsePipeline(&tokens, functions)
                guard tokens.popLast() == ")" else { throw TemplateError(description: "unclosed (") }
                guard let chained = tokens.last, chained.hasPrefix(chainMarker) else { return .group(inner) }
                tokens.removeLast()
                let keys = chained.dropFirst(chainMarker.count + 1).split(separator: ".", omittingEmptySubsequences: false)
                guard keys.allSatisfy({ !$0.isEmpty }) else {
                    throw TemplateError(description: "unsupported field \(chained.dropFirst(chainMarker.count))")
                }
                return .chain(.group(inner), keys.map(String.init))
            }
            if token == "." { return .field("") }
            if token.hasPrefix(".") {
                let name = String(token.dropFirst())
                guard !name.isEmpty, !name.contains(".") else { throw TemplateError(description: "unsupported field \(token)") }
                return .field(name)
            }
            if token.hasPrefix("\"") || token.hasPrefix("`") {
                guard let text = GoQuote.unquote(token) else { throw TemplateError(description: "invalid string \(token)") }
                return .literal(.string(text))
            }
            if token == "true" || token == "false" { return .literal(.bool(token == "true")) }
            if let number = Double(token) { return .literal(.number(number)) }
            guard functions.contains(token) else {
                throw TemplateError(description: "function \(GoQuote.quote(token)) not defined")
            }
            return .function(token)
        }

        private static func tokenize(_ text: String) throws(TemplateError) -> [String] {
            var tokens: [String] = []
            let scalars = Array(text.unicodeScalars)
            var index = 0
            while index < scalars.count {
                let scalar = scalars[index]
                if scalar.properties.isWhitespace {
                    index += 1
                } else if scalar == "|" || scalar == "(" || scalar == ")" {
                    tokens.append(String(Character(scalar)))
                    index += 1
                    // `(…).key`: the field right after the parenthesis applies to what it gives.
                    if scalar == ")", index < scalars.count, scalars[index] == "." {
                        let start = index
                        while index < scalars.count, !scalars[index].properties.isWhitespace,
                              !"|()".unicodeScalars.contains(scalars[index])
                        {
                            index += 1
                        }
                        var token = chainMarker
                        token.unicodeScalars.append(contentsOf: scalars[start..<index])
                        tokens.append(token)
                    }
                } else if scalar == "\"" || scalar == "`" {
                    let start = index
                    guard let end = GoQuote.literalEnd(scalars, from: start) else {
                        throw TemplateError(description: "unterminated quoted string")
                    }
                    index = end
                    var token = ""
                    token.unicodeScalars.append(contentsOf: scalars[start..<index])
                    tokens.append(token)
                } else {
                    let start = index
                    while index < scalars.count, !scalars[index].properties.isWhitespace, !"|()".unicodeScalars.contains(scalars[index]) {
                        index += 1
                    }
                    var token = ""
                    token.unicodeScalars.append(contentsOf: scalars[start..<index])
                    tokens.append(token)
                }
            }
            return tokens
        }
    }
}

extension GoTemplate {
    /// Go's `time.Time.String()` for a UTC instant: `2006-01-02 15:04:05.999999999 +0000 UTC`.
    package static func goTimeString(_ nanoseconds: Int64) -> String {
        let (seconds, fraction) = nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        let wholeSeconds = fraction < 0 ? seconds - 1 : seconds
        let nanos = fraction < 0 ? fraction + 1_000_000_000 : fraction
        let days = wholeSeconds >= 0 ? wholeSeconds / 86_400 : (wholeSeconds - 86_399) / 86_400
        let secondOfDay = wholeSeconds - days * 86_400
        let (year, month, day) = civil(days)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var text = "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
        if nanos != 0 {
            var digits = String(nanos)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + " +0000 UTC"
    }

    /// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    package static func civil(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

/// Marks a `.key` token written right after a `)`: only the tokenizer makes it.
private let chainMarker = "\u{0}"

extension GoTemplate.Value {
    fileprivate var isString: Bool {
        if case .string = self { return true }
        return false
    }

    /// Go's name of the type the value has, for error messages.
    var goTypeName: String {
        switch self {
        case .string: "string"
        case .number: "int"
        case .bool: "bool"
        case .time: "time.Time"
        case .json(let value): value.goTypeName
        case .missing: "<nil>"
        }
    }
}
