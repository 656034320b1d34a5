import Foundation
import TestSupport
import Wire

typealias ReferenceRequest = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest
typealias ReferenceResponse = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceResponse
typealias ReferenceAnyValue = Opentelemetry_Proto_Common_V1_AnyValue
typealias ReferenceKeyValue = Opentelemetry_Proto_Common_V1_KeyValue

/// Converts between our model and the generated SwiftProtobuf messages: the independent reference codec.
enum OTLPReference {
    /// The generated message for `logs`, leaving empty resources and scopes unset as our encoder does.
    static func message(_ logs: OTLPLogsData) -> ReferenceRequest {
        var message = ReferenceRequest()
        message.resourceLogs = logs.resourceLogs.map { resourceLogs in
            var generated = Opentelemetry_Proto_Logs_V1_ResourceLogs()
            if !resourceLogs.resource.isEmpty {
                generated.resource.attributes = resourceLogs.resource.attributes.map(pair)
                generated.resource.droppedAttributesCount = resourceLogs.resource.droppedAttributesCount
            }
            generated.schemaURL = resourceLogs.schemaURL
            generated.scopeLogs = resourceLogs.scopeLogs.map { scopeLogs in
                var generatedScope = Opentelemetry_Proto_Logs_V1_ScopeLogs()
                let scope = scopeLogs.scope
                if !scope.isEmpty {
                    generatedScope.scope.name = scope.name
                    generatedScope.scope.version = scope.version
                    generatedScope.scope.attributes = scope.attributes.map(pair)
                    generatedScope.scope.droppedAttributesCount = scope.droppedAttributesCount
                }
                generatedScope.schemaURL = scopeLogs.schemaURL
                generatedScope.logRecords = scopeLogs.logRecords.map(record)
                return generatedScope
            }
            return generated
        }
        return message
    }

    static func record(_ record: OTLPLogRecord) -> Opentelemetry_Proto_Logs_V1_LogRecord {
        var generated = Opentelemetry_Proto_Logs_V1_LogRecord()
        generated.timeUnixNano = record.timeUnixNano
        generated.observedTimeUnixNano = record.observedTimeUnixNano
        generated.severityNumber = Opentelemetry_Proto_Logs_V1_SeverityNumber(rawValue: Int(record.severityNumber))
            ?? .UNRECOGNIZED(Int(record.severityNumber))
        generated.severityText = record.severityText
        if let body = record.body { generated.body = value(body) }
        generated.attributes = record.attributes.map(pair)
        generated.droppedAttributesCount = record.droppedAttributesCount
        generated.flags = record.flags
        generated.traceID = Data(record.traceID)
        generated.spanID = Data(record.spanID)
        generated.eventName = record.eventName
        return generated
    }

    static func pair(_ pair: OTLPKeyValue) -> ReferenceKeyValue {
        var generated = ReferenceKeyValue()
        generated.key = pair.key
        if let value = pair.value { generated.value = Self.value(value) }
        return generated
    }

    static func value(_ value: OTLPAnyValue) -> ReferenceAnyValue {
        var generated = ReferenceAnyValue()
        switch value {
        case .string(let string): generated.stringValue = string
        case .bool(let bool): generated.boolValue = bool
        case .int(let int): generated.intValue = int
        case .double(let double): generated.doubleValue = double
        case .bytes(let bytes): generated.bytesValue = Data(bytes)
        case .array(let items):
            var array = Opentelemetry_Proto_Common_V1_ArrayValue()
            array.values = items.map(Self.value)
            generated.arrayValue = array
        case .kvlist(let pairs):
            var list = Opentelemetry_Proto_Common_V1_KeyValueList()
            list.values = pairs.map(pair)
            generated.kvlistValue = list
        }
        return generated
    }

    /// Our model of a generated message (empty `AnyValue`s become nil, or are left out of arrays).
    static func model(_ message: ReferenceRequest) -> OTLPLogsData {
        OTLPLogsData(resourceLogs: message.resourceLogs.map(model))
    }

