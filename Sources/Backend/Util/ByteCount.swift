/// Byte counts written the way Loki's `flagext.ByteSize` prints them (`3MB`, `256KB`, `17B`).
enum ByteCount {
    static func format(_ bytes: Double) -> String {
        let value = Int64(bytes.rounded())
        for (unit, size) in [("GB", Int64(1) << 30), ("MB", Int64(1) << 20), ("KB", Int64(1) << 10)]
        where value >= size && value % size == 0 {
            return "\(value / size)\(unit)"
        }
        return "\(value)B"
    }
}
