#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Yams

/// Reads the backend's Loki-style YAML configuration.
///
/// Called once at start-up (and by tests). Every error names `file:line:column`, the key path, what was expected
/// and what was found; keys this version does not read come back as warnings for the caller to log.
public enum ConfigLoader {
    /// Reads and parses the file at `path`. With `expandEnv`, `${VAR}` and `${VAR:-default}` are expanded from
    /// `environment` before parsing (Loki's `-config.expand-env`).
    public static func load(
        path: String, expandEnv: Bool, environment: [String: String]
    ) throws(ConfigError) -> (config: BackendConfig, warnings: [ConfigWarning]) {
        let text = try readFile(path)
        return try parse(yaml: text, file: path, expandEnv: expandEnv, environment: environment)
    }

    /// Parses configuration text; `file` names it in errors and warnings.
    public static func parse(
        yaml: String, file: String, expandEnv: Bool, environment: [String: String]
    ) throws(ConfigError) -> (config: BackendConfig, warnings: [ConfigWarning]) {
        var text = yaml
        if expandEnv {
            do {
                text = try EnvironmentExpansion.expand(yaml, environment: environment)
            } catch {
                throw ConfigError(file: file, line: error.line, column: error.column,
                                  message: "-config.expand-env: \(error.message)")
            }
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            var failure = syntaxError(error, text: text, file: file)
            if !expandEnv, text.contains("${") {
                failure.message += " (the file contains ${...}: pass -config.expand-env=true to expand environment variables)"
            }
            throw failure
        }
        var decoder = ConfigDecoder(file: file, expandEnv: expandEnv)
        let config = try decoder.decode(root)
        return (config, decoder.warnings)
    }

    /// A YAML syntax error with its position.
    static func syntaxError(_ error: any Error, text: String, file: String) -> ConfigError {
        guard let yamlError = error as? YamlError else {
            return ConfigError(file: file, message: "invalid YAML: \(error)")
        }
        func describe(_ problem: String, _ context: YamlError.Context?, at mark: Mark) -> String {
            if problem.hasPrefix("Maximum nesting level") {
                return "invalid YAML: nested deeper than libyaml's limit of 1000 levels"
            }
            if problem == "but found another document" {
                return "invalid YAML: a second document starts here; a configuration file holds one document"
            }
            var message = "invalid YAML: \(problem)"
            if let context, context.mark.line != mark.line || context.mark.column != mark.column {
                message += " (\(context.text) at \(context.mark.line):\(context.mark.column))"
            }
            if character(at: mark, in: text) == "\t" {
                message += "; YAML is indented with spaces, not tabs"
            }
            return message
        }
        switch yamlError {
        case .scanner(let ctx, let problem, let mark, _), .parser(let ctx, let problem, let mark, _),
             .composer(let ctx, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column,
                               message: describe(problem, ctx, at: mark))
        case .reader(let problem, let offset, _, _):
            let (line, column) = position(ofCharacter: offset ?? 0, in: text)
            return ConfigError(file: file, line: line, column: column, message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let ctx):
            let keys = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigError(file: file, line: ctx.mark.line, column: ctx.mark.column,
                               message: "invalid YAML: duplicate key \(keys) in one mapping; keep one")
        default:
            return ConfigError(file: file, message: "invalid YAML: \(yamlError)")
        }
    }

    /// The character at a 1-based line and column (columns count Unicode scalars, as libyaml does).
    private static func character(at mark: Mark, in text: String) -> Unicode.Scalar? {
        var line = 1
        var column = 1
        for scalar in text.unicodeScalars {
            if line == mark.line && column == mark.column { return scalar }
            if scalar == "\n" {
                if line == mark.line { return nil }
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return nil
    }

    private static func position(ofCharacter offset: Int, in text: String) -> (Int, Int) {
        var line = 1
        var column = 1
        for character in text.prefix(offset) {
            if character == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }

    /// The whole file as UTF-8 text.
    private static func readFile(_ path: String) throws(ConfigError) -> String {
        let bytes = try readBytes(path, what: "the configuration file",
                                  hint: "set -config.file to the path of a Loki YAML file")
        guard let text = String(validating: bytes, as: UTF8.self) else {
            let (line, column) = invalidUTF8Position(bytes)
            throw ConfigError(file: path, line: line, column: column,
                              message: "the configuration file is not valid UTF-8 text")
        }
        return text
    }

    /// The whole file; an error names `what` could not be read, why, and (when it cannot be opened) `hint`.
    static func readBytes(_ path: String, what: String, hint: String) throws(ConfigError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ConfigError(file: path, message: "cannot read \(what): \(String(cString: strerror(errno))); \(hint)")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ConfigError(file: path, message: "cannot read \(what): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Line and column of the first byte that is not valid UTF-8.
    static func invalidUTF8Position(_ bytes: [UInt8]) -> (Int, Int) {
        var line = 1
        var column = 1
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            case .emptyInput, .error:
                return (line, column)
            }
        }
    }
}
