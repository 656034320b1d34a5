/// Tenant IDs from `X-Scope-OrgID`, checked as Loki checks them (`tenant.ValidTenantID`).
public enum TenantID {
    public static let maxLength = 150

    /// Returns why `id` is not a valid tenant ID, or nil when it is.
    public static func problem(_ id: String) -> String? {
        if id.isEmpty { return "no org id" }
        if id.utf8.count > maxLength { return "tenant ID is too long: max \(maxLength) characters" }
        if id == "." || id == ".." { return "tenant ID is '.' or '..'" }
        for scalar in id.unicodeScalars {
            let ok: Bool
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "!", "-", "_", ".", "*", "'", "(", ")": ok = true
            default: ok = false
            }
            if !ok { return "tenant ID '\(id)' contains unsupported character '\(scalar)'" }
        }
        return nil
    }
}
