/// Computes the encoded size of every length-prefixed message of a request once, in the order the writer will
/// need them (pre-order: a message's slot is taken before its children's), so `OTLPProtobufWriter` never
/// recomputes a size however deeply values nest.
struct OTLPProtobufSizer {
    private(set) var sizes: [Int] = []

    private mutating func reserve() -> Int {
        sizes.append(0)
        return sizes.count - 1
    }

    /// Records the size of the message in `slot` and returns the size of the whole field (tag, length, body).
    private mutating func close(_ slot: Int, _ size: Int) -> Int {
        sizes[slot] = size
        return ProtobufWriter.lengthDelimitedFieldSize(size)
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
        let resource = resourceLogs.resource
        return levelSize(header: resource.isEmpty ? nil : { sizer in
            sizer.attributesSize(resource.attributes) + sizer.countSize(resource.droppedAttributesCount)
        }, resourceLogs.scopeLogs, schemaURL: resourceLogs.schemaURL) { sizer, scopeLogs in
            sizer.scopeLogsSize(scopeLogs)
        }
    }

    private mutating func scopeLogsSize(_ scopeLogs: OTLPScopeLogs) -> Int {
        let scope = scopeLogs.scope
        return levelSize(header: scope.isEmpty ? nil : { sizer in
            ProtobufWriter.stringFieldSize(scope.name.utf8.count) + ProtobufWriter.stringFieldSize(scope.version.utf8.count)
                + sizer.attributesSize(scope.attributes) + sizer.countSize(scope.droppedAttributesCount)
        }, scopeLogs.logRecords, schemaURL: scopeLogs.schemaURL) { sizer, record in
            sizer.logRecordSize(record)
        }
    }

    /// The size of a ResourceLogs or ScopeLogs (see `OTLPProtobufWriter.writeLevel`), reserving the slots of its
    /// nested messages in the order the writer writes them.
    private mutating func levelSize<Element>(
        header: ((inout Self) -> Int)?, _ elements: [Element], schemaURL: String,
        _ elementSize: (inout Self, Element) -> Int
    ) -> Int {
        var size = 0
        if let header {
            let slot = reserve()
            size += close(slot, header(&self))
        }
        for element in elements {
            let slot = reserve()
            size += close(slot, elementSize(&self, element))
        }
        return size + ProtobufWriter.stringFieldSize(schemaURL.utf8.count)
    }

    private mutating func logRecordSize(_ record: OTLPLogRecord) -> Int {
        var size = 0
        if record.timeUnixNano != 0 { size += 9 }
        if record.severityNumber != 0 {
            size += ProtobufWriter.varintFieldSize(UInt64(bitPattern: Int64(record.severityNumber)))
        }
        size += ProtobufWriter.stringFieldSize(record.severityText.utf8.count)
        if let body = record.body {
            let slot = reserve()
            size += close(slot, anyValueSize(body))
        }
        size += attributesSize(record.attributes)
        size += countSize(record.droppedAttributesCount)
        if record.flags != 0 { size += 5 }
        size += ProtobufWriter.stringFieldSize(record.traceID.count)
        size += ProtobufWriter.stringFieldSize(record.spanID.count)
        if record.observedTimeUnixNano != 0 { size += 9 }
        size += ProtobufWriter.stringFieldSize(record.eventName.utf8.count)
        return size
    }

