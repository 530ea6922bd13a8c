import ArgumentParser
import Dataplane
import Forwarder
import Foundation
import Glibc
import PacketIO
import Topology

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Run the dataplane on a capture and write what every port would have sent.",
        discussion: """
            Each captured packet enters on the port of the ENI that owns its source address (or the \
            internet gateway, or a gateway endpoint's service network, for outside sources) at its \
            captured time. The output folder gets one raw-IP capture per port that sent packets, \
            dropped.pcap with dropped.csv giving each drop's reason, flow-log.txt (VPC Flow Logs, \
            version 2 unless --flow-log-format says otherwise), and report.txt and report.json. The same inputs give the same files, byte \
            for byte.

            Events file: one event per line, TIME EVENT SUBJECT, TIME in seconds after the first \
            packet; events are target-unhealthy, target-healthy, target-registered, \
            target-deregistered (SUBJECT: target-group/host[:port]), endpoint-accepted, \
            endpoint-rejected (SUBJECT: the endpoint's name).
            """
    )

    @Argument(help: "The topology file (YAML); `default` for the embedded default topology.")
    var topology: String

    @Option(help: "The capture to replay (pcap or pcapng).")
    var input: String

    @Option(help: "The folder for the output (created if missing).")
    var output: String

    @Option(help: "A timeline of health and lifecycle events.")
    var events: String?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Sessions the flow table holds at once (a full table refuses new flows, counted as flow-table-full).")
    var flowCapacity: Int = 1 << 18

    @Flag(help: "Each port's capture holds what entered by it too (both directions, as tcpdump on an interface).")
    var bothDirections = false

    @Option(help: ArgumentHelp(FlowLogFormatOption.help, valueName: "format"))
    var flowLogFormat: String?

    @Option(help: FlowLogFormatOption.intervalHelp)
    var maxAggregationInterval: Int = 600

    @Option(help: ArgumentHelp("Workers, each a dataplane owning a shard of the flows on a thread of its own, as `up --workers N` has them: a capture of a live run replays as that run forwarded it (the same NAT ports). The same capture and count give the same files. Default 1: the outputs do not depend on the machine's cores.",
                               valueName: "n"))
    var workers: Int = 1

    func validate() throws {
        _ = try FlowLogFormatOption.parse(flowLogFormat)
        try FlowLogFormatOption.check(interval: maxAggregationInterval)
        if flowCapacity < 1 || flowCapacity > 64 << 20 { throw ValidationError("--flow-capacity must be from 1 to \(64 << 20)") }
        if workers < 1 || workers > Shard.maximumWorkers { throw ValidationError("--workers must be from 1 to \(Shard.maximumWorkers)") }
    }

    func run() throws {
        let model = try loadTopology(topology, purpose: "replayed")
        var options = Replay.Options(input: input, output: output)
        options.configuration.flowCapacity = flowCapacity
        options.bothDirections = bothDirections
        options.workers = workers
        options.flowLogFormat = try FlowLogFormatOption.parse(flowLogFormat)
        options.configuration.flowLogInterval = Int64(maxAggregationInterval) * 1_000_000_000
        if let events {
            guard let text = try? String(contentsOfFile: events, encoding: .utf8) else { throw CLIError("\(events): cannot read") }
            do { options.events = try ReplayEvent.parse(text, file: events, topology: model) } catch {
                writeToStandardError(error.description + "\n")
                throw CLIError("\(events): the events have errors; nothing replayed")
            }
        }
        let progress = json ? nil : ProgressLine.ifTerminal(unit: "")
        if let progress { options.progress = { progress.update(fraction: $0) } }
        let replay = try Replay(topology: model, options: options)
        let (report, timing): (ReplayReport, ReplayTiming)
        do { (report, timing) = try replay.run() } catch { throw CLIError(error.description) }
        progress?.clear()
        try replaceFile(output + "/report.txt", with: report.text)
        try replaceFile(output + "/report.json", with: report.json)
        if json {
            struct Printed: Encodable {
                let report: ReplayReport
                let timing: ReplayTiming
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Printed(report: report, timing: timing)), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
            print("speed: " + timing.text)
            print("output: \(output)")
        }
        if let stopped = report.captureError { throw CLIError(stopped + " (the packets before it were replayed)") }
        // A capture most of whose packets no ENI, gateway or service owns belongs to another
        // topology: what was replayed says little.
        if report.unattributed > 0 && report.unattributed * 2 > report.input.packets {
            throw CLIError("\(report.unattributed) of \(report.input.packets) packets have addresses no ENI, gateway or service of "
                           + "\(topology) owns (such as \(replay.unattributedExamples.joined(separator: ", "))): the capture does not "
                           + "belong to this topology")
        }
    }
}

/// `--flow-log-format`, alike for `replay` and `up`.
enum FlowLogFormatOption {
    static let help = "The flow log's fields in AWS's custom-format syntax, such as '${version} ${interface-id} "
        + "${srcaddr} ${pkt-srcaddr} ${flow-direction} ${tcp-flags}' (version 2's fields by default; see the README)."

    static let intervalHelp = ArgumentHelp(
        "The flow log's maximum aggregation interval in seconds: 60 or 600, as AWS offers (AWS keeps ENIs of Nitro instances at 60 or less whatever is chosen).",
        valueName: "seconds")

    static func check(interval: Int) throws {
        guard interval == 60 || interval == 600 else {
            throw ValidationError("--max-aggregation-interval is 60 or 600 seconds, as AWS offers")
        }
    }

    static func parse(_ text: String?) throws -> FlowLogFormat {
        guard let text else { return .default }
        do { return try FlowLogFormat(text) } catch { throw ValidationError(error.description) }
    }
}
