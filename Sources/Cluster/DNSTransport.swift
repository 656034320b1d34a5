import NIOCore
import NIOPosix
import Wire

/// One DNS exchange with one nameserver: a datagram, and the same query over TCP when the answer comes back
/// truncated (TC). NIO only frames bytes here; matching the answer to the query is async code.
struct DNSTransport: Sendable {
    let group: any EventLoopGroup

    enum Failure: Error {
        /// No answer came by the deadline.
        case timedOut
        /// The answer could not be read.
        case malformed(DNSMessageError)
        /// The socket could not be opened, bound, connected or written.
        case io(any Error)
    }

    /// Sends `query` (whose ID is `id`) to `server` and returns the decoded answer, all by `deadline`.
    ///
    /// Datagrams from another address, with another ID, or that are not responses are ignored (the wait goes on):
    /// they are strays or forgeries, not the answer.
    func exchange(_ query: [UInt8], id: UInt16, with server: SocketAddress,
                  deadline: NIODeadline) async throws(Failure) -> DNSMessage {
        let answer = try await datagramExchange(query, id: id, with: server, deadline: deadline)
        if (try? DNSHeader(bytes: answer))?.isTruncated == true {
            let full = try await streamExchange(query, id: id, with: server, deadline: deadline)
            return try decode(full)
        }
        return try decode(answer)
    }

    private func decode(_ bytes: [UInt8]) throws(Failure) -> DNSMessage {
        do throws(DNSMessageError) {
            return try DNSMessage(bytes: bytes)
        } catch {
            throw .malformed(error)
        }
    }

    private func datagramExchange(_ query: [UInt8], id: UInt16, with server: SocketAddress,
                                  deadline: NIODeadline) async throws(Failure) -> [UInt8] {
        let (stream, continuation) = AsyncStream<Received>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(DatagramForwarder(continuation: continuation))
                    }
                }
                .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        } catch {
            continuation.finish()
            throw .io(error)
        }
        return try await receive(on: channel, stream: stream, id: id, from: server, deadline: deadline) {
            channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)))
        }
    }

    private func streamExchange(_ query: [UInt8], id: UInt16, with server: SocketAddress,
                                deadline: NIODeadline) async throws(Failure) -> [UInt8] {
        let remaining = deadline - .now()
        guard remaining > .zero else { throw .timedOut }
        let (stream, continuation) = AsyncStream<Received>.makeStream(bufferingPolicy: .bufferingNewest(16))
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(remaining)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(
                            FrameForwarder(continuation: continuation, remoteAddress: server))
                    }
                }
                .connect(to: server).get()
        } catch {
            continuation.finish()
            if case ChannelError.connectTimeout = error { throw .timedOut }
            throw .io(error)
        }
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt16(query.count))
        buffer.writeBytes(query)
        let framed = buffer
        return try await receive(on: channel, stream: stream, id: id, from: server, deadline: deadline) {
            channel.writeAndFlush(framed)
        }
    }

    /// Writes with `send`, then waits for the first message from `server` that answers `id`. The channel is closed
    /// on return, at the deadline (which ends the stream) and on cancellation.
    private func receive(on channel: any Channel, stream: AsyncStream<Received>, id: UInt16, from server: SocketAddress,
                         deadline: NIODeadline,
                         send: @Sendable () -> EventLoopFuture<Void>) async throws(Failure) -> [UInt8] {
        let expiry = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(promise: nil) }
        defer {
            expiry.cancel()
            channel.close(promise: nil)
        }
        let result: Result<[UInt8], Failure> = await withTaskCancellationHandler {
            do {
                try await send().get()
            } catch {
                // On a loaded machine the deadline can pass before the query is even written: the channel closed
                // at the deadline is a timeout, not a socket error.
                return .failure(NIODeadline.now() >= deadline ? .timedOut : .io(error))
            }
            for await message in stream {
                guard message.from == server, let header = try? DNSHeader(bytes: message.bytes),
                      header.id == id, header.isResponse
                else { continue }
                return .success(message.bytes)
            }
            return .failure(.timedOut)
        } onCancel: {
            channel.close(promise: nil)
        }
        return try result.get()
    }
}

/// A message as it arrived, and from where.
private struct Received: Sendable {
    var bytes: [UInt8]
    var from: SocketAddress
}

/// Hands every datagram to the waiting query; the stream ends when the channel closes.
private final class DatagramForwarder: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<Received>.Continuation

    init(continuation: AsyncStream<Received>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        continuation.yield(Received(bytes: Array(envelope.data.readableBytesView), from: envelope.remoteAddress))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        continuation.finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An unconnected UDP socket has no errors worth ending the wait for; the deadline bounds it.
    }
}

/// Hands every framed TCP message to the waiting query; the stream ends when the connection does.
private final class FrameForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<Received>.Continuation
    let remoteAddress: SocketAddress

    init(continuation: AsyncStream<Received>.Continuation, remoteAddress: SocketAddress) {
        self.continuation = continuation
        self.remoteAddress = remoteAddress
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(Received(bytes: Array(unwrapInboundIn(data).readableBytesView), from: remoteAddress))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        continuation.finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish()
        context.close(promise: nil)
    }
}

/// DNS over TCP (RFC 1035 §4.2.2): each message is preceded by its length as a 16-bit big-endian integer.
struct LengthPrefixedFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        guard let frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }
}
