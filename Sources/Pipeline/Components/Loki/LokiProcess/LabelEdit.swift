import Wire

/// What a stage does to one label.
enum LabelChange: Sendable, Equatable {
    case keep
    /// Sets the label; an empty value removes it (Loki treats an empty label as absent).
    case set(String)
    case remove
}

extension LabelSet {
    /// The label set with `changes[i]` applied to the label `names[i]`; `names` sorted and unique.
    func applying(names: [String], changes: [LabelChange]) -> LabelSet {
        var out: [LabelPair] = []
        out.reserveCapacity(pairs.count + names.count)
        var index = 0
        var change = 0
        while index < pairs.count || change < names.count {
            if change == names.count || (index < pairs.count && pairs[index].name < names[change]) {
                out.append(pairs[index])
                index += 1
                continue
            }
            let name = names[change]
            let existing = index < pairs.count && pairs[index].name == name
            switch changes[change] {
            case .keep:
                if existing { out.append(pairs[index]) }
            case .set(let value):
                if !value.isEmpty { out.append(LabelPair(name: name, value: value)) }
            case .remove:
                break
            }
            if existing { index += 1 }
            change += 1
        }
        return LabelSet(out)
    }

    /// The label set without the labels for which `drop` is true.
    func removing(where drop: (LabelPair) -> Bool) -> LabelSet {
        LabelSet(pairs.filter { !drop($0) })
    }
}

/// Remembers the label sets a stage made lately, keyed by the input label set and the stage's change, so that a
/// run of entries from one stream (which share one label set) builds the new label set once.
///
/// A hit costs one comparison of label sets, which is a pointer comparison when the input is the very label set
/// seen before (the common case: entries of one file, or the output of an earlier cached stage).
struct LabelEditCache: Sendable {
    private struct Slot: Sendable {
        var input: LabelSet
        var key: [LabelChange]
        var output: LabelSet
    }

    static let capacity = 8
    private var slots: [Slot] = []
    private var next = 0

    init() {}

    mutating func output(for input: LabelSet, key: [LabelChange], make: (LabelSet) -> LabelSet) -> LabelSet {
        for slot in slots where slot.key == key && slot.input == input {
            return slot.output
        }
        let output = make(input)
        let slot = Slot(input: input, key: key, output: output)
        if slots.count < Self.capacity {
            slots.append(slot)
        } else {
            slots[next] = slot
            next = (next + 1) % Self.capacity
        }
        return output
    }
}
