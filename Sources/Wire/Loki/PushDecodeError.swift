/// A push request body could not be decoded.
///
/// The message names the layer that failed (`snappy`, `gzip`, `deflate`, `proto`, `json`) and where, so the
/// client sees what to fix. The HTTP layer answers 400, or 413 when `isBodyTooLarge` is set.
public struct PushDecodeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    /// True only when a decompressed size limit was exceeded.
    public var isBodyTooLarge: Bool
    public var description: String { message }

    public init(message: String, isBodyTooLarge: Bool = false) {
        self.message = message
        self.isBodyTooLarge = isBodyTooLarge
    }
}
