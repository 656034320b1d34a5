/// A hand-written scanner over Unicode scalars that keeps the line and column of its position for error messages:
/// the LogQL lexer and the config's `${VAR}` expansion.
protocol ScalarScanning {
    var scalars: [Unicode.Scalar] { get }
    var index: Int { get set }
    /// 1-based, of `index`.
    var line: Int { get set }
    var column: Int { get set }
}

extension ScalarScanning {
    /// The scalar `offset` past the position, nil past the end.
    func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    /// Moves past the scalar at the position, which must exist.
    mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }
}