    private func countSize(_ count: UInt32) -> Int {
        count == 0 ? 0 : ProtobufWriter.varintFieldSize(UInt64(count))
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
        var size = ProtobufWriter.stringFieldSize(pair.key.utf8.count)
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
            return ProtobufWriter.lengthDelimitedFieldSize(string.utf8.count)
        case .bool:
            return 2
        case .int(let int):
            return ProtobufWriter.varintFieldSize(UInt64(bitPattern: int))
        case .double:
            return 9
        case .bytes(let bytes):
            return ProtobufWriter.lengthDelimitedFieldSize(bytes.count)
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
    var writer: ProtobufWriter
    let sizes: UnsafeBufferPointer<Int>
    private(set) var nextSize = 0

    init(_ writer: ProtobufWriter, sizes: UnsafeBufferPointer<Int>) {
        self.writer = writer
        self.sizes = sizes
    }

    /// The tag and length of the next nested message.
    @inline(__always)
    private mutating func beginMessage(_ field: Int) {
        writer.writeMessageHeader(field, size: sizes[nextSize])
        nextSize += 1
    }

    private mutating func writeCount(_ field: Int, _ count: UInt32) {
        guard count != 0 else { return }
        writer.writeVarintField(field, UInt64(count))
    }

    mutating func writeRequest(_ logs: OTLPLogsData) {
        for resourceLogs in logs.resourceLogs {
            beginMessage(1)
            writeResourceLogs(resourceLogs)
        }
    }

    private mutating func writeResourceLogs(_ resourceLogs: OTLPResourceLogs) {
        let resource = resourceLogs.resource
        writeLevel(header: resource.isEmpty ? nil : { writer in
            writer.writeAttributes(1, resource.attributes)
            writer.writeCount(2, resource.droppedAttributesCount)
        }, resourceLogs.scopeLogs, schemaURL: resourceLogs.schemaURL) { writer, scopeLogs in
            writer.writeScopeLogs(scopeLogs)
        }
    }

    private mutating func writeScopeLogs(_ scopeLogs: OTLPScopeLogs) {
        let scope = scopeLogs.scope
        writeLevel(header: scope.isEmpty ? nil : { writer in
            writer.writer.writeStringField(1, scope.name)
            writer.writer.writeStringField(2, scope.version)
            writer.writeAttributes(3, scope.attributes)
            writer.writeCount(4, scope.droppedAttributesCount)
        }, scopeLogs.logRecords, schemaURL: scopeLogs.schemaURL) { writer, record in
            writer.writeLogRecord(record)
        }
    }

    /// ResourceLogs and ScopeLogs have one shape: field 1 the resource or scope (left out when `header` is nil),
    /// field 2 the next level down, once per element, field 3 the schema URL.
    private mutating func writeLevel<Element>(
        header: ((inout Self) -> Void)?, _ elements: [Element], schemaURL: String,
        _ writeElement: (inout Self, Element) -> Void
    ) {
        if let header {
            beginMessage(1)
            header(&self)
        }
        for element in elements {
            beginMessage(2)
            writeElement(&self, element)
        }
        writer.writeStringField(3, schemaURL)
    }

    private mutating func writeLogRecord(_ record: OTLPLogRecord) {
        if record.timeUnixNano != 0 { writer.writeFixed64Field(1, record.timeUnixNano) }
        if record.severityNumber != 0 {
            // A negative number is sign-extended to 64 bits: 10 bytes.
            writer.writeVarintField(2, UInt64(bitPattern: Int64(record.severityNumber)))
        }
        writer.writeStringField(3, record.severityText)
        if let body = record.body {
            beginMessage(5)
            writeAnyValue(body)
        }
        writeAttributes(6, record.attributes)
        writeCount(7, record.droppedAttributesCount)
        if record.flags != 0 { writer.writeFixed32Field(8, record.flags) }
        writer.writeBytesField(9, record.traceID)
        writer.writeBytesField(10, record.spanID)
        if record.observedTimeUnixNano != 0 { writer.writeFixed64Field(11, record.observedTimeUnixNano) }
        writer.writeStringField(12, record.eventName)
    }

    private mutating func writeAttributes(_ field: Int, _ attributes: [OTLPKeyValue]) {
        for pair in attributes {
            beginMessage(field)
            writer.writeStringField(1, pair.key)
            if let value = pair.value {
                beginMessage(2)
                writeAnyValue(value)
            }
        }
    }

    private mutating func writeAnyValue(_ value: OTLPAnyValue) {
        switch value {
        case .string(let string):
            writer.writeStringField(1, string, evenIfEmpty: true)
        case .bool(let bool):
            writer.writeVarintField(2, bool ? 1 : 0)
        case .int(let int):
            writer.writeVarintField(3, UInt64(bitPattern: int))
        case .double(let double):
            writer.writeFixed64Field(4, double.bitPattern)
        case .bytes(let bytes):
            writer.writeBytesField(7, bytes, evenIfEmpty: true)
        case .array(let items):
            beginMessage(5)
            for item in items {
                beginMessage(1)
                writeAnyValue(item)
            }
        case .kvlist(let pairs):
            beginMessage(6)
            writeAttributes(1, pairs)
        }
    }
}
