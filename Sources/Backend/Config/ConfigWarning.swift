/// Something in the configuration that is ignored; start-up continues and the warning is logged.
///
/// `config.yaml:12:3: unknown key limits_config.foo (ignored)`.
public struct ConfigWarning: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line of the key the warning is about.
    public var line: Int
    /// 1-based column of the key the warning is about.
    public var column: Int
    /// Dotted key path of the key the warning is about.
    public var path: String
    /// The warning without its position: `unknown key limits_config.foo (ignored)`.
    public var message: String

    public var description: String {
        "\(file):\(line):\(column): \(message)"
    }
}
