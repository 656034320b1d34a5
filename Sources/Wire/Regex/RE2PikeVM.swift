/// The general matching engine: a Pike VM (Thompson simulation with capture slots, Go's `regexp` `machine`).
/// It steps every live thread over each scalar of the text once, in priority order, so a search takes time
/// proportional to program size times text length whatever the pattern, and the first thread to reach `match`
/// wins with Go's leftmost-first submatches.
///
/// One instance per search: its scratch buffers are sized by the program and freed with it.
final class RE2PikeVM {
    /// A sparse set of program counters in insertion (priority) order, each with the capture slots its thread
    /// carries when it is a thread (an instruction that consumes input or matches).
    private struct Queue {
        let sparse: UnsafeMutablePointer<Int32>
        let pcs: UnsafeMutablePointer<Int32>
        let isThread: UnsafeMutablePointer<Bool>
        let slots: UnsafeMutablePointer<Int>
        var count = 0

        init(size: Int, slotCount: Int) {
            sparse = .allocate(capacity: size)
            sparse.initialize(repeating: 0, count: size)
            pcs = .allocate(capacity: size)
            isThread = .allocate(capacity: size)
            slots = .allocate(capacity: max(1, size * slotCount))
        }

        func deallocate() {
            sparse.deallocate()
            pcs.deallocate()
            isThread.deallocate()
            slots.deallocate()
        }

        @inline(__always)
        func contains(_ pc: Int32) -> Bool {
            let index = Int(sparse[Int(pc)])
            return index < count && pcs[index] == pc
        }

        @inline(__always)
        mutating func insert(_ pc: Int32) -> Int {
            let index = count
            sparse[Int(pc)] = Int32(index)
            pcs[index] = pc
            isThread[index] = false
            count += 1
            return index
        }
    }

    private let program: RE2Program
    private let slotCount: Int
    private var current: Queue
    private var following: Queue
    /// Entries to explore in `add`: a program counter (>= 0) or a capture slot to restore (-slot - 1, value).
    private let stackPCs: UnsafeMutablePointer<Int32>
    private let stackValues: UnsafeMutablePointer<Int>
    /// The capture slots of the thread being extended.
    private let work: UnsafeMutablePointer<Int>
    private var matchSlots: [Int]
    private var matched = false

    private init(program: RE2Program, slotCount: Int) {
        self.program = program
        self.slotCount = slotCount
        let size = program.instructions.count
        current = Queue(size: size, slotCount: slotCount)
        following = Queue(size: size, slotCount: slotCount)
        stackPCs = .allocate(capacity: 3 * size + 1)
        stackValues = .allocate(capacity: 3 * size + 1)
        work = .allocate(capacity: max(1, slotCount))
        matchSlots = Array(repeating: -1, count: slotCount)
    }

    deinit {
        current.deallocate()
        following.deallocate()
        stackPCs.deallocate()
        stackValues.deallocate()
        work.deallocate()
    }

    /// Searches `text` from byte `start`; see ``RE2Regex`` for the meaning of the arguments and the result.
    static func search(
        _ program: RE2Program, _ text: UnsafeRawBufferPointer, from start: Int, anchored: Bool, requireEnd: Bool,
        slotCount: Int
    ) -> [Int]? {
        let machine = RE2PikeVM(program: program, slotCount: slotCount)
        return machine.run(text, from: start, anchored: anchored || program.anchoredStart, requireEnd: requireEnd)
    }

