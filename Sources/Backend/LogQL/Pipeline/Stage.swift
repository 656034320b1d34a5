import GoCompat
import Wire

/// A compiled pipeline stage.
enum Stage: Sendable {
    case lineFilters(LineFilterChain)
    case json
    case jsonExpressions([(label: String, path: [JSONPath.Element])])
    case logfmt(strict: Bool, keepEmpty: Bool)
    case logfmtExpressions(strict: Bool, keepEmpty: Bool, [(label: String, key: String)])
    case regexp(RE2Regex, names: [(group: Int, name: String)])
    case pattern(PatternMatcher)
    case unpack
    case lineFormat(LokiTemplate)
    case labelFormat([(destination: String, operation: LabelFormatStep)])
    case labelFilter(LabelFilter)
    case decolorize
    case drop([LabelSelection])
    case keep([LabelSelection])

    enum LabelFormatStep: Sendable {
        case rename(String)
        case template(LokiTemplate)
    }

    init(_ stage: PipelineStage) throws(LogQLError) {
        switch stage {
        case .lineFilters(let filters):
            self = .lineFilters(LineFilterChain(filters))
        case .json(let parameters):
            if parameters.isEmpty {
                self = .json
                return
            }
            var expressions: [(label: String, path: [JSONPath.Element])] = []
            for parameter in parameters {
                let source = parameter.expression ?? parameter.label
                let path: [JSONPath.Element]
                do throws(JSONPath.ParseError) {
                    path = try JSONPath.parse(source)
                } catch {
                    throw LogQLError(line: 0, column: 0, message: "cannot parse expression [\(source)]: \(error.message)")
                }
                guard LabelKeys.isValidLabelName(parameter.label) else {
                    throw LogQLError(line: 0, column: 0, message: "invalid extracted label name '\(parameter.label)'")
                }
                expressions.append((parameter.label, path))
            }
            self = .jsonExpressions(expressions)
        case .logfmt(let strict, let keepEmpty, let parameters):
            if parameters.isEmpty {
                self = .logfmt(strict: strict, keepEmpty: keepEmpty)
                return
            }
            var expressions: [(label: String, key: String)] = []
            for parameter in parameters {
                guard LabelKeys.isValidLabelName(parameter.label) else {
                    throw LogQLError(line: 0, column: 0, message: "invalid extracted label name '\(parameter.label)'")
                }
                expressions.append((parameter.label, parameter.expression ?? parameter.label))
            }
            self = .logfmtExpressions(strict: strict, keepEmpty: keepEmpty, expressions)
        case .regexp(let source):
            let regex: RE2Regex
            do throws(RE2Error) {
                regex = try RE2Regex(source, dotMatchesNewline: false)
            } catch {
                throw LogQLError(line: 0, column: 0, message: error.description)
            }
            var names: [(group: Int, name: String)] = []
            var seen = Set<String>()
            for (group, name) in regex.captureNames.enumerated() {
                guard let name, !name.isEmpty else { continue }
                guard LabelKeys.isValidLabelName(name) else {
                    throw LogQLError(line: 0, column: 0, message: "invalid extracted label name '\(name)'")
                }
                guard seen.insert(name).inserted else {
                    throw LogQLError(line: 0, column: 0, message: "duplicate extracted label name '\(name)'")
                }
                names.append((group, name))
            }
            guard !names.isEmpty else {
                throw LogQLError(line: 0, column: 0, message: "at least one named capture must be supplied")
            }
            self = .regexp(regex, names: names)
        case .pattern(let source):
            let matcher = try PatternMatcher(source, requireNamedCapture: true)
            for name in matcher.names where !LabelKeys.isValidLabelName(name) {
                throw LogQLError(line: 0, column: 0, message: "invalid capture label name '\(name)'")
            }
            self = .pattern(matcher)
        case .unpack:
            self = .unpack
        case .lineFormat(let source):
            do throws(GoTemplate.TemplateError) {
                self = .lineFormat(try LokiTemplate(source))
            } catch {
                throw LogQLError(line: 0, column: 0, message: "invalid line template: template: line:1: \(error.description)")
            }
        case .labelFormat(let operations):
            var seen = Set<String>()
            var steps: [(destination: String, operation: LabelFormatStep)] = []
            for operation in operations {
                let destination = operation.destination
                if destination == LogPipeline.errorLabel {
                    throw LogQLError(line: 0, column: 0, message: "\(destination) cannot be formatted")
                }
                guard seen.insert(destination).inserted else {
                    throw LogQLError(line: 0, column: 0,
                                     message: "multiple label name '\(destination)' not allowed in a single format operation")
                }
                switch operation {
                case .rename(_, let source):
                    steps.append((destination, .rename(source)))
                case .template(_, let source):
                    do throws(GoTemplate.TemplateError) {
                        steps.append((destination, .template(try LokiTemplate(source))))
                    } catch {
                        throw LogQLError(line: 0, column: 0,
                                         message: "invalid template for label '\(destination)': template: label:1: \(error.description)")
                    }
                }
            }
            self = .labelFormat(steps)
        case .labelFilter(let expression):
            self = .labelFilter(try LabelFilter(expression))
        case .decolorize:
            self = .decolorize
        case .drop(let selections):
            self = .drop(selections)
        case .keep(let selections):
            self = .keep(selections)
        }
    }

    /// The labels the stage reads, for parser hints; nil when it may read any label.
    var referencedLabels: Set<String>? {
        switch self {
        case .lineFilters, .json, .jsonExpressions, .logfmt, .logfmtExpressions, .regexp, .pattern, .unpack, .decolorize:
            return []
        case .lineFormat(let template):
            return template.referencedLabels
        case .labelFormat(let steps):
            var names = Set<String>()
            for step in steps {
                switch step.operation {
                case .rename(let source): names.insert(source)
                case .template(let template):
                    guard let referenced = template.referencedLabels else { return nil }
                    names.formUnion(referenced)
                }
            }
            return names
        case .labelFilter(let filter):
            return filter.names
        case .drop(let selections), .keep(let selections):
            var names = Set<String>()
            for selection in selections {
                switch selection {
                case .name(let name): names.insert(name)
                case .matcher(let matcher): names.insert(matcher.name)
                }
            }
            return names
        }
    }

    var isParser: Bool {
        switch self {
        case .json, .jsonExpressions, .logfmt, .logfmtExpressions, .regexp, .pattern, .unpack: true
        default: false
        }
    }
}

/// Per-stream state of a stage: the key cache of parsers.
final class StageState {
    let keys: KeyCache?
    let nestedKeys: KeyCache?

    init(for stage: Stage) {
        keys = stage.isParser ? KeyCache() : nil
        if case .json = stage { nestedKeys = KeyCache() } else { nestedKeys = nil }
    }
}
