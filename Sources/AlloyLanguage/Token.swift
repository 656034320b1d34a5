/// The lexical tokens of the Alloy syntax. `description` is the name Alloy uses in its messages
/// (`IDENT`, `STRING`, `=`, `TERMINATOR`, ...), so our messages read like Alloy's.
enum TokenKind: Sendable, Hashable, CustomStringConvertible {
    case illegal, eof, comment
    case identifier, number, float, string, bool, null
    case or, and, not
    case assign
    case equal, notEqual, less, lessEqual, greater, greaterEqual
    case add, subtract, multiply, divide, modulo, power
    case leftCurly, rightCurly, leftParen, rightParen, leftBracket, rightBracket, comma, dot
    /// A newline (or the end of the file) that ends a statement or list element.
    case terminator

    var description: String {
        switch self {
        case .illegal: "ILLEGAL"
        case .eof: "EOF"
        case .comment: "COMMENT"
        case .identifier: "IDENT"
        case .number: "NUMBER"
        case .float: "FLOAT"
        case .string: "STRING"
        case .bool: "BOOL"
        case .null: "NULL"
        case .or: "||"
        case .and: "&&"
        case .not: "!"
        case .assign: "="
        case .equal: "=="
        case .notEqual: "!="
        case .less: "<"
        case .lessEqual: "<="
        case .greater: ">"
        case .greaterEqual: ">="
        case .add: "+"
        case .subtract: "-"
        case .multiply: "*"
        case .divide: "/"
        case .modulo: "%"
        case .power: "^"
        case .leftCurly: "{"
        case .rightCurly: "}"
        case .leftParen: "("
        case .rightParen: ")"
        case .leftBracket: "["
        case .rightBracket: "]"
        case .comma: ","
        case .dot: "."
        case .terminator: "TERMINATOR"
        }
    }

    /// Precedence of the token as a binary operator, 0 when it is not one. Alloy's table: `||` 1, `&&` 2,
    /// comparisons 3, `+ -` 4, `* / %` 5, `^` 6.
    var binaryPrecedence: Int {
        switch self {
        case .or: 1
        case .and: 2
        case .equal, .notEqual, .less, .lessEqual, .greater, .greaterEqual: 3
        case .add, .subtract: 4
        case .multiply, .divide, .modulo: 5
        case .power: 6
        default: 0
        }
    }
}

/// One scanned token. Offsets are UTF-8 byte offsets into the file; `end` is exclusive.
struct Token: Sendable {
    var kind: TokenKind
    /// Source text for literals, identifiers, comments and illegal characters; empty otherwise.
    var text: String
    var start: Int
    var end: Int
}
