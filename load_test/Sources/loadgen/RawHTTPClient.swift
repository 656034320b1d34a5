#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One HTTP/1.1 exchange on a fresh loopback TCP connection, with the request written byte for byte as given
/// (an HTTP library would refuse to send lying lengths or control characters) and one deadline for the whole
/// exchange. Blocking: call it from a thread of its own, never from the async pool.
enum RawHTTPClient {
    struct Response: Sendable {
        var status: Int
        /// Header names lower-cased.
        var headers: [String: String]
        /// The first bytes of the body (at most 512).
        var bodyPrefix: [UInt8]
    }

    enum Outcome: Sendable {
        case response(Response)
        /// No status line before the deadline: the server hangs (or is too slow to tell apart).
        case timedOut(String)
        /// Refused, reset or closed without an answer.
        case transportError(String)
    }

    static func exchange(port: Int, request: [UInt8], halfClose: Bool, timeout: Duration) -> Outcome {
        let deadline = ContinuousClock.now + timeout
        func remainingMillis() -> Int32 {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return 0 }
            return Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
        }
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return .transportError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if connected != 0 && errno != EINPROGRESS {
            return .transportError("connect: \(String(cString: strerror(errno)))")
        }
        if connected != 0 {
            var waiter = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&waiter, 1, remainingMillis()) <= 0 { return .timedOut("connecting") }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 { return .transportError("connect: \(String(cString: strerror(error)))") }
        }

        // Write, but stop as soon as the server answers (it may refuse a large body before reading it).
        var written = 0
        var answeredEarly = false
        writing: while written < request.count {
            var waiter = pollfd(fd: fd, events: Int16(POLLOUT | POLLIN), revents: 0)
            let ready = poll(&waiter, 1, remainingMillis())
            if ready == 0 { return .timedOut("sending the request (\(written) of \(request.count) bytes written)") }
            if waiter.revents & Int16(POLLIN) != 0 {
                answeredEarly = true
                break writing
            }
            let count = request.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return send(fd, base + written, min(raw.count - written, 1 << 20), Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                break writing  // EPIPE / ECONNRESET: read whatever the server said before closing
            }
            written += count
        }
        if halfClose && !answeredEarly { shutdown(fd, Int32(SHUT_WR)) }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var headerEnd: Int?
        var response: Response?
        while true {
            var waiter = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&waiter, 1, remainingMillis())
            if ready == 0 {
                if let response { return .response(response) }
                return .timedOut(received.isEmpty ? "waiting for the response"
                                 : "reading the response head (\(received.count) bytes so far)")
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                if let response { return .response(response) }
                return .transportError("\(String(cString: strerror(errno))) after \(received.count) response bytes"
                                       + " (\(written) of \(request.count) request bytes written)")
            }
            if count == 0 {
                if let response { return .response(response) }
                if received.isEmpty {
                    return .transportError("closed without a response (\(written) of \(request.count) request bytes written)")
                }
                return .transportError("closed after \(received.count) bytes of a response head")
            }
            received.append(contentsOf: buffer[0..<count])
            if headerEnd == nil, let end = Self.headerEnd(received) {
                headerEnd = end
                guard let parsed = Self.parseHead(received[0..<end]) else {
                    return .transportError("unparseable response head: \(String(decoding: received.prefix(120), as: UTF8.self))")
                }
                response = parsed
            }
            if let end = headerEnd, var current = response {
                current.bodyPrefix = Array(received[(end + 4)...].prefix(512))
                response = current
                let expected = Int(current.headers["content-length"] ?? "") ?? Int.max
                if current.bodyPrefix.count >= min(512, expected) { return .response(current) }
                if received.count > 1 << 20 { return .response(current) }
            }
            if headerEnd == nil && received.count > 1 << 20 {
                return .transportError("a response head of more than 1 MiB")
            }
        }
    }

    /// The index of the `\r\n\r\n` that ends the head.
    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }

    static func parseHead(_ head: ArraySlice<UInt8>) -> Response? {
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        guard let statusLine = lines.first else { return nil }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), let status = Int(parts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
        }
        return Response(status: status, headers: headers, bodyPrefix: [])
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
