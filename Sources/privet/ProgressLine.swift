import Foundation
import Glibc

/// A progress line on standard error while a long command works through a large file, when
/// standard error is a terminal (never into a file or a pipe): a bar, the count done, the rate,
/// and the time left at that rate, redrawn in place at most ten times a second.
final class ProgressLine: @unchecked Sendable {
    private let unit: String
    private let started = Date()
    private var drawn = Date.distantPast

    private init(unit: String) { self.unit = unit }

    /// A progress line, or nil when standard error is not a terminal.
    static func ifTerminal(unit: String) -> ProgressLine? { isatty(2) != 0 ? ProgressLine(unit: unit) : nil }

    /// `fraction` of the work done, `count` of the unit (packets, connections) so far.
    func update(fraction: Double, count: Int? = nil) {
        let now = Date()
        guard now.timeIntervalSince(drawn) >= 0.1 else { return }
        drawn = now
        let fraction = max(0, min(1, fraction))
        let elapsed = now.timeIntervalSince(started)
        let width = 24, done = Int(fraction * Double(width))
        var line = "\r[" + String(repeating: "#", count: done) + String(repeating: " ", count: width - done) + "] "
            + String(format: "%3d%%", Int(fraction * 100))
        if let count {
            line += "  \(count) \(unit)"
            if elapsed > 0 { line += String(format: ", %.0f/s", Double(count) / elapsed) }
        }
        if fraction > 0.01 { line += String(format: ", %.0f s left", elapsed * (1 - fraction) / fraction) }
        writeToStandardError(line + "   ")
    }

    /// Takes the line off the terminal.
    func clear() { writeToStandardError("\r" + String(repeating: " ", count: 79) + "\r") }
}
