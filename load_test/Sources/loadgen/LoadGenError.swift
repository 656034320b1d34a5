/// Errors the load generator reports to its user.
enum LoadGenError: Error, CustomStringConvertible {
    /// A command-line value that cannot be used; the message names the value and what was expected.
    case badArgument(String)
    /// A file under /proc could not be read or parsed (the process is gone, or not on Linux).
    case procUnavailable(path: String, reason: String)
    /// The server answered a request with something the generator cannot use.
    case badResponse(url: String, status: Int, bodyPrefix: String)

    var description: String {
        switch self {
        case .badArgument(let message):
            return "bad argument: \(message)"
        case .procUnavailable(let path, let reason):
            return "cannot read \(path): \(reason) (is the process running, and is this Linux?)"
        case .badResponse(let url, let status, let bodyPrefix):
            return "\(url) answered HTTP \(status): \(bodyPrefix)"
        }
    }
}
