/// Computes the encoded size of every length-prefixed message of a request once, in the order the writer will
/// need them (pre-order: a message's slot is taken before its children's), so `OTLPProtobufWriter` never
/// recomputes a size however deeply values nest.
struct OTLPProtobufSizer {
    private(set) var sizes: [Int] = []

    static func varintSize(_ value: UInt64) -> Int {
        // 1 byte per started group of 7 bits; 0 takes one byte.
        (64 - (value | 1).leadingZeroBitCount + 6) / 7
    }

    /// A string or bytes field of `byteCount` bytes, left out when empty (all tags here are one byte).
    static func stringFieldSize(_ byteCount: Int) -> Int {
        byteCount == 0 ? 0 : 1 + varintSize(UInt64(byteCount)) + byteCount
    }

    private mutating func reserve() -> Int {
        sizes.append(0)
        return sizes.count - 1
    }

    /// Records the size of the message in `slot` and returns the size of the whole field (tag, length, body).
    private mutating func close(_ slot: Int, _ size: Int) -> Int {
        sizes[slot] = size
        return 1 + Self.varintSize(UInt64(size)) + size
    }

    mutating func requestSize(_ logs: OTLPLogsData) -> Int {
        var size = 0
        for resourceLogs in logs.resourceLogs {
            let slot = reserve()
            size += close(slot, resourceLogsSize(resourceLogs))
        }
        return size
    }

    private mutating func resourceLogsSize(_ resourceLogs: OTLPResourceLogs) -> Int {
        var size = 0
        if !resourceLogs.resource.isEmpty {
            let slot = reserve()
            let resource = resourceLogs.resource
            size += close(slot, attributesSize(resource.attributes) + countSize(resource.droppedAttributesCount))
        }
        for scopeLogs in resourceLogs.scopeLogs {
            let slot = reserve()
            size += close(slot, scopeLogsSize(scopeLogs))
        }
        return size + Self.stringFieldSize(resourceLogs.schemaURL.utf8.count)
    }

    private mutating func scopeLogsSize(_ scopeLogs: OTLPScopeLogs) -> Int {
        var size = 0
        let scope = scopeLogs.scope
        if !scope.isEmpty {
            let slot = reserve()
            let scopeSize = Self.stringFieldSize(scope.name.utf8.count) + Self.stringFieldSize(scope.version.utf8.count)
                + attributesSize(scope.attributes) + countSize(scope.droppedAttributesCount)
            size += close(slot, scopeSize)
        }
        for record in scopeLogs.logRecords {
            let slot = reserve()
            size += close(slot, logRecordSize(record))
        }
        return size + Self.stringFieldSize(scopeLogs.schemaURL.utf8.count)
    }

    private mutating func logRecordSize(_ record: OTLPLogRecord) -> Int {
        var size = 0
        if record.timeUnixNano != 0 { size += 9 }
        if record.severityNumber != 0 {
            size += 1 + Self.varintSize(UInt64(bitPattern: Int64(record.severityNumber)))
        }
        size += Self.stringFieldSize(record.severityText.utf8.count)
        if let body = record.body {
            let slot = reserve()
            size += close(slot, anyValueSize(body))
        }
        size += attributesSize(record.attributes)
        size += countSize(record.droppedAttributesCount)
        if record.flags != 0 { size += 5 }
        size += Self.stringFieldSize(record.traceID.count)
        size += Self.stringFieldSize(record.spanID.count)
        if record.observedTimeUnixNano != 0 { size += 9 }
        size += Self.stringFieldSize(record.eventName.utf8.count)
        return size
    }

    private func countSize(_ count: UInt32) -> Int {
        count == 0 ? 0 : 1 + Self.varintSize(UInt64(count))
    }

    private mutating func attributesSize(_ attributes: [OTLPKeyValue]) -> Int {
        var size = 0
        for pair in attributes {
            let slot = reserve()
            size += close(slot, keyValueSize(pair))
        }
        return size
    }

    private mutating func keyValueSize(_ pair: OTLPKeyValue) -> Int {
        var size = Self.stringFieldSize(pair.key.utf8.count)
        if let value = pair.value {
            let slot = reserve()
            size += close(slot, anyValueSize(value))
        }
        return size
    }

    /// The size of an `AnyValue` message's body. A set member is always written, even when it is a default.
    private mutating func anyValueSize(_ value: OTLPAnyValue) -> Int {
        switch value {
        case .string(let string):
            let count = string.utf8.count
            return 1 + Self.varintSize(UInt64(count)) + count
        case .bool:
            return 2
        case .int(let int):
            return 1 + Self.varintSize(UInt64(bitPattern: int))
        case .double:
            return 9
        case .bytes(let bytes):
            return 1 + Self.varintSize(UInt64(bytes.count)) + bytes.count
        case .array(let items):
            let slot = reserve()
            var size = 0
            for item in items {
                let itemSlot = reserve()
                size += close(itemSlot, anyValueSize(item))
            }
            return close(slot, size)
        case .kvlist(let pairs):
            let slot = reserve()
            return close(slot, attributesSize(pairs))
        }
    }
}

/// Writes a request into memory sized in advance by `OTLPProtobufSizer`, taking the message sizes it recorded
/// in the same order.
struct OTLPProtobufWriter {
    var cursor: UnsafeMutablePointer<UInt8>
    let sizes: UnsafeBufferPointer<Int>
    private(set) var nextSize = 0

    init(cursor: UnsafeMutablePointer<UInt8>, sizes: UnsafeBufferPointer<Int>) {
        self.cursor = cursor
        self.sizes = sizes
    }

