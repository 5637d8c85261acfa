// The identity of one run: the run id labelled on every object, and the default namespace name.

package struct RunIdentity: Sendable, Equatable, Codable {
    /// `20261123-112000-a1b2c3`: UTC start time (sorts by age) and a random suffix; a valid label value.
    package var runID: String
    /// The random suffix (6 lowercase hex digits).
    package var shortID: String

    package init(runID: String, shortID: String) {
        self.runID = runID
        self.shortID = shortID
    }

    /// Builds the identity from the start time (seconds since 1970, UTC) and 3 random bytes.
    package static func make(startSeconds: Int64, random: (UInt8, UInt8, UInt8)) -> RunIdentity {
        let hex = [random.0, random.1, random.2].map { byte -> String in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
        return RunIdentity(runID: "\(utcStamp(startSeconds))-\(hex)", shortID: hex)
    }

    /// A fresh identity from the clock and the system's random source.
    package static func fresh(now: Int64) -> RunIdentity {
        var generator = SystemRandomNumberGenerator()
        return make(
            startSeconds: now,
            random: (
                UInt8.random(in: 0...255, using: &generator),
                UInt8.random(in: 0...255, using: &generator),
                UInt8.random(in: 0...255, using: &generator)
            ))
    }

    /// The namespace a scenario without `namespace:` uses: `meshcheck-<short id>`.
    package var defaultNamespace: String { "meshcheck-\(shortID)" }

    /// `yyyyMMdd-HHmmss` in UTC (civil-from-days, proleptic Gregorian).
    static func utcStamp(_ seconds: Int64) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))\(pad(month, 2))\(pad(day, 2))-\(pad(secondOfDay / 3600, 2))\(pad(secondOfDay % 3600 / 60, 2))\(pad(secondOfDay % 60, 2))"
    }
}
