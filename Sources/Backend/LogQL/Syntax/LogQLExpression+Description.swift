import GoCompat
import Wire

// LogQL text from the syntax tree, as Loki's `String()` methods write it: `format_query` answers with it and the
// query frontend sends pieces of a query on in it. Parsing the text gives the same tree back.

extension LogQLExpression: CustomStringConvertible {
    public var description: String {
        switch self {
        case .log(let log): log.description
        case .sample(let sample): sample.description
        }
    }
}

extension LogExpression: CustomStringConvertible {
    public var description: String {
        var text = "{" + matchers.map(\.description).joined(separator: ", ") + "}"
        for stage in stages { text += " " + stage.description }
        return text
    }
}

extension PipelineStage: CustomStringConvertible {
    public var description: String {
        switch self {
        case .lineFilters(let filters):
            return filters.map(\.description).joined(separator: " ")
        case .json(let parameters):
            return "| json" + LogQLText.parameters(parameters)
        case .logfmt(let strict, let keepEmpty, let parameters):
            return "| logfmt" + (strict ? " --strict" : "") + (keepEmpty ? " --keep-empty" : "")
                + LogQLText.parameters(parameters)
        case .regexp(let pattern):
            return "| regexp " + GoQuote.quote(pattern)
        case .pattern(let pattern):
            return "| pattern " + GoQuote.quote(pattern)
        case .unpack:
            return "| unpack"
        case .lineFormat(let template):
            return "| line_format " + GoQuote.quote(template)
        case .labelFormat(let operations):
            return "| label_format " + operations.map { operation in
                switch operation {
                case .rename(let destination, let source): destination + "=" + source
                case .template(let destination, let template): destination + "=" + GoQuote.quote(template)
                }
            }.joined(separator: ", ")
        case .labelFilter(let filter):
            return "| " + filter.description
        case .decolorize:
            return "| decolorize"
        case .drop(let items):
            return "| drop " + items.map(\.description).joined(separator: ", ")
        case .keep(let items):
            return "| keep " + items.map(\.description).joined(separator: ", ")
        }
    }
}

extension LineFilter: CustomStringConvertible {
    public var description: String {
        kind.rawValue + " " + operandTexts.joined(separator: " or ")
    }
}

extension LabelSelection: CustomStringConvertible {
    public var description: String {
        switch self {
        case .name(let name): name
        case .matcher(let matcher): matcher.description
        }
    }
}

extension LabelFilterExpression: CustomStringConvertible {
    public var description: String {
        switch self {
        case .and(let lhs, let rhs):
            return "(" + lhs.description + " and " + rhs.description + ")"
        case .or(let lhs, let rhs):
            return "(" + lhs.description + " or " + rhs.description + ")"
        case .string(let matcher):
            return matcher.description
        case .number(let name, let comparison, let value):
            return name + comparison.rawValue + LogQLText.number(value)
        case .duration(let name, let comparison, let nanoseconds):
            return name + comparison.rawValue + LogQLText.goDuration(nanoseconds)
        case .bytes(let name, let comparison, let bytes):
            return name + comparison.rawValue + String(bytes) + "B"
        case .ip(let name, let equal, let pattern):
            return name + (equal ? "=" : "!=") + "ip(" + GoQuote.quote(pattern) + ")"
        }
    }
}