    static func model(_ resourceLogs: Opentelemetry_Proto_Logs_V1_ResourceLogs) -> OTLPResourceLogs {
        let resource = OTLPResource(attributes: resourceLogs.resource.attributes.map(model),
                                    droppedAttributesCount: resourceLogs.resource.droppedAttributesCount)
        return OTLPResourceLogs(resource: resource, scopeLogs: resourceLogs.scopeLogs.map(model),
                                schemaURL: resourceLogs.schemaURL)
    }

    static func model(_ scopeLogs: Opentelemetry_Proto_Logs_V1_ScopeLogs) -> OTLPScopeLogs {
        let generated = scopeLogs.scope
        let scope = OTLPInstrumentationScope(name: generated.name, version: generated.version,
                                             attributes: generated.attributes.map(model),
                                             droppedAttributesCount: generated.droppedAttributesCount)
        return OTLPScopeLogs(scope: scope, logRecords: scopeLogs.logRecords.map(model), schemaURL: scopeLogs.schemaURL)
    }

    static func model(_ record: Opentelemetry_Proto_Logs_V1_LogRecord) -> OTLPLogRecord {
        var result = OTLPLogRecord()
        result.timeUnixNano = record.timeUnixNano
        result.observedTimeUnixNano = record.observedTimeUnixNano
        result.severityNumber = Int32(record.severityNumber.rawValue)
        result.severityText = record.severityText
        result.body = record.hasBody ? model(record.body) : nil
        result.attributes = record.attributes.map(model)
        result.droppedAttributesCount = record.droppedAttributesCount
        result.flags = record.flags
        result.traceID = Array(record.traceID)
        result.spanID = Array(record.spanID)
        result.eventName = record.eventName
        return result
    }

    static func model(_ pair: ReferenceKeyValue) -> OTLPKeyValue {
        OTLPKeyValue(key: pair.key, value: pair.hasValue ? model(pair.value) : nil)
    }

    static func model(_ value: ReferenceAnyValue) -> OTLPAnyValue? {
        switch value.value {
        case nil: return nil
        case .stringValue(let string): return .string(string)
        case .boolValue(let bool): return .bool(bool)
        case .intValue(let int): return .int(int)
        case .doubleValue(let double): return .double(double)
        case .bytesValue(let data): return .bytes(Array(data))
        case .arrayValue(let array): return .array(array.values.compactMap(model))
        case .kvlistValue(let list): return .kvlist(list.values.map(model))
        case .stringValueStrindex: return nil   // profiles only: our decoders read it as an empty value
        }
    }
}

/// Generators of OTLP logs for property and fuzz tests.
extension SeededRandom {
    mutating func otlpLogs(maxResources: Int = 3, maxScopes: Int = 3, maxRecords: Int = 5) -> OTLPLogsData {
        var logs = OTLPLogsData()
        for _ in 0..<int(0...maxResources) {
            var resourceLogs = OTLPResourceLogs()
            if chance(80) {
                resourceLogs.resource.attributes = otlpAttributes(max: 4, depth: 0)
                resourceLogs.resource.droppedAttributesCount = chance(20) ? otlpUInt32() : 0
            }
            for _ in 0..<int(0...maxScopes) {
                var scopeLogs = OTLPScopeLogs()
                if chance(70) {
                    scopeLogs.scope.name = unicodeString(maxScalars: 12)
                    scopeLogs.scope.version = chance(50) ? "1.\(int(0...40)).0" : ""
                    scopeLogs.scope.attributes = chance(30) ? otlpAttributes(max: 2, depth: 0) : []
                    scopeLogs.scope.droppedAttributesCount = chance(10) ? otlpUInt32() : 0
                }
                for _ in 0..<int(0...maxRecords) { scopeLogs.logRecords.append(otlpRecord()) }
                scopeLogs.schemaURL = chance(30) ? "https://opentelemetry.io/schemas/1.\(int(0...30)).0" : ""
                resourceLogs.scopeLogs.append(scopeLogs)
            }
            resourceLogs.schemaURL = chance(30) ? "https://opentelemetry.io/schemas/1.\(int(0...30)).0" : ""
            logs.resourceLogs.append(resourceLogs)
        }
        return logs
    }

