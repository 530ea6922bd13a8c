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

    public init(_ severity: Severity, at location: FilePosition, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `FILE:LINE:COLUMN: error: message`, the form compilers use and editors jump to.
    public func rendered(file: String) -> String {
        "\(file):\(location.line):\(location.column): \(severity.rawValue): \(message)"
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
