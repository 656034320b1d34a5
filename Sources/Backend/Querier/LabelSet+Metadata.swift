import Wire

extension LabelSet {
    /// The labels of an entry as a query answers them: the stream's labels and the entry's structured metadata,
    /// a metadata name that is also a stream label renamed `<name>_extracted` (Loki 3's `LabelsBuilder.Add`).
    func adding(metadata: [LabelPair]) -> LabelSet {
        guard !metadata.isEmpty else { return self }
        var merged = pairs
        for pair in metadata {
            let name = self[pair.name] == nil ? pair.name : pair.name + "_extracted"
            if let index = merged.firstIndex(where: { $0.name == name }) {
                merged[index] = LabelPair(name: name, value: pair.value)
            } else {
                merged.append(LabelPair(name: name, value: pair.value))
            }
        }
        return LabelSet(merged)
    }
}

extension LabelSet {
    /// The labels without those whose value is empty: a query's answer names no label with an empty value, as
    /// Loki's (labels a parser set to "" with `--keep-empty` are filtered on, not returned).
    var withoutEmptyValues: LabelSet {
        pairs.contains { $0.value.isEmpty } ? LabelSet(pairs.filter { !$0.value.isEmpty }) : self
    }
}
