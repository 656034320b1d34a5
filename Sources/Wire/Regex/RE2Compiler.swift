/// Compiles an `RE2Node` tree to an ``RE2Program``, as Go's `regexp/syntax` compiler after `Simplify`: counted
/// repetition is expanded (`x{2,5}` is `xx(x(x(x)?)?)?`), and a star of something that can match empty is
/// `(x+)?` so that leftmost-first priorities come out as Go's.
struct RE2Compiler {
    /// The most instructions a program may have. Go allows more; this bounds the memory a single user pattern
    /// can take (each instruction costs scratch space in every match), and with the parser's limit of 1000 on
    /// nested repetition only very long patterns reach it.
    static let maxInstructions = 250_000

    /// An unfinished piece of program: where it starts and the exits still to be connected.
    private struct Fragment {
        var start: Int32
        /// Instruction index shifted left once; the low bit set means the `argument` exit, else `next`.
        var holes: [Int]
        var nullable: Bool
    }

    private var instructions: [RE2Program.Instruction] = []
    private var sets: [RE2RuneSet] = []
    /// Sets already built, so that the copies `x{1000}` makes share one (building a set tabulates ASCII).
    private var classSets: [ClassKey: Int32] = [:]
    private var literalSets: [UInt32: Int32?] = [:]

    private struct ClassKey: Hashable {
        var characterClass: RE2CharClass
        var foldCase: Bool
    }
    private let source: String

    private init(source: String) {
        self.source = source
    }

    static func compile(_ tree: RE2Node, captureCount: Int, source: String) throws(RE2Error) -> RE2Program {
        // Refuse before building: a pattern at the limit would otherwise cost a quarter million instructions.
        guard estimatedSize(tree) <= maxInstructions - 3 else {
            throw RE2Error(code: RE2Error.expressionTooLarge, fragment: source)
        }
        var compiler = RE2Compiler(source: source)
        let body = try compiler.compile(tree)
        let open = try compiler.emit(.save, argument: 0)
        compiler.patch([Int(open) << 1], to: body.start)
        let close = try compiler.emit(.save, argument: 1)
        compiler.patch(body.holes, to: close)
        let match = try compiler.emit(.match)
        compiler.patch([Int(close) << 1], to: match)
        var program = RE2Program(
            instructions: compiler.instructions, sets: compiler.sets, start: open, slotCount: 2 * (captureCount + 1),
            anchoredStart: false, prefix: [], firstBytes: nil)
        program.anchoredStart = Self.startConditions(program) & RE2Program.EmptyWidth.beginText != 0
        program.prefix = program.anchoredStart ? [] : Self.literalPrefix(program)
        program.firstBytes = Self.firstBytes(program)
        return program
    }

    // MARK: Emitting

    private mutating func emit(_ opcode: RE2Program.Opcode, argument: Int32 = 0) throws(RE2Error) -> Int32 {
        guard instructions.count < Self.maxInstructions else {
            throw RE2Error(code: RE2Error.expressionTooLarge, fragment: source)
        }
        instructions.append(RE2Program.Instruction(opcode: opcode, next: -1, argument: argument))
        return Int32(instructions.count - 1)
    }

    private mutating func patch(_ holes: [Int], to target: Int32) {
        for hole in holes {
            if hole & 1 == 1 {
                instructions[hole >> 1].argument = target
            } else {
                instructions[hole >> 1].next = target
            }
        }
    }

    private mutating func single(_ opcode: RE2Program.Opcode, argument: Int32 = 0, nullable: Bool = false)
        throws(RE2Error) -> Fragment
    {
        let index = try emit(opcode, argument: argument)
        return Fragment(start: index, holes: [Int(index) << 1], nullable: nullable)
    }

    private mutating func addSet(_ set: RE2RuneSet) -> Int32 {
        sets.append(set)
        return Int32(sets.count - 1)
    }

    // MARK: Nodes