    mutating func otlpRecord() -> OTLPLogRecord {
        var record = OTLPLogRecord()
        record.timeUnixNano = otlpTimestamp()
        record.observedTimeUnixNano = otlpTimestamp()
        let oddSeverities: [Int32] = [-1, 25, 99, Int32.min, Int32.max]
        record.severityNumber = chance(90) ? Int32(int(0...24)) : oddSeverities[int(0...4)]
        let texts = ["INFO", "warn", "Error", "", "DEBUG2"]
        record.severityText = chance(50) ? texts[int(0...4)] : ""
        if chance(85) {
            record.body = chance(70) ? .string(unicodeString(maxScalars: 80)) : otlpAnyValue(depth: 1)
        }
        record.attributes = otlpAttributes(max: 6, depth: 0)
        record.droppedAttributesCount = chance(15) ? otlpUInt32() : 0
        if chance(30) { record.flags = chance(50) ? 1 : otlpUInt32() }
        record.traceID = chance(60) ? bytes(16) : []
        record.spanID = chance(60) ? bytes(8) : []
        record.eventName = chance(20) ? unicodeString(maxScalars: 10) : ""
        return record
    }

    mutating func otlpAttributes(max: Int, depth: Int) -> [OTLPKeyValue] {
        (0..<int(0...max)).map { _ in
            let key = chance(70) ? labelName() : (chance(90) ? unicodeString(maxScalars: 8) : "")
            return OTLPKeyValue(key: key, value: chance(92) ? otlpAnyValue(depth: depth + 1) : nil)
        }
    }

    /// Any value; containers only down to depth 4, so that trees stay small.
    mutating func otlpAnyValue(depth: Int) -> OTLPAnyValue {
        switch int(0...(depth >= 4 ? 4 : 6)) {
        case 0: return .string(unicodeString(maxScalars: 24))
        case 1: return .bool(chance(50))
        case 2: return .int(otlpInt64())
        case 3: return .double(otlpDouble())
        case 4: return .bytes(bytes(int(0...12)))
        case 5: return .array((0..<int(0...4)).map { _ in otlpAnyValue(depth: depth + 1) })
        default: return .kvlist(otlpAttributes(max: 3, depth: depth))
        }
    }

    mutating func otlpTimestamp() -> UInt64 {
        switch int(0...9) {
        case 0: return 0
        case 1: return UInt64.max
        case 2: return UInt64(int(1...1_000_000))
        default: return 1_700_000_000_000_000_000 + UInt64(int(0...1_000_000_000_000_000))
        }
    }

    mutating func otlpInt64() -> Int64 {
        switch int(0...6) {
        case 0: return 0
        case 1: return Int64.max
        case 2: return Int64.min
        case 3: return -Int64(int(1...1_000_000))
        default: return Int64(bitPattern: next())
        }
    }

    mutating func otlpUInt32() -> UInt32 {
        chance(30) ? UInt32.max : UInt32(truncatingIfNeeded: next())
    }

    /// Never NaN (it is not equal to itself); infinities, zeros, subnormals and random bit patterns otherwise.
    mutating func otlpDouble() -> Double {
        switch int(0...7) {
        case 0: return 0
        case 1: return [Double.infinity, -Double.infinity][int(0...1)]
        case 2: return [Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, -0.0, 1e-7][int(0...3)]
        case 3: return Double(int(-1_000_000...1_000_000)) / 8
        default:
            while true {
                let value = Double(bitPattern: next())
                if !value.isNaN { return value }
            }
        }
    }
}

enum OTLPTestData {
    /// A file next to the tests in `testdata/`.
    static func bytes(_ name: String, filePath: String = #filePath) throws -> [UInt8] {
        let directory = URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("testdata")
        return Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }
}
