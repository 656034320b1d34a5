/// A bounded backtracker (Go's `regexp` `backtrack.go`): depth-first in priority order, so the first match found
/// is the leftmost-first one, and it records every (instruction, position) pair it visits so that no pair is
/// explored twice — time and memory stay proportional to program size times text length. It allocates that
/// bitmap, so it only runs where it is small (``canRun(_:textCount:)``): short texts such as label values and
/// most log lines, where it beats the Pike VM by not carrying a thread list.
final class RE2Backtracker {
    /// Go's limits: at most this many visited bits, and programs of at most `maxProgramSize` instructions.
    static let maxVisitedBits = 256 * 1024
    static let maxProgramSize = 500

    static func canRun(_ program: RE2Program, textCount: Int) -> Bool {
        let size = program.instructions.count
        return size <= maxProgramSize && textCount < maxVisitedBits / size
    }

    private struct Job {
        var pc: Int32
        /// For a split: the first branch was taken, try the second. For a save: restore the slot to `position`.
        var resume: Bool
        var position: Int
    }

    private let program: RE2Program
    private let text: UnsafeRawBufferPointer
    private let end: Int
    private let requireEnd: Bool
    private let visited: UnsafeMutablePointer<UInt32>
    private let visitedWords: Int
    private var jobs: [Job] = []
    private var slots: [Int]

    private init(program: RE2Program, text: UnsafeRawBufferPointer, requireEnd: Bool, slotCount: Int) {
        self.program = program
        self.text = text
        end = text.count
        self.requireEnd = requireEnd
        visitedWords = (program.instructions.count * (text.count + 1) + 31) / 32
        visited = .allocate(capacity: visitedWords)
        visited.initialize(repeating: 0, count: visitedWords)
        slots = Array(repeating: -1, count: slotCount)
        jobs.reserveCapacity(64)
    }

    deinit {
        visited.deallocate()
    }

    /// Searches `text` from byte `start`; see ``RE2Regex`` for the meaning of the arguments and the result.
    static func search(
        _ program: RE2Program, _ text: UnsafeRawBufferPointer, from start: Int, anchored: Bool, requireEnd: Bool,
        slotCount: Int
    ) -> [Int]? {
        let machine = RE2Backtracker(program: program, text: text, requireEnd: requireEnd, slotCount: slotCount)
        return machine.run(from: start, anchored: anchored || program.anchoredStart)
    }

    private func run(from start: Int, anchored: Bool) -> [Int]? {
        if anchored {
            return attempt(at: start) ? slots : nil
        }
        var position = start
        while position <= end {
            if !program.prefix.isEmpty {
                guard let found = RE2Program.find(program.prefix, in: text, from: position) else { return nil }
                position = found
            } else if program.firstBytes != nil {
                while position < end, program.cannotStart(text[position]) { position += 1 }
            }
            if attempt(at: position) { return slots }
            let width = RE2UTF8.decode(text, position).width
            if width == 0 { break }
            position += width
        }
        return nil
    }

    @inline(__always)
    private func shouldVisit(_ pc: Int32, _ position: Int) -> Bool {
        let bit = Int(pc) * (end + 1) + position
        let word = bit >> 5
        let mask = UInt32(1) << UInt32(bit & 31)
        if visited[word] & mask != 0 { return false }
        visited[word] |= mask
        return true
    }

    @inline(__always)
    private func push(_ pc: Int32, _ position: Int, resume: Bool) {
        if resume || shouldVisit(pc, position) {
            jobs.append(Job(pc: pc, resume: resume, position: position))
        }
    }

    /// Whether a match starts at `start`; on success `slots` holds it.
    private func attempt(at start: Int) -> Bool {
        for index in slots.indices { slots[index] = -1 }
        if !slots.isEmpty { slots[0] = start }
        let instructions = program.instructions
        jobs.removeAll(keepingCapacity: true)
        push(program.start, start, resume: false)
        while let job = jobs.popLast() {
            var pc = job.pc
            var position = job.position
            var resume = job.resume
            var check = false  // a popped job was checked when pushed
            thread: while true {
                if check && !shouldVisit(pc, position) { break thread }
                check = true
                let instruction = instructions[Int(pc)]
                switch instruction.opcode {
                case .fail:
                    break thread
                case .split:
                    if resume {
                        resume = false
                        pc = instruction.argument
                    } else {
                        push(pc, position, resume: true)
                        pc = instruction.next
                    }
                case .rune1, .runeSet, .anyRune, .anyRuneNotNewline:
                    let (value, width) = RE2UTF8.decode(text, position)
                    guard width > 0 else { break thread }
                    let accepted: Bool
                    switch instruction.opcode {
                    case .rune1: accepted = value == UInt32(bitPattern: instruction.argument)
                    case .runeSet: accepted = program.sets[Int(instruction.argument)].contains(value)
                    case .anyRuneNotNewline: accepted = value != 0x0A
                    default: accepted = true
                    }
                    guard accepted else { break thread }
                    position += width
                    pc = instruction.next
                case .save:
                    let slot = Int(instruction.argument)
                    if resume {
                        slots[slot] = position
                        break thread
                    }
                    if slot < slots.count {
                        push(pc, slots[slot], resume: true)
                        slots[slot] = position
                    }
                    pc = instruction.next
                case .emptyWidth:
                    let required = UInt8(truncatingIfNeeded: instruction.argument)
                    guard RE2Program.EmptyWidth.context(text, position) & required == required else { break thread }
                    pc = instruction.next
                case .nop:
                    pc = instruction.next
                case .match:
                    if requireEnd && position != end { break thread }
                    if slots.count > 1 { slots[1] = position }
                    return true
                }
            }
        }
        return false
    }
}