    private mutating func compile(_ node: RE2Node) throws(RE2Error) -> Fragment {
        typealias Empty = RE2Program.EmptyWidth
        switch node {
        case .empty:
            return try single(.nop, nullable: true)
        case .literal(let scalar, let foldCase):
            guard foldCase else { return try single(.rune1, argument: Int32(bitPattern: scalar.value)) }
            let index: Int32?
            if let known = literalSets[scalar.value] {
                index = known
            } else {
                // A letter with other cases is a set of them; anything else stays a single scalar.
                index = RE2RuneSet.orbit(scalar.value).count > 1
                    ? addSet(RE2RuneSet(literal: scalar.value, foldCase: true)) : nil
                literalSets[scalar.value] = index
            }
            guard let index else { return try single(.rune1, argument: Int32(bitPattern: scalar.value)) }
            return try single(.runeSet, argument: index)
        case .anyCharacter(let newline):
            return try single(newline ? .anyRune : .anyRuneNotNewline)
        case .characterClass(let characterClass, let foldCase):
            let key = ClassKey(characterClass: characterClass, foldCase: foldCase)
            if let index = classSets[key] { return try single(.runeSet, argument: index) }
            var properties: [RE2UnicodeProperty] = []
            for escape in characterClass.properties {
                guard let property = RE2UnicodeProperty(escape: escape) else {
                    // The parser checks the spelling; this is a name Unicode does not know.
                    throw RE2Error(code: RE2Error.invalidCharRange, fragment: source)
                }
                properties.append(property)
            }
            let index = addSet(RE2RuneSet(
                ranges: characterClass.ranges, properties: properties, negated: characterClass.negated,
                foldCase: foldCase))
            classSets[key] = index
            return try single(.runeSet, argument: index)
        case .beginText: return try single(.emptyWidth, argument: Int32(Empty.beginText), nullable: true)
        case .endText: return try single(.emptyWidth, argument: Int32(Empty.endText), nullable: true)
        case .beginLine: return try single(.emptyWidth, argument: Int32(Empty.beginLine), nullable: true)
        case .endLine: return try single(.emptyWidth, argument: Int32(Empty.endLine), nullable: true)
        case .wordBoundary: return try single(.emptyWidth, argument: Int32(Empty.wordBoundary), nullable: true)
        case .notWordBoundary:
            return try single(.emptyWidth, argument: Int32(Empty.notWordBoundary), nullable: true)
        case .group(let inner):
            return try compile(inner)
        case .capture(let inner, let index, _):
            let open = try emit(.save, argument: Int32(2 * index))
            let body = try compile(inner)
            patch([Int(open) << 1], to: body.start)
            let close = try emit(.save, argument: Int32(2 * index + 1))
            patch(body.holes, to: close)
            return Fragment(start: open, holes: [Int(close) << 1], nullable: body.nullable)
        case .concatenation(let items):
            guard var result = try items.first.map({ (item) throws(RE2Error) in try compile(item) }) else {
                return try single(.nop, nullable: true)
            }
            for item in items.dropFirst() {
                result = concatenate(result, try compile(item))
            }
            return result
        case .alternation(let branches):
            return try alternate(branches[...])
        case .repetition(let operand, let min, let max, let greedy):
            return try repeatNode(operand, min: min, max: max, greedy: greedy)
        }
    }

    private mutating func concatenate(_ first: Fragment, _ second: Fragment) -> Fragment {
        patch(first.holes, to: second.start)
        return Fragment(start: first.start, holes: second.holes, nullable: first.nullable && second.nullable)
    }

    private mutating func alternate(_ branches: ArraySlice<RE2Node>) throws(RE2Error) -> Fragment {
        guard let first = branches.first else { return try single(.nop, nullable: true) }
        let head = try compile(first)
        if branches.count == 1 { return head }
        let split = try emit(.split)
        let rest = try alternate(branches.dropFirst())
        instructions[Int(split)].next = head.start
        instructions[Int(split)].argument = rest.start
        return Fragment(start: split, holes: head.holes + rest.holes, nullable: head.nullable || rest.nullable)
    }

    /// `x{min,max}` as Go's `Simplify` rewrites it.
    private mutating func repeatNode(_ operand: RE2Node, min: Int, max: Int?, greedy: Bool) throws(RE2Error)
        -> Fragment
    {
        guard let max else {
            if min == 0 { return try star(compile(operand), greedy: greedy) }
            // x{n,} is n-1 copies of x, then x+.
            var result: Fragment?
            for _ in 0..<(min - 1) {
                let copy = try compile(operand)
                result = result.map { concatenate($0, copy) } ?? copy
            }
            let last = try plus(compile(operand), greedy: greedy)
            return result.map { concatenate($0, last) } ?? last
        }
        if max == 0 { return try single(.nop, nullable: true) }
        var result: Fragment?
        for _ in 0..<min {
            let copy = try compile(operand)
            result = result.map { concatenate($0, copy) } ?? copy
        }
        if max > min {
            // The optional copies nest, x(x(x)?)?, so that the machine tracks fewer threads.
            var suffix = try quest(compile(operand), greedy: greedy)
            for _ in (min + 1)..<max {
                suffix = try quest(concatenate(compile(operand), suffix), greedy: greedy)
            }
            result = result.map { concatenate($0, suffix) } ?? suffix
        }
        guard let result else { preconditionFailure("max > 0 makes at least one copy") }
        return result
    }

    private mutating func loop(_ body: Fragment, greedy: Bool) throws(RE2Error) -> Fragment {
        let split = try emit(.split)
        let exit: Int
        if greedy {
            instructions[Int(split)].next = body.start
            exit = Int(split) << 1 | 1
        } else {
            instructions[Int(split)].argument = body.start
            exit = Int(split) << 1
        }
        patch(body.holes, to: split)
        return Fragment(start: split, holes: [exit], nullable: body.nullable)
    }

