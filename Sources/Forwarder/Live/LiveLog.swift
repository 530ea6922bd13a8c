import Foundation

/// How much a log line matters.
public enum LogLevel: Int, Comparable, Sendable, CustomStringConvertible {
    case debug, info, warning, error

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warning: return "warning"
        case .error: return "error"
        }
    }
}

/// The lines `privet up` logs while it runs: each with an RFC 3339 timestamp (UTC, milliseconds)
/// and a level, as text or as one JSON object a line (`--log-format json`), from `minimum` up.
public struct LiveLog: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public let format: Format
    public let minimum: LogLevel

    public init(format: Format = .text, minimum: LogLevel = .info) {
        self.format = format
        self.minimum = minimum
    }

    /// `2026-12-02T05:40:01.123Z`.
    public static func timestamp(_ date: Date = Date()) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let milliseconds = Int((date.timeIntervalSince1970 - Double(seconds)) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds)
    }

    /// The line for `message` at `level`, or nil when the level is below the minimum.
    public func line(_ level: LogLevel, _ message: String, date: Date = Date()) -> String? {
        guard level >= minimum else { return nil }
        switch format {
        case .text:
            return "\(LiveLog.timestamp(date)) \(level) \(message)"
        case .json:
            let object = ["time": LiveLog.timestamp(date), "level": level.description, "message": message]
            guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                return nil
            }
            return String(decoding: data, as: UTF8.self)
        }
    }
}
