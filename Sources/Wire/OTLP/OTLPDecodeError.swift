/// An OTLP request or response body could not be decoded.
///
/// The description is meant for the client, as the body of a 400 response: the format (`proto:` or `json:`),
/// what was wrong, the byte offset in the body, and the field path in OTLP/JSON names, e.g.
/// `proto: wrong wire type 0 (expected 2) for field 5 (body) of LogRecord at byte 57
/// (at resourceLogs[0].scopeLogs[0].logRecords[3].body)`.
public struct OTLPDecodeError: JSONSyntaxFailure, Sendable, Equatable, CustomStringConvertible {
    public enum Format: String, Sendable {
        case protobuf = "proto"
        case json = "json"
    }

    public var format: Format
    /// What was wrong, without the position.
    public var reason: String
    /// The byte offset in the body where the problem was found.
    public var offset: Int
    /// The path to the field, in OTLP/JSON names (`resourceLogs[0].scopeLogs[1].logRecords[7].traceId`); empty
    /// at the top level.
    public var path = ""

    /// The whole message, for a 400 response body or a log line (the same as `description`).
    public var message: String { description }

    public var description: String {
        var text = "\(format.rawValue): \(reason) at byte \(offset)"
        if !path.isEmpty { text += " (at \(path))" }
        return text
    }

    /// The same error seen from the enclosing field: `component` goes in front of the path.
    func within(_ component: String) -> OTLPDecodeError {
        var copy = self
        if path.isEmpty {
            copy.path = component
        } else if path.first == "[" {
            copy.path = component + path
        } else {
            copy.path = component + "." + path
        }
        return copy
    }
}

extension OTLPDecodeError {
    public init(jsonSyntax reason: String, offset: Int) {
        self.init(format: .json, reason: reason, offset: offset)
    }
}
