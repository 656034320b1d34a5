extension String {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }

    /// A number with two decimals, without Foundation's locale-dependent formatters.
    init(format2 value: Double) {
        self.init(fixed: value, decimals: 2)
    }

    /// A number with `decimals` decimals (rounded half away from zero).
    init(fixed value: Double, decimals: Int) {
        guard value.isFinite else {
            self = "\(value)"
            return
        }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled - Double(whole) * scale)
        var text = value < 0 && scaled > 0 ? "-\(whole)" : "\(whole)"
        if decimals > 0 {
            var digits = String(fraction)
            while digits.count < decimals { digits = "0" + digits }
            text += "." + digits
        }
        self = text
    }
}
