import GoCompat
import Wire

/// The OTTL context a group of statements runs in: once per log record, per resource, or per scope.
public enum OTTLContext: String, Sendable, Equatable, CaseIterable {
    case log, resource, scope
}

/// A field a path names, resolved for its context when the statement is parsed.
enum OTTLField: Sendable, Equatable {
    case attributes, body, severityText, severityNumber, timeUnixNano, observedTimeUnixNano, flags, eventName
    case droppedAttributesCount
    case resourceAttributes, resourceDroppedAttributesCount
    case scopeName, scopeVersion, scopeAttributes, scopeDroppedAttributesCount

    /// Whether `[key]` may follow the field.
    var isIndexable: Bool {
        switch self {
        case .attributes, .body, .resourceAttributes, .scopeAttributes: true
        default: false
        }
    }

    /// Whether a statement in `context` can reach the field.
    func isAvailable(in context: OTTLContext) -> Bool {
        switch self {
        case .resourceAttributes, .resourceDroppedAttributesCount: true
        case .scopeName, .scopeVersion, .scopeAttributes, .scopeDroppedAttributesCount: context != .resource
        default: context == .log
        }
    }
}

/// `["key"]` or `[0]` after a path or converter.
enum OTTLKey: Sendable, Equatable {
    case string(String)
    case index(Int64)
}

/// A path such as `attributes["http.method"]` or `resource.attributes["service.name"]`.
struct OTTLPath: Sendable, Equatable {
    var field: OTTLField
    var keys: [OTTLKey]
}

/// A regular expression given as a string literal, compiled (RE2 syntax, unanchored) when the statement loads.
struct OTTLPattern: Sendable, Equatable {
    let source: String
    let regex: AnchoredRegex

    init(_ source: String) throws(RE2Error) {
        self.source = source
        regex = try AnchoredRegex(source)
    }

    static func == (lhs: OTTLPattern, rhs: OTTLPattern) -> Bool { lhs.source == rhs.source }
}

/// A value: a literal, a path, a list or map literal, or a converter call.
indirect enum OTTLExpression: Sendable, Equatable {
    case literal(OTLPAnyValue?)
    case path(OTTLPath)
    case list([OTTLExpression])
    case map([OTTLMapEntry])
    case converter(OTTLConverterCall)
}

struct OTTLMapEntry: Sendable, Equatable {
    var key: String
    var value: OTTLExpression
}

/// A converter (a function that returns a value) and the keys indexing its result.
struct OTTLConverterCall: Sendable, Equatable {
    var converter: OTTLConverter
    var keys: [OTTLKey]
}

enum OTTLCaseConversion: String, Sendable, Equatable {
    case lower, upper
}

enum OTTLConverter: Sendable, Equatable {
    case parseJSON(OTTLExpression)
    case concat([OTTLExpression], delimiter: String)
    case isMatch(OTTLExpression, OTTLPattern)
    case convertCase(OTTLExpression, OTTLCaseConversion)
    case int(OTTLExpression)
    case double(OTTLExpression)
    case string(OTTLExpression)
    case sha256(OTTLExpression)
}

enum OTTLMergeStrategy: String, Sendable, Equatable {
    case insert, update, upsert
}

enum OTTLReplaceMode: String, Sendable, Equatable {
    case key, value
}

/// An editor (a function that changes the telemetry) with its arguments.
enum OTTLEditor: Sendable, Equatable {
    case set(OTTLPath, OTTLExpression)
    case deleteKey(OTTLPath, String)
    case deleteMatchingKeys(OTTLPath, OTTLPattern)
    case keepKeys(OTTLPath, [String])
    case keepMatchingKeys(OTTLPath, OTTLPattern)
    case replacePattern(OTTLPath, OTTLPattern, OTTLExpression)
    case replaceAllPatterns(OTTLPath, OTTLReplaceMode, OTTLPattern, OTTLExpression)
    case mergeMaps(OTTLPath, OTTLExpression, OTTLMergeStrategy)
    case limit(OTTLPath, Int, [String])
    case truncateAll(OTTLPath, Int)
}

enum OTTLComparison: Sendable, Equatable {
    case equal, notEqual, less, lessOrEqual, greater, greaterOrEqual
}

/// A `where` condition.
indirect enum OTTLCondition: Sendable, Equatable {
    case or(OTTLCondition, OTTLCondition)
    case and(OTTLCondition, OTTLCondition)
    case not(OTTLCondition)
    case compare(OTTLExpression, OTTLComparison, OTTLExpression)
    case constant(Bool)
    /// A converter that must return a boolean (`IsMatch(...)`).
    case converter(OTTLConverterCall)
}

/// One parsed OTTL statement: an editor call and its optional `where` condition, with its text for messages.
public struct OTTLStatement: Sendable, Equatable {
    public let text: String
    let editor: OTTLEditor
    let condition: OTTLCondition?

    /// Parses `text` for `context`; a statement with an unsupported function, path or construct is an error
    /// naming it and its position.
    /// `requireContextPrefix`: every path must start with its context (`log.`, `scope.`, `resource.`), as in the
    /// `statements` block.
    public init(_ text: String, context: OTTLContext, requireContextPrefix: Bool = false) throws(OTTLSyntaxError) {
        self.text = text
        var parser = OTTLParser(tokens: try OTTLLexer.tokens(text), context: context,
                                requireContextPrefix: requireContextPrefix)
        (editor, condition) = try parser.statement()
    }

    /// The contexts the paths of `text` name (`log.body` names `log`); every path must name one.
    public static func namedContexts(_ text: String) throws(OTTLSyntaxError) -> Set<OTTLContext> {
        var parser = OTTLParser(tokens: try OTTLLexer.tokens(text), context: .log, requireContextPrefix: true)
        _ = try parser.statement()
        return parser.namedContexts
    }
}

extension OTTLContext {
    /// The context statements naming `contexts` run in: the lowest one (a log statement can reach its resource,
    /// not the other way round); `resource` when none is named.
    public static func lowest(of contexts: Set<OTTLContext>) -> OTTLContext {
        contexts.contains(.log) ? .log : contexts.contains(.scope) ? .scope : .resource
    }
}

/// A standalone condition (a `conditions` entry of `log_statements`).
public struct OTTLConditionText: Sendable, Equatable {
    public let text: String
    let condition: OTTLCondition

    public init(_ text: String, context: OTTLContext) throws(OTTLSyntaxError) {
        self.text = text
        var parser = OTTLParser(tokens: try OTTLLexer.tokens(text), context: context)
        condition = try parser.standaloneCondition()
    }
}
