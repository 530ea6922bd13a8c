/// A place in the topology file: 1-based line and column, as editors count them.
public struct FilePosition: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let line: Int
    public let column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    public static func < (lhs: FilePosition, rhs: FilePosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }

    public var description: String { "\(line):\(column)" }
}

/// A value read from the file, with where it was written.
public struct Located<Value> {
    public let value: Value
    public let location: FilePosition

    public init(_ value: Value, at location: FilePosition) {
        self.value = value
        self.location = location
    }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Sendable where Value: Sendable {}

/// One problem found in a topology file.
public struct Diagnostic: Equatable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable {
        case error
        case warning
    }

    public let severity: Severity
    public let location: FilePosition
    public let message: String

    /// `message` quotes the file's own text; its control characters are escaped here, once.
    public init(_ severity: Severity, at location: FilePosition, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = Diagnostic.escaped(message)
    }

    /// `FILE:LINE:COLUMN: error: message`, the form compilers use and editors jump to.
    public func rendered(file: String) -> String {
        "\(Diagnostic.escaped(file)):\(location.line):\(location.column): \(severity.rawValue): \(message)"
    }

    /// `text` with every character that could move the terminal's cursor, change its state or
    /// reorder what it shows written as `\u{XX}`: C0 and C1 controls (an ESC sequence, a newline
    /// that would start a forged diagnostic), DEL, the Unicode line and paragraph separators,
    /// and the bidirectional overrides and isolates (CVE-2021-42574). Compilers print such
    /// characters escaped for the same reason.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Collects diagnostics while a file is read and checked; shared by every reader of one file.
final class DiagnosticLog {
    private(set) var diagnostics: [Diagnostic] = []

    func error(_ location: FilePosition, _ message: String) {
        diagnostics.append(Diagnostic(.error, at: location, message))
    }

    func warning(_ location: FilePosition, _ message: String) {
        diagnostics.append(Diagnostic(.warning, at: location, message))
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    /// In file order; the order found breaks ties.
    var sorted: [Diagnostic] {
        diagnostics.enumerated().sorted { ($0.element.location, $0.offset) < ($1.element.location, $1.offset) }
            .map(\.element)
    }
}

/// The nearest of `candidates` to `word` by edit distance, when near enough to be a likely typo.
func suggestion(for word: String, among candidates: [String]) -> String? {
    let lowered = word.lowercased()
    let scored = candidates.map { ($0, editDistance(lowered, $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= max(2, word.count / 3) ? best.0 : nil
}

/// Levenshtein distance over characters.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
