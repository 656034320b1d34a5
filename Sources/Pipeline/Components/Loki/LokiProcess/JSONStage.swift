import AlloyLanguage
import Wire

/// `stage.json`: parses the line (or the extracted value `source`) as a JSON object and puts the result of each
/// of `expressions` (``JMESPath``; an empty expression means the key's own name) into the extracted map:
/// strings, numbers and bools as they are, `null` (also for what is not found) as null, objects and arrays as
/// their JSON text. With `drop_malformed`, an entry whose input is not a JSON object is dropped (counted with
/// reason `malformed_json`).
struct JSONStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var names: [String] = []
        var expressions: [String] = []
        var source: String?
        var dropMalformed = false

        init(expressions: [(String, String)]) {
            names = expressions.map(\.0)
            self.expressions = expressions.map { $0.1.isEmpty ? $0.0 : $0.1 }
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let pairs = try readStringMap(reader, "expressions", required: true)
            guard !pairs.isEmpty else { throw reader.error("expressions", "expressions: JMES expression is required") }
            self.init(expressions: pairs)
            for (name, expression) in zip(names, expressions) {
                do throws(JMESPath.CompileError) {
                    _ = try JMESPath(expression)
                } catch {
                    throw reader.error(
                        "expressions",
                        "expressions.\(name): could not compile JMES expression \(GoQuote.quote(expression)): \(error.message)")
                }
            }
            source = try reader.string("source")
            if source == "" { throw reader.error("source", "source: must not be empty when set") }
            dropMalformed = try reader.bool("drop_malformed", default: dropMalformed)
        }
    }

    let config: Config
    private let paths: [JMESPath]

    init(_ config: Config) {
        self.config = config
        paths = config.expressions.compactMap { try? JMESPath($0) }
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            if !apply(to: &entries[index]) && config.dropMalformed {
                context.drop(&entries[index], reason: "malformed_json")
            }
        }
    }

    /// False when the input is not a JSON object.
    @discardableResult
    func apply(to entry: inout ProcessEntry) -> Bool {
        let input: String
        if let source = config.source {
            guard let text = entry.extractedText(source) else { return true }
            input = text
        } else {
            input = entry.lineText
        }
        let document: Value
        do throws(JSONCoding.DecodeError) {
            document = try JSONCoding.decode(input)
        } catch {
            return false
        }
        guard case .object = document else { return false }
        for (name, path) in zip(config.names, paths) {
            entry.setExtracted(name, Self.extracted(path.search(document)))
        }
        return true
    }

    static func extracted(_ value: Value) -> ExtractedValue {
        switch value {
        case .string(let text), .secret(let text): return .string(text)
        case .number(let number): return .number(number.doubleValue)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        default: return .string((try? JSONCoding.encode(value)) ?? "")
        }
    }
}

/// `stage.docker`: Alloy's predefined pipeline for Docker's JSON log files (`{"log":..., "stream":...,
/// "time":...}`): `json` (`output = log`, `stream = stream`, `timestamp = time`), `labels` (`stream`),
/// `timestamp` (`timestamp`, RFC3339Nano, fudge) and `output` (`output`).
struct DockerStage: ProcessStage {
    private var json = JSONStage(JSONStage.Config(expressions: [("output", "log"), ("stream", "stream"), ("timestamp", "time")]))
    private var labels = LabelsStage(LabelsStage.Config(names: ["stream"], sources: ["stream"]))
    private var timestamp = TimestampStage(TimestampStage.Config(source: "timestamp", format: "RFC3339Nano"))
    private var output = OutputStage(config: OutputStage.Config(source: "output"))

    init() {}

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        json.process(&entries, &context)
        labels.process(&entries, &context)
        timestamp.process(&entries, &context)
        output.process(&entries, &context)
    }
}