    private func run(_ text: UnsafeRawBufferPointer, from start: Int, anchored: Bool, requireEnd: Bool) -> [Int]? {
        if anchored && program.anchoredStart && start != 0 { return nil }
        let end = text.count
        var position = start
        var (value, width) = RE2UTF8.decode(text, position)
        let prefix = program.prefix
        while true {
            if current.count == 0 {
                if matched || (anchored && position != start) { break }
                // Nothing alive: jump to where a match could begin.
                if !anchored {
                    if !prefix.isEmpty {
                        guard let found = RE2Program.find(prefix, in: text, from: position) else { break }
                        if found != position {
                            position = found
                            (value, width) = RE2UTF8.decode(text, position)
                        }
                    } else if program.firstBytes != nil {
                        var skipped = position
                        while skipped < end, program.cannotStart(text[skipped]) { skipped += 1 }
                        if skipped != position {
                            position = skipped
                            (value, width) = RE2UTF8.decode(text, position)
                        }
                    }
                }
            }
            if !matched && (!anchored || position == start) {
                for slot in 0..<slotCount { work[slot] = -1 }
                if slotCount > 0 { work[0] = position }
                add(to: &current, program.start, at: position, flags: RE2Program.EmptyWidth.context(text, position))
            }
            let nextPosition = position + width
            let nextFlags = width == 0 ? 0 : RE2Program.EmptyWidth.context(text, nextPosition)
            step(at: position, value: value, nextPosition: nextPosition, nextFlags: nextFlags, end: end,
                 requireEnd: requireEnd)
            if width == 0 { break }
            if slotCount == 0 && matched { break }
            position = nextPosition
            (value, width) = RE2UTF8.decode(text, position)
            swap(&current, &following)
        }
        return matched ? matchSlots : nil
    }

    /// Runs every thread of `current` over one scalar, adding the survivors to `following`.
    private func step(at position: Int, value: UInt32, nextPosition: Int, nextFlags: UInt8, end: Int,
                      requireEnd: Bool) {
        let instructions = program.instructions
        var index = 0
        while index < current.count {
            defer { index += 1 }
            guard current.isThread[index] else { continue }
            let instruction = instructions[Int(current.pcs[index])]
            let accepted: Bool
            switch instruction.opcode {
            case .match:
                if requireEnd && position != end { continue }
                let slots = current.slots + index * slotCount
                for slot in 0..<slotCount { matchSlots[slot] = slots[slot] }
                if slotCount > 1 { matchSlots[1] = position }
                matched = true
                // Leftmost-first: the threads after this one have lower priority; drop them.
                current.count = 0
                return
            case .rune1: accepted = value == UInt32(bitPattern: instruction.argument)
            case .runeSet:
                accepted = value != RE2UTF8.endOfText && program.sets[Int(instruction.argument)].contains(value)
            case .anyRune: accepted = value != RE2UTF8.endOfText
            case .anyRuneNotNewline: accepted = value != RE2UTF8.endOfText && value != 0x0A
            default: preconditionFailure("only consuming and match instructions are threads")
            }
            if accepted {
                let slots = current.slots + index * slotCount
                for slot in 0..<slotCount { work[slot] = slots[slot] }
                add(to: &following, instruction.next, at: nextPosition, flags: nextFlags)
            }
        }
        current.count = 0
    }

    /// Follows the empty transitions from `pc` in priority order, adding each thread reached to `queue` with the
    /// capture slots in `work` (which it leaves as it found them).
    private func add(to queue: inout Queue, _ pc: Int32, at position: Int, flags: UInt8) {
        let instructions = program.instructions
        var depth = 0
        stackPCs[0] = pc
        depth = 1
        while depth > 0 {
            depth -= 1
            let pc = stackPCs[depth]
            if pc < 0 {
                work[Int(-pc - 1)] = stackValues[depth]
                continue
            }
            if queue.contains(pc) { continue }
            let index = queue.insert(pc)
            let instruction = instructions[Int(pc)]
            switch instruction.opcode {
            case .fail:
                break
            case .split:
                stackPCs[depth] = instruction.argument
                stackPCs[depth + 1] = instruction.next
                depth += 2
            case .emptyWidth:
                let required = UInt8(truncatingIfNeeded: instruction.argument)
                if flags & required == required {
                    stackPCs[depth] = instruction.next
                    depth += 1
                }
            case .nop:
                stackPCs[depth] = instruction.next
                depth += 1
            case .save:
                let slot = Int(instruction.argument)
                if slot < slotCount {
                    stackPCs[depth] = Int32(-slot - 1)
                    stackValues[depth] = work[slot]
                    work[slot] = position
                    depth += 1
                }
                stackPCs[depth] = instruction.next
                depth += 1
            case .match, .rune1, .runeSet, .anyRune, .anyRuneNotNewline:
                queue.isThread[index] = true
                let slots = queue.slots + index * slotCount
                for slot in 0..<slotCount { slots[slot] = work[slot] }
            }
        }
    }
}
