@testable import loadgen

extension PushMode {
    /// A push mode for pool tests: `streams` streams, bodies serialized in `encoding`, sent nowhere.
    static func forTests(streams: Int, encoding: BodyEncoding = .json) -> PushMode {
        PushMode(baseURL: "http://127.0.0.1:3100", tenant: "fake", encoding: encoding, streams: streams)
    }
}

extension OTLPMode {
    /// An OTLP mode for pool tests: bodies encoded in `encoding`, sent nowhere.
    static func forTests(encoding: BodyEncoding = .protobuf, attributes: Int, services: Int) -> OTLPMode {
        OTLPMode(urls: ["http://127.0.0.1:4318/v1/logs"], encoding: encoding, attributes: attributes, services: services)
    }
}