    private mutating func plus(_ body: Fragment, greedy: Bool) throws(RE2Error) -> Fragment {
        let looped = try loop(body, greedy: greedy)
        return Fragment(start: body.start, holes: looped.holes, nullable: body.nullable)
    }

    private mutating func star(_ body: Fragment, greedy: Bool) throws(RE2Error) -> Fragment {
        // (x+)? when x can match empty, so that the empty iteration does not outrank the others (Go issue 46123).
        if body.nullable { return try quest(plus(body, greedy: greedy), greedy: greedy) }
        let looped = try loop(body, greedy: greedy)
        return Fragment(start: looped.start, holes: looped.holes, nullable: true)
    }

    private mutating func quest(_ body: Fragment, greedy: Bool) throws(RE2Error) -> Fragment {
        let split = try emit(.split)
        var holes = body.holes
        if greedy {
            instructions[Int(split)].next = body.start
            holes.append(Int(split) << 1 | 1)
        } else {
            instructions[Int(split)].argument = body.start
            holes.append(Int(split) << 1)
        }
        return Fragment(start: split, holes: holes, nullable: true)
    }

    // MARK: Analysis

    /// An upper bound on the instructions `compile` emits for `node`, capped just above the limit.
    private static func estimatedSize(_ node: RE2Node) -> Int {
        let cap = maxInstructions + 1
        func product(_ count: Int, _ size: Int) -> Int {
            let (result, overflow) = count.multipliedReportingOverflow(by: size)
            return overflow ? cap : min(result, cap)
        }
        switch node {
        case .group(let inner):
            return estimatedSize(inner)
        case .capture(let inner, _, _):
            return min(estimatedSize(inner) + 2, cap)
        case .concatenation(let items):
            return min(items.reduce(0) { min($0 + estimatedSize($1), cap) }, cap)
        case .alternation(let items):
            return min(items.reduce(items.count) { min($0 + estimatedSize($1), cap) }, cap)
        case .repetition(let inner, let min, let max, _):
            let size = estimatedSize(inner)
            guard let max else { return Swift.min(product(Swift.max(min, 1), size) + 2, cap) }
            return Swift.min(product(min, size) + product(max - min, size + 1) + 1, cap)
        default:
            return 1
        }
    }

    /// The assertions every match must pass before consuming anything (Go's `StartCond`).
    private static func startConditions(_ program: RE2Program) -> UInt8 {
        var flags: UInt8 = 0
        var pc = Int(program.start)
        var steps = 0
        while steps < program.instructions.count {
            steps += 1
            let instruction = program.instructions[pc]
            switch instruction.opcode {
            case .emptyWidth: flags |= UInt8(instruction.argument)
            case .nop, .save: break
            default: return flags
            }
            pc = Int(instruction.next)
        }
        return flags
    }

    /// The literal bytes every match starts with (Go's `Prog.Prefix`): single scalars, not case-folded, and not
    /// U+FFFD, which also stands for invalid bytes.
    private static func literalPrefix(_ program: RE2Program) -> [UInt8] {
        var prefix: [UInt8] = []
        var pc = Int(program.start)
        while true {
            let instruction = program.instructions[pc]
            switch instruction.opcode {
            case .nop, .save:
                pc = Int(instruction.next)
            case .rune1 where instruction.argument != 0xFFFD:
                guard let scalar = Unicode.Scalar(UInt32(bitPattern: instruction.argument)) else { return prefix }
                prefix.append(contentsOf: String(scalar).utf8)
                pc = Int(instruction.next)
            default:
                return prefix
            }
        }
    }

    private static func firstBytes(_ program: RE2Program) -> (UInt64, UInt64)? {
        var low: UInt64 = 0
        var high: UInt64 = 0
        func add(_ byte: UInt32) {
            if byte < 64 { low |= 1 << UInt64(byte) } else if byte < 128 { high |= 1 << UInt64(byte - 64) }
        }
        var visited = Set<Int32>()
        var stack = [program.start]
        while let pc = stack.popLast() {
            guard visited.insert(pc).inserted else { continue }
            let instruction = program.instructions[Int(pc)]
            switch instruction.opcode {
            case .fail: break
            case .match, .emptyWidth, .anyRune: return nil
            case .anyRuneNotNewline:
                for byte in UInt32(0)..<128 where byte != 0x0A { add(byte) }
            case .rune1: add(UInt32(bitPattern: instruction.argument))
            case .runeSet:
                let set = program.sets[Int(instruction.argument)]
                for byte in UInt32(0)..<128 where set.contains(byte) { add(byte) }
            case .split:
                stack.append(instruction.next)
                stack.append(instruction.argument)
            case .save, .nop:
                stack.append(instruction.next)
            }
        }
        return (low, high)
    }
}
