import Foundation
import GoCompat
import Wire

/// A `line_format` / `label_format` template: Go's `text/template` (through GoCompat's `GoTemplate`) with Loki's
/// function set (`pkg/logql/log/fmt.go`) and `missingkey=zero`, so an absent label prints as "".
struct LokiTemplate: Sendable {
    let template: GoTemplate
    /// For `{{ .name }}` alone: Loki copies the label's value without running the template.
    let singleField: String?
    /// The labels the template reads; nil when it may read any (it uses `.` itself).
    let referencedLabels: Set<String>?

    /// Loki's additions to the functions GoTemplate already has.
    static let extraFunctions: Set<String> = [
        "__line__", "__timestamp__", "count", "urldecode", "urlencode", "bytes", "duration", "duration_seconds",
        "unixEpochMillis", "unixEpochNanos", "toDateInZone", "unixToTime", "alignLeft", "alignRight", "title",
        "substr", "indent", "nindent", "trimAll", "trimSuffix", "trimPrefix", "int", "float64", "add", "sub", "mul",
        "div", "mod", "addf", "subf", "mulf", "divf", "max", "min", "maxf", "minf", "ceil", "floor", "round", "date",
        "toDate", "now", "unixEpoch", "fromJson",
    ]
    /// GoTemplate functions Loki's templates do not have.
    static let excludedFunctions: Set<String> = ["Hash", "Sha2Hash", "quote"]