extension SampleExpression: CustomStringConvertible {
    public var description: String {
        switch self {
        case .range(let range):
            var text = range.operation.rawValue + "("
            if let parameter = range.parameter { text += LogQLText.number(parameter) + "," }
            text += range.log.description
            if let unwrap = range.unwrap {
                text += " | unwrap "
                text += unwrap.conversion == .none ? unwrap.label : unwrap.conversion.rawValue + "(" + unwrap.label + ")"
                for filter in unwrap.filters { text += " | " + filter.description }
            }
            text += "[" + LogQLText.prometheusDuration(range.range) + "]"
            if range.offset != 0 { text += " offset " + LogQLText.goDuration(range.offset) }
            text += ")"
            if let grouping = range.grouping { text += " " + grouping.description }
            return text
        case .vector(let vector):
            var text = vector.operation.rawValue
            if let grouping = vector.grouping { text += " " + grouping.description + " " }
            text += "("
            if let parameter = vector.parameter { text += String(parameter) + "," }
            return text + vector.inner.description + ")"
        case .binary(let binary):
            var op = binary.op.rawValue
            if binary.returnBool { op += " bool" }
            if let matching = binary.matching {
                op += (matching.on ? " on(" : " ignoring(") + matching.labels.joined(separator: ", ") + ")"
                switch matching.cardinality {
                case .oneToOne: break
                case .manyToOne(let include): op += " group_left(" + include.joined(separator: ", ") + ")"
                case .oneToMany(let include): op += " group_right(" + include.joined(separator: ", ") + ")"
                }
            }
            return "(" + binary.lhs.description + " " + op + " " + binary.rhs.description + ")"
        case .literal(let value):
            return LogQLText.number(value)
        case .vectorLiteral(let value):
            return "vector(" + LogQLText.number(value) + ")"
        case .labelReplace(let replace):
            return "label_replace(" + replace.inner.description + ","
                + [replace.destination, replace.replacement, replace.source, replace.regex].map(GoQuote.quote)
                    .joined(separator: ",") + ")"
        }
    }
}

extension Grouping: CustomStringConvertible {
    public var description: String {
        (without ? "without" : "by") + " (" + labels.joined(separator: ", ") + ")"
    }
}

/// Number and duration spellings for printed queries.
enum LogQLText {
    static func parameters(_ parameters: [ExtractionParameter]) -> String {
        guard !parameters.isEmpty else { return "" }
        return " " + parameters.map { parameter in
            guard let expression = parameter.expression else { return parameter.label }
            return parameter.label + "=" + GoQuote.quote(expression)
        }.joined(separator: ", ")
    }

    /// Go's `%v` of a float64, as Loki prints literals.
    static func number(_ value: Double) -> String {
        var out: [UInt8] = []
        GoFloatFormat.appendPrint(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Prometheus' `model.Duration.String()`: `1h30m`, `1d`, `2w`, `0s`.
    static func prometheusDuration(_ nanoseconds: Int64) -> String {
        var milliseconds = nanoseconds / 1_000_000
        if milliseconds == 0 { return "0s" }
        var text = ""
        for (unit, size) in [("y", Int64(31_536_000_000)), ("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000),
                             ("m", 60_000), ("s", 1_000), ("ms", 1)] where milliseconds >= size {
            text += String(milliseconds / size) + unit
            milliseconds %= size
        }
        return text
    }

    /// Go's `time.Duration.String()`: `1h30m0s`, `250ms`, `1.5s`.
    static func goDuration(_ nanoseconds: Int64) -> String {
        if nanoseconds == 0 { return "0s" }
        let negative = nanoseconds < 0
        let magnitude = nanoseconds.magnitude
        var text: String
        if magnitude < 1_000_000_000 {
            let (unit, scale): (String, UInt64) = magnitude < 1_000 ? ("ns", 1) : magnitude < 1_000_000 ? ("µs", 1_000) : ("ms", 1_000_000)
            text = fraction(magnitude, scale) + unit
        } else {
            let hours = magnitude / 3_600_000_000_000
            let minutes = magnitude / 60_000_000_000 % 60
            let seconds = magnitude % 60_000_000_000
            text = ""
            if hours > 0 { text += String(hours) + "h" }
            if hours > 0 || minutes > 0 { text += String(minutes) + "m" }
            text += fraction(seconds, 1_000_000_000) + "s"
        }
        return negative ? "-" + text : text
    }

    private static func fraction(_ value: UInt64, _ scale: UInt64) -> String {
        let whole = value / scale
        var rest = value % scale
        guard rest > 0 else { return String(whole) }
        var digits = String(rest)
        digits = String(repeating: "0", count: String(scale).count - 1 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        rest = 0
        return String(whole) + "." + digits
    }
}