    @inline(__always)
    private mutating func writeByte(_ byte: UInt8) {
        cursor.pointee = byte
        cursor += 1
    }

    @inline(__always)
    private mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            writeByte(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        writeByte(UInt8(value))
    }

    /// The tag and length of the next nested message.
    @inline(__always)
    private mutating func beginMessage(tag: UInt8) {
        writeByte(tag)
        writeVarint(UInt64(sizes[nextSize]))
        nextSize += 1
    }

    private mutating func writeBytes(tag: UInt8, _ bytes: UnsafeBufferPointer<UInt8>, always: Bool = false) {
        guard always || !bytes.isEmpty else { return }
        writeByte(tag)
        writeVarint(UInt64(bytes.count))
        if let source = bytes.baseAddress, !bytes.isEmpty {
            cursor.update(from: source, count: bytes.count)
            cursor += bytes.count
        }
    }

    private mutating func writeString(tag: UInt8, _ string: String, always: Bool = false) {
        var string = string
        string.withUTF8 { writeBytes(tag: tag, $0, always: always) }
    }

    private mutating func writeBytes(tag: UInt8, _ bytes: [UInt8], always: Bool = false) {
        bytes.withUnsafeBufferPointer { writeBytes(tag: tag, $0, always: always) }
    }

    @inline(__always)
    private mutating func writeFixed64(tag: UInt8, _ value: UInt64) {
        writeByte(tag)
        UnsafeMutableRawPointer(cursor).storeBytes(of: value.littleEndian, as: UInt64.self)
        cursor += 8
    }

    private mutating func writeCount(tag: UInt8, _ count: UInt32) {
        guard count != 0 else { return }
        writeByte(tag)
        writeVarint(UInt64(count))
    }

    mutating func writeRequest(_ logs: OTLPLogsData) {
        for resourceLogs in logs.resourceLogs {
            beginMessage(tag: 0x0A)
            writeResourceLogs(resourceLogs)
        }
    }

    private mutating func writeResourceLogs(_ resourceLogs: OTLPResourceLogs) {
        let resource = resourceLogs.resource
        if !resource.isEmpty {
            beginMessage(tag: 0x0A)
            writeAttributes(tag: 0x0A, resource.attributes)
            writeCount(tag: 0x10, resource.droppedAttributesCount)
        }
        for scopeLogs in resourceLogs.scopeLogs {
            beginMessage(tag: 0x12)
            writeScopeLogs(scopeLogs)
        }
        writeString(tag: 0x1A, resourceLogs.schemaURL)
    }

    private mutating func writeScopeLogs(_ scopeLogs: OTLPScopeLogs) {
        let scope = scopeLogs.scope
        if !scope.isEmpty {
            beginMessage(tag: 0x0A)
            writeString(tag: 0x0A, scope.name)
            writeString(tag: 0x12, scope.version)
            writeAttributes(tag: 0x1A, scope.attributes)
            writeCount(tag: 0x20, scope.droppedAttributesCount)
        }
        for record in scopeLogs.logRecords {
            beginMessage(tag: 0x12)
            writeLogRecord(record)
        }
        writeString(tag: 0x1A, scopeLogs.schemaURL)
    }

    private mutating func writeLogRecord(_ record: OTLPLogRecord) {
        if record.timeUnixNano != 0 { writeFixed64(tag: 0x09, record.timeUnixNano) }
        if record.severityNumber != 0 {
            writeByte(0x10)
            writeVarint(UInt64(bitPattern: Int64(record.severityNumber)))   // negative: sign-extended, 10 bytes
        }
        writeString(tag: 0x1A, record.severityText)
        if let body = record.body {
            beginMessage(tag: 0x2A)
            writeAnyValue(body)
        }
        writeAttributes(tag: 0x32, record.attributes)
        writeCount(tag: 0x38, record.droppedAttributesCount)
        if record.flags != 0 {
            writeByte(0x45)
            UnsafeMutableRawPointer(cursor).storeBytes(of: record.flags.littleEndian, as: UInt32.self)
            cursor += 4
        }
        writeBytes(tag: 0x4A, record.traceID)
        writeBytes(tag: 0x52, record.spanID)
        if record.observedTimeUnixNano != 0 { writeFixed64(tag: 0x59, record.observedTimeUnixNano) }
        writeString(tag: 0x62, record.eventName)
    }

    private mutating func writeAttributes(tag: UInt8, _ attributes: [OTLPKeyValue]) {
        for pair in attributes {
            beginMessage(tag: tag)
            writeString(tag: 0x0A, pair.key)
            if let value = pair.value {
                beginMessage(tag: 0x12)
                writeAnyValue(value)
            }
        }
    }

    private mutating func writeAnyValue(_ value: OTLPAnyValue) {
        switch value {
        case .string(let string):
            writeString(tag: 0x0A, string, always: true)
        case .bool(let bool):
            writeByte(0x10)
            writeByte(bool ? 1 : 0)
        case .int(let int):
            writeByte(0x18)
            writeVarint(UInt64(bitPattern: int))
        case .double(let double):
            writeFixed64(tag: 0x21, double.bitPattern)
        case .bytes(let bytes):
            writeBytes(tag: 0x3A, bytes, always: true)
        case .array(let items):
            beginMessage(tag: 0x2A)
            for item in items {
                beginMessage(tag: 0x0A)
                writeAnyValue(item)
            }
        case .kvlist(let pairs):
            beginMessage(tag: 0x32)
            writeAttributes(tag: 0x0A, pairs)
        }
    }
}
