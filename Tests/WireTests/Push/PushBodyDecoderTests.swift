import Testing
import Wire

@Suite("Push body decoder")
struct PushBodyDecoderTests {
    static let request = PushRequest(streams: [
        PushStream(labels: #"{job="x"}"#, entries: [
            PushEntry(timestamp: 1_700_000_000_000_000_000, line: Array("hello".utf8)[...],
                      structuredMetadata: [LabelPair(name: "k", value: "v")]),
            PushEntry(timestamp: 1_700_000_000_000_000_001, line: Array("wörld".utf8)[...]),
        ]),
    ])

    enum Format: String, CaseIterable, Sendable { case protobuf, json }
    enum Encoding: String, CaseIterable, Sendable { case none, identity, gzip, deflate, zlibDeflate }

    static func body(_ format: Format, _ encoding: Encoding) -> (body: [UInt8], header: String?) {
        let payload = format == .json
            ? PushJSONEncoder.encode(request)
            : Snappy.compress(PushProtobufEncoder.encode(request))
        switch encoding {
        case .none: return (payload, nil)
        case .identity: return (payload, "identity")
        case .gzip: return (Gzip.compress(payload), "gzip")
        case .deflate: return (Deflate.compress(payload), "deflate")
        case .zlibDeflate: return (zlibWrap(payload), "deflate")
        }
    }

    /// zlib framing (RFC 1950) around a raw deflate stream: some clients send this for `deflate`.
    static func zlibWrap(_ payload: [UInt8]) -> [UInt8] {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in payload {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        let adler = b << 16 | a
        return [0x78, 0x9C] + Deflate.compress(payload)
            + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
    }

    static let contentTypes: [Format: [String?]] = [
        .json: ["application/json", "application/json; charset=utf-8", "Application/JSON", " application/json ;x=y"],
        .protobuf: [nil, "", "application/x-protobuf", "application/octet-stream", "text/plain"],
    ]

    @Test(arguments: Format.allCases, Encoding.allCases)
    func contentTypeAndEncodingMatrix(format: Format, encoding: Encoding) throws {
        let (body, header) = Self.body(format, encoding)
        for contentType in Self.contentTypes[format] ?? [] {
            for spelling in [header, header?.uppercased(), header.map { " \($0) " }] {
                let decoded = try PushBodyDecoder.decode(body: body, contentType: contentType,
                                                         contentEncoding: spelling, maxDecompressedSize: 1 << 20)
                #expect(PushSnapshot(decoded) == PushSnapshot(Self.request), "\(String(describing: contentType))")
            }
        }
    }

    @Test func snappyContentEncodingIsIgnoredForProtobufAsLokiDoes() throws {
        let (body, _) = Self.body(.protobuf, .none)
        let decoded = try PushBodyDecoder.decode(body: body, contentType: "application/x-protobuf",
                                                 contentEncoding: "snappy", maxDecompressedSize: 1 << 20)
        #expect(PushSnapshot(decoded) == PushSnapshot(Self.request))
    }

    @Test(arguments: ["br", "zstd", "compress", "snappy"])
    func unsupportedEncodingsAreRejected(encoding: String) {
        let error = #expect(throws: PushDecodeError.self) {
            _ = try PushBodyDecoder.decode(body: [1, 2, 3], contentType: "application/json",
                                           contentEncoding: encoding, maxDecompressedSize: 1 << 20)
        }
        #expect(error?.message.hasPrefix("Content-Encoding \"\(encoding)\" not supported") == true,
                "\(error?.message ?? "")")
        #expect(error?.isBodyTooLarge == false)
    }

    @Test func eachLayerNamesItselfInErrors() {
        let cases: [(body: [UInt8], contentType: String?, encoding: String?, layer: String)] = [
            ([0xFF, 0xFF, 0xFF], nil, nil, "snappy"),
            ([1, 2, 3, 4], nil, "gzip", "gzip"),
            ([0xFF, 0xFF, 0xFF, 0xFF], nil, "deflate", "deflate"),
            (Snappy.compress([0x0A, 0x05]), "application/x-protobuf", nil, "proto"),
            (Array("{\"streams\":".utf8), "application/json", nil, "json"),
            (Gzip.compress(Array("{]".utf8)), "application/json", "gzip", "json"),
            (Gzip.compress([1, 2, 3]), nil, "gzip", "snappy"),
        ]
        for item in cases {
            let error = #expect(throws: PushDecodeError.self) {
                _ = try PushBodyDecoder.decode(body: item.body, contentType: item.contentType,
                                               contentEncoding: item.encoding, maxDecompressedSize: 1 << 20)
            }
            #expect(error?.message.hasPrefix(item.layer) == true, "\(item.layer): \(error?.message ?? "")")
            #expect(error?.isBodyTooLarge == false)
        }
    }

    @Test(arguments: [Format.protobuf, .json], [Encoding.none, .gzip, .deflate])
    func decompressedSizeLimitIsEnforced(format: Format, encoding: Encoding) throws {
        let big = PushRequest(streams: [PushStream(labels: "{a=\"b\"}", entries: (0..<200).map {
            PushEntry(timestamp: Int64($0), line: [UInt8](repeating: 0x61, count: 1_000)[...])
        })])
        let payload = format == .json ? PushJSONEncoder.encode(big) : Snappy.compress(PushProtobufEncoder.encode(big))
        let body: [UInt8]
        switch encoding {
        case .gzip: body = Gzip.compress(payload)
        case .deflate: body = Deflate.compress(payload)
        default: body = payload
        }
        let header: String? = encoding == .none ? nil : encoding.rawValue
        let contentType = format == .json ? "application/json" : nil
        if format == .json && encoding == .none {
            // Nothing to decompress: the HTTP layer bounds the raw body; the limit does not apply.
            _ = try PushBodyDecoder.decode(body: body, contentType: contentType, contentEncoding: header,
                                           maxDecompressedSize: 10_000)
            return
        }
        let error = #expect(throws: PushDecodeError.self) {
            _ = try PushBodyDecoder.decode(body: body, contentType: contentType, contentEncoding: header,
                                           maxDecompressedSize: 10_000)
        }
        #expect(error?.isBodyTooLarge == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("10000") == true, "\(error?.message ?? "")")
        // Within the limit it decodes.
        let decoded = try PushBodyDecoder.decode(body: body, contentType: contentType, contentEncoding: header,
                                                 maxDecompressedSize: 1 << 20)
        #expect(decoded.streams[0].entries.count == 200)
    }
}
