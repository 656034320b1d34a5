/// A configuration that cannot be used: start-up stops and the operator reads this message.
///
/// It names the file and position (`loki.yaml:2:18`), the dotted key path (`limits_config.max_line_size`), what was
/// expected and what was found:
/// `loki.yaml:2:18: limits_config.max_line_size: expected a size such as 256KB or 1MB, got "lots"`.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file as the operator named it; empty when the error is not about a file.
    public var file: String
    /// 1-based line, or nil when the error is not tied to a position.
    public var line: Int?
    /// 1-based column (Unicode scalars), or nil when the error is not tied to a position.
    public var column: Int?
    /// Dotted key path (`schema_config.configs[0].schema`); empty when the error is about the whole file.
    public var path: String
    /// What is wrong and, where it helps, what to do.
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, path: String = "", message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var text = ""
        if !file.isEmpty { text = file }
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        if !text.isEmpty { text += ": " }
        if !path.isEmpty { text += path + ": " }
        return text + message
    }
}