    init(_ source: String) throws(GoTemplate.TemplateError) {
        template = try GoTemplate(source, extraFunctions: Self.extraFunctions, excluding: Self.excludedFunctions)
        singleField = template.singleField
        let usesDot = source.range(of: #"[\s(]\.[\s)}]"#, options: .regularExpression) != nil
            || source.range(of: #"\{\{-?\s*\.\s*-?\}\}"#, options: .regularExpression) != nil
        referencedLabels = usesDot ? nil : template.fieldNames
    }

    /// Renders with the entry's current labels.
    func render(builder: LabelsBuilder, line: UnsafeRawBufferPointer, timestamp: Int64) -> Result<String, GoTemplate.TemplateError> {
        render(fields: { builder.filterValue($0) }, line: line, timestamp: timestamp)
    }

    func render(fields: (String) -> String?, line: UnsafeRawBufferPointer, timestamp: Int64) -> Result<String, GoTemplate.TemplateError> {
        do throws(GoTemplate.TemplateError) {
            let text = try template.render({ name in .string(fields(name) ?? "") }, dot: .missing) { name, args throws(GoTemplate.TemplateError) in
                try Self.call(name, args, line: line, timestamp: timestamp)
            }
            return .success(text)
        } catch {
            return .failure(error)
        }
    }

    // MARK: Functions

    private static func call(_ name: String, _ args: [GoTemplate.Value], line: UnsafeRawBufferPointer,
                             timestamp: Int64) throws(GoTemplate.TemplateError) -> GoTemplate.Value? {
        func need(_ count: Int) throws(GoTemplate.TemplateError) {
            guard args.count == count else {
                throw GoTemplate.TemplateError(description: "wrong number of args for \(name): want \(count) got \(args.count)")
            }
        }
        func text(_ value: GoTemplate.Value) -> String {
            if case .missing = value { return "" }
            return value.goText
        }
        switch name {
        case "__line__":
            return .string(String(decoding: line, as: UTF8.self))
        case "__timestamp__":
            return .time(timestamp)
        case "now":
            return .time(Int64(Date().timeIntervalSince1970 * 1e9))
        case "fromJson":
            // sprig's: decode errors are ignored and give nil, which prints as "<no value>".
            try need(1)
            return GoJSONValue.decode(text(args[0]))?.templateValue ?? .missing
        case "count":
            try need(2)
            let regex: RE2Regex
            do throws(RE2Error) { regex = try RE2Regex(text(args[0]), dotMatchesNewline: false) } catch {
                throw GoTemplate.TemplateError(description: "error calling count: \(error.description)")
            }
            var subject = text(args[1])
            let matches = subject.withUTF8 { regex.allMatchOffsets(UnsafeRawBufferPointer($0)) }
            return .number(Double(matches.count))
        case "urlencode":
            try need(1)
            return .string(queryEscape(text(args[0])))
        case "urldecode":
            try need(1)
            guard let decoded = queryUnescape(text(args[0])) else {
                throw GoTemplate.TemplateError(description: "error calling urldecode: invalid URL escape")
            }
            return .string(decoded)
        case "bytes":
            try need(1)
            switch GoConversions.parseBytes(text(args[0])) {
            case .success(let value): return .number(Double(value))
            case .failure(let failure): throw GoTemplate.TemplateError(description: "error calling bytes: \(failure.message)")
            }
        case "duration", "duration_seconds":
            try need(1)
            switch GoConversions.parseDuration(text(args[0])) {
            case .success(let value): return float(Double(value) / 1e9)
            case .failure(let failure): throw GoTemplate.TemplateError(description: "error calling \(name): \(failure.message)")
            }
        case "unixEpoch", "unixEpochMillis", "unixEpochNanos":
            try need(1)
            let nanos = time(args[0])
            let value = name == "unixEpoch" ? floorDiv(nanos, 1_000_000_000)
                : name == "unixEpochMillis" ? floorDiv(nanos, 1_000_000) : nanos
            return .string(String(value))
        case "unixToTime":
            try need(1)
            let epoch = text(args[0])
            guard let number = Int64(epoch) else {
                throw GoTemplate.TemplateError(description: "error calling unixToTime: unable to parse time '\(epoch)'")
            }
            switch epoch.utf8.count {
            case 5: return .time(number &* 86_400 &* 1_000_000_000)
            case 10: return .time(number &* 1_000_000_000)
            case 13: return .time(number &* 1_000_000)
            case 16: return .time(number &* 1_000)
            case 19: return .time(number)
            default: throw GoTemplate.TemplateError(description: "error calling unixToTime: unable to parse time '\(epoch)'")
            }
        case "date":
            try need(2)
            return .string(GoTimeFormat.format(time(args[1]), layout: text(args[0])))
        case "toDate":
            try need(2)
            return .time(GoTimeFormat.parse(text(args[1]), layout: text(args[0])) ?? zeroTime)
        case "toDateInZone":
            try need(3)
            return .time(GoTimeFormat.parse(text(args[2]), layout: text(args[0]), zone: text(args[1])) ?? zeroTime)
        case "alignLeft", "alignRight":
            try need(2)
            let count = Int(clampingTruncating: number(args[0]))
            let scalars = Array(text(args[1]).unicodeScalars)
            if count < 0 || count == scalars.count { return .string(text(args[1])) }
            if count > scalars.count {
                let pad = String(repeating: " ", count: count - scalars.count)
                return .string(name == "alignLeft" ? text(args[1]) + pad : pad + text(args[1]))
            }
            let kept = name == "alignLeft" ? scalars[..<count] : scalars[(scalars.count - count)...]
            return .string(String(String.UnicodeScalarView(kept)))
        case "title":
            try need(1)
            var out = ""
            var previous: Character = " "
            for character in text(args[0]) {
                out += previous.isLetter || previous.isNumber || previous == "_" || previous == "'" ? String(character) : character.uppercased()
                previous = character
            }
            return .string(out)
        case "substr":
            try need(3)
            let bytes = Array(text(args[2]).utf8)
            var start = Int(clampingTruncating: number(args[0]))
            var end = Int(clampingTruncating: number(args[1]))
            if start < 0 {
                end = min(max(end, 0), bytes.count)
                return .string(String(decoding: bytes[..<end], as: UTF8.self))
            }
            start = min(start, bytes.count)
            if end < 0 || end > bytes.count { return .string(String(decoding: bytes[start...], as: UTF8.self)) }
            guard start <= end else {
                throw GoTemplate.TemplateError(description: "error calling substr: slice bounds out of range [\(start):\(end)]")
            }
            return .string(String(decoding: bytes[start..<end], as: UTF8.self))
        case "indent", "nindent":
            try need(2)
            let pad = String(repeating: " ", count: max(0, Int(clampingTruncating: number(args[0]))))
            let indented = pad + text(args[1]).replacingOccurrences(of: "\n", with: "\n" + pad)
            return .string(name == "nindent" ? "\n" + indented : indented)
        case "trimAll":
            try need(2)
            let cutset = Set(text(args[0]).unicodeScalars)
            var scalars = Substring(text(args[1])).unicodeScalars[...]
            while let first = scalars.first, cutset.contains(first) { scalars = scalars.dropFirst() }
            while let last = scalars.last, cutset.contains(last) { scalars = scalars.dropLast() }
            return .string(String(String.UnicodeScalarView(scalars)))
        case "trimPrefix":
            try need(2)
            let (prefix, subject) = (text(args[0]), text(args[1]))
            return .string(subject.utf8.starts(with: prefix.utf8) ? String(decoding: subject.utf8.dropFirst(prefix.utf8.count), as: UTF8.self) : subject)
        case "trimSuffix":
            try need(2)
            let (suffix, subject) = (text(args[0]), text(args[1]))
            return .string(subject.utf8.reversed().starts(with: suffix.utf8.reversed())
                ? String(decoding: subject.utf8.dropLast(suffix.utf8.count), as: UTF8.self) : subject)
        case "int":
            try need(1)
            return .number(Double(integer(args[0])))
        case "float64":
            try need(1)
            return float(number(args[0]))
        case "add", "mul", "max", "min":
            guard let first = args.first else { throw GoTemplate.TemplateError(description: "wrong number of args for \(name)") }
            var result = integer(first)
            for arg in args.dropFirst() {
                let value = integer(arg)
                switch name {
                case "add": result = result &+ value
                case "mul": result = result &* value
                case "max": result = Swift.max(result, value)
                default: result = Swift.min(result, value)
                }
            }
            return .number(Double(result))
        case "sub", "div", "mod":
            try need(2)
            let (a, b) = (integer(args[0]), integer(args[1]))
            if name == "sub" { return .number(Double(a &- b)) }
            guard b != 0 else {
                throw GoTemplate.TemplateError(description: "error calling \(name): runtime error: integer divide by zero")
            }
            return .number(Double(name == "div" ? a / b : a % b))
        case "addf", "mulf", "maxf", "minf", "subf", "divf":
            guard let first = args.first else { throw GoTemplate.TemplateError(description: "wrong number of args for \(name)") }
            var result = number(first)
            for arg in args.dropFirst() {
                let value = number(arg)
                switch name {
                case "addf": result += value
                case "mulf": result *= value
                case "maxf": result = Swift.max(result, value)
                case "minf": result = Swift.min(result, value)
                case "subf": result -= value
                default: result /= value
                }
            }
            return float(result)
        case "ceil":
            try need(1)
            return float(number(args[0]).rounded(.up))
        case "floor":
            try need(1)
            return float(number(args[0]).rounded(.down))
        case "round":
            guard args.count == 2 || args.count == 3 else { throw GoTemplate.TemplateError(description: "wrong number of args for round") }
            let value = number(args[0])
            let places = number(args[1])
            let roundOn = args.count == 3 ? number(args[2]) : 0.5
            let power = pow(10, places)
            let shifted = value * power
            let whole = shifted.rounded(.towardZero)
            let fraction = shifted - whole
            let rounded = fraction.magnitude >= roundOn ? whole + (shifted < 0 ? -1 : 1) : whole
            return float(rounded / power)
        default:
            return nil
        }
    }

    private static let zeroTime: Int64 = .min

    private static func float(_ value: Double) -> GoTemplate.Value {
        var out: [UInt8] = []
        GoFloatFormat.appendPrint(value, to: &out)
        return .string(String(decoding: out, as: UTF8.self))
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let (quotient, remainder) = a.quotientAndRemainder(dividingBy: b)
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// spf13/cast's `ToFloat64`: numbers, numeric strings, booleans; 0 otherwise.
    private static func number(_ value: GoTemplate.Value) -> Double {
        switch value {
        case .number(let number), .json(.number(let number)): return number
        case .string(let text): return GoConversions.goFloat(text) ?? 0
        case .bool(let flag): return flag ? 1 : 0
        case .time, .json, .missing: return 0
        }
    }

    /// spf13/cast's `ToInt64`: floats truncated, strings parsed as integers (base prefixes allowed); 0 otherwise.
    private static func integer(_ value: GoTemplate.Value) -> Int64 {
        switch value {
        case .number(let number), .json(.number(let number)): return Int64(clampingTruncating: number)
        case .string(let text):
            var trimmed = text
            if let dot = trimmed.firstIndex(of: "."), trimmed[trimmed.index(after: dot)...].allSatisfy({ $0 == "0" }) {
                trimmed = String(trimmed[..<dot])
            }
            if let parsed = Int64(trimmed) { return parsed }
            let lowered = trimmed.lowercased()
            if lowered.hasPrefix("0x"), let parsed = Int64(lowered.dropFirst(2), radix: 16) { return parsed }
            if lowered.hasPrefix("0b"), let parsed = Int64(lowered.dropFirst(2), radix: 2) { return parsed }
            if lowered.hasPrefix("0o"), let parsed = Int64(lowered.dropFirst(2), radix: 8) { return parsed }
            return 0
        case .bool(let flag): return flag ? 1 : 0
        case .time, .json, .missing: return 0
        }
    }

    /// sprig's time arguments: a time, or Unix seconds as a number.
    private static func time(_ value: GoTemplate.Value) -> Int64 {
        switch value {
        case .time(let nanoseconds): return nanoseconds
        case .number(let seconds), .json(.number(let seconds)): return Int64(clampingTruncating: seconds * 1e9)
        case .string(let text): return (Int64(text) ?? 0) &* 1_000_000_000
        case .bool, .json, .missing: return 0
        }
    }

    /// Go's `url.QueryEscape`.
    static func queryEscape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// Go's `url.QueryUnescape`; nil for a bad `%` escape.
    static func queryUnescape(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count + 0, index + 2 <= bytes.count - 1,
                      let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) else { return nil }
                out.append(value)
                index += 3
            } else {
                out.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension GoTemplate.Value {
    /// How the template prints the value.
    var goText: String {
        switch self {
        case .string(let text): return text
        case .number(let number): return GoFloatFormat.fixed(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .time(let nanoseconds): return GoTemplate.goTimeString(nanoseconds)
        case .json(let value): return value.goText
        case .missing: return ""
        }
    }
}
