import Logging
import ServiceLifecycle

/// The run loop the agent's HTTP receivers share: serve one listener, build a new one when the settings change
/// (a new generation), stop the old one gracefully, and end `run()` with an error when a listener stops by itself
/// (a port in use, say), which marks the component unhealthy until a reload starts it again.
///
/// Stopping (a changed address, the component removed, or the agent shutting down) stops accepting connections,
/// lets requests in flight finish for up to the grace period, then cancels what is left, so nothing a client
/// was told is accepted is cut short by a reload.
struct HTTPListenerLoop: Sendable {
    /// One listener to start: the service that serves it, and the address it is meant for (for messages).
    struct Listener {
        var service: any Service
        var address: String

        /// No listener: for a generation whose settings have none (a receiver without that block). It serves
        /// nothing until a reload brings a generation that has one.
        static var idle: Listener { Listener(service: Idle(), address: "(none)") }

        private struct Idle: Service {
            func run() async throws { try await gracefulShutdown() }
        }
    }

    private enum Event: Sendable {
        case rebind(generation: Int)
        case listenerEnded(generation: Int, error: String)
    }

    private let events: AsyncStream<Event>
    private let post: AsyncStream<Event>.Continuation

    init() {
        (events, post) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    /// Asks the running loop to replace its listener with one for `generation`.
    func rebind(to generation: Int) {
        post.yield(.rebind(generation: generation))
    }

    /// Serves listeners from `generation` on until cancelled. `make` builds the listener of a generation;
    /// `grace` is read when one stops; `stopped` runs once it has.
    func run(
        from generation: Int, logger: Logger, grace: () -> Duration, stopped: () -> Void,
        make: (_ generation: Int) -> Listener
    ) async throws {
        var generation = generation
        var events = self.events.makeAsyncIterator()
        while true {
            let running = start(make(generation), generation: generation, logger: logger)
            var next: Int?
            var failure: String?
            waiting: while let event = await events.next() {
                switch event {
                case .rebind(let value) where value != generation:
                    next = value
                    break waiting
                case .listenerEnded(let ended, let error) where ended == generation:
                    failure = error
                    break waiting
                default:
                    continue
                }
            }
            await running.stop(within: grace())
            stopped()
            if let failure { throw ListenerError(message: failure) }
            guard let next else { return }
            generation = next
        }
    }

    struct ListenerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    private func start(_ listener: Listener, generation: Int, logger: Logger) -> Running {
        let group = ServiceGroup(configuration: .init(services: [listener.service], logger: logger))
        let post = self.post
        let address = listener.address
        let task = Task {
            do {
                try await group.run()
                post.yield(.listenerEnded(generation: generation, error: "the listener on \(address) stopped"))
            } catch {
                post.yield(.listenerEnded(generation: generation, error: "listening on \(address) failed: \(error)"))
            }
        }
        return Running(group: group, task: task)
    }

    /// One bound HTTP server: its service group (so it can be shut down gracefully) and the task running it.
    private struct Running: Sendable {
        let group: ServiceGroup
        let task: Task<Void, Never>

        /// Stops accepting, lets requests in flight finish for up to `grace`, then cancels what is left.
        func stop(within grace: Duration) async {
            await group.triggerGracefulShutdown()
            let task = self.task
            let deadline = Task {
                do { try await Task.sleep(for: grace) } catch { return }
                task.cancel()
            }
            await task.value
            deadline.cancel()
        }
    }
}
