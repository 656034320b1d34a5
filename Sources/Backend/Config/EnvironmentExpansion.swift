/// `-config.expand-env=true`: environment variables substituted into the configuration text before it is parsed,
/// as Loki does with `github.com/drone/envsubst`.
///
/// - `${VAR}` is the variable's value, or the empty string when it is unset.
/// - `${VAR:-default}` (also `${VAR:=default}` and `${VAR=default}`, which envsubst treats the same) is the
///   default when the variable is unset or empty. The default may itself contain `${OTHER}`. Names may contain
///   `-`, so `${VAR-default}` is the variable named `VAR-default`, as in envsubst.
/// - `$$` is a literal `$` (so `$${VAR}` stays `${VAR}`); a `$` not followed by `{` is kept as written, so
///   `$VAR` is not expanded.
/// - envsubst's string functions (`${VAR^^}`, `${VAR:1:2}`, `${VAR/a/b}`, ...) are refused with a clear error.
enum EnvironmentExpansion {
    struct Failure: Error, Equatable {
        var line: Int
        var column: Int
        var message: String
    }

    static func expand(_ text: String, environment: [String: String]) throws(Failure) -> String {
        var expander = Expander(scalars: Array(text.unicodeScalars), environment: environment)
        return try expander.expandText()
    }

    private struct Expander: ScalarScanning {
        let scalars: [Unicode.Scalar]
        let environment: [String: String]
        var index = 0
        var line = 1
        var column = 1

        init(scalars: [Unicode.Scalar], environment: [String: String]) {
            self.scalars = scalars
            self.environment = environment
        }

        mutating func expandText() throws(Failure) -> String {
            var output = String.UnicodeScalarView()
            while let scalar = peek(0) {
                if scalar == "$", peek(1) == "$" {
                    advance()
                    advance()
                    output.append("$")
                } else if scalar == "$", peek(1) == "{" {
                    output.append(contentsOf: try substitution().unicodeScalars)
                } else {
                    advance()
                    output.append(scalar)
                }
            }
            return String(output)
        }

        /// `${...}` starting at the current position.
        private mutating func substitution() throws(Failure) -> String {
            let startLine = line
            let startColumn = column
            func failure(_ message: String) -> Failure {
                Failure(line: startLine, column: startColumn, message: message)
            }
            advance()
            advance()
            var name = String.UnicodeScalarView()
            while let scalar = peek(0), Self.isNameScalar(scalar) {
                name.append(scalar)
                advance()
            }
            guard let next = peek(0) else {
                throw failure("unterminated ${ (no closing }); write $$ for a literal $")
            }
            if name.isEmpty {
                throw failure("bad substitution: expected a variable name after ${, found \"\(next)\"")
            }
            let value = environment[String(name)] ?? ""
            if next == "}" {
                advance()
                return value
            }
            let isDefault: Bool
            switch (next, peek(1)) {
            case (":", "-"), (":", "="):
                advance()
                advance()
                isDefault = true
            case ("=", _):
                advance()
                isDefault = true
            default:
                isDefault = false
            }
            guard isDefault else {
                var form = String.UnicodeScalarView()
                var probe = 0
                while let scalar = peek(probe), scalar != "}", scalar != "\n", form.count < 40 {
                    form.append(scalar)
                    probe += 1
                }
                throw failure("${\(String(name))\(String(form))} is not supported; use ${VAR} or ${VAR:-default}")
            }
            var fallback = String.UnicodeScalarView()
            while true {
                guard let scalar = peek(0) else {
                    throw failure("unterminated ${\(String(name)):-... (no closing })")
                }
                if scalar == "}" {
                    advance()
                    break
                }
                if scalar == "$", peek(1) == "{" {
                    fallback.append(contentsOf: try substitution().unicodeScalars)
                } else {
                    fallback.append(scalar)
                    advance()
                }
            }
            return value.isEmpty ? String(fallback) : value
        }


        /// envsubst's identifier characters: letters, digits, `_` and `-`.
        private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || scalar == "-" || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
        }
    }
}
