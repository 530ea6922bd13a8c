import Foundation
import Topology

/// A timeline of control-plane events for a replay: at time T (seconds after the capture's first
/// packet), a target turns unhealthy or healthy, is registered or deregistered, or an endpoint is
/// accepted or rejected. One event per line; `#` starts a comment:
///
///     12.5  target-unhealthy     web-targets/web-a
///     30    target-healthy       web-targets/web-a:80
///     40    endpoint-rejected    partner-endpoint
///     60    target-deregistered  web-targets/web-b
public struct ReplayEvent: Equatable, Sendable {
    public enum Action: String, CaseIterable, Sendable {
        case targetUnhealthy = "target-unhealthy"
        case targetHealthy = "target-healthy"
        case targetRegistered = "target-registered"
        case targetDeregistered = "target-deregistered"
        case endpointAccepted = "endpoint-accepted"
        case endpointRejected = "endpoint-rejected"
    }

    /// Nanoseconds after the first packet.
    public var time: Int64
    public var action: Action
    /// `group/host[:port]` for targets, the endpoint's name for endpoints.
    public var subject: String
    public var line: Int

    /// The target group, host and port of a target subject.
    var target: (group: String, host: String, port: UInt16?)? {
        let parts = subject.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        let hostPort = parts[1].split(separator: ":", maxSplits: 1).map(String.init)
        if hostPort.count == 2 {
            guard let port = UInt16(hostPort[1]), port > 0 else { return nil }
            return (parts[0], hostPort[0], port)
        }
        return (parts[0], hostPort[0], nil)
    }


    /// Reads an events file, checking every subject against the topology; all problems are
    /// reported together as `FILE:LINE: error: ...` lines.
    public static func parse(_ text: String, file: String, topology: Topology) throws(ForwarderError) -> [ReplayEvent] {
        var events: [ReplayEvent] = []
        var problems: [String] = []
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { continue }
            func problem(_ message: String) { problems.append("\(file):\(offset + 1): error: \(message)") }
            guard words.count == 3 else {
                problem("expected TIME EVENT SUBJECT, found \(words.count) word\(words.count == 1 ? "" : "s")")
                continue
            }
            guard let seconds = Double(words[0]), seconds >= 0, seconds < 1e9 else {
                problem("'\(words[0])' is not a time in seconds after the first packet")
                continue
            }
            guard let action = Action(rawValue: words[1]) else {
                problem("unknown event '\(words[1])'; events are \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            let event = ReplayEvent(time: Int64(seconds * 1e9), action: action, subject: words[2], line: offset + 1)
            switch action {
            case .endpointAccepted, .endpointRejected:
                if !topology.endpoints.contains(where: { $0.name == event.subject }) {
                    problem("no endpoint named '\(event.subject)'")
                    continue
                }
            default:
                guard let (group, host, _) = event.target else {
                    problem("'\(event.subject)' is not a target: write target-group/host or target-group/host:port")
                    continue
                }
                guard topology.targetGroups.contains(where: { $0.name == group }) else {
                    problem("no target group named '\(group)'")
                    continue
                }
                guard let hostModel = topology.hosts.first(where: { $0.name == host }), case .vpc = hostModel.placement else {
                    problem("no host named '\(host)' in a VPC")
                    continue
                }
            }
            if let previous = events.last, previous.time > event.time {
                problem("events must be in time order; this one is earlier than line \(previous.line)")
                continue
            }
            events.append(event)
        }
        if !problems.isEmpty { throw ForwarderError(description: problems.joined(separator: "\n")) }
        return events
    }
}
