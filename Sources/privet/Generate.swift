import ArgumentParser
import Forwarder
import Foundation
import PacketIO
import Topology

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Write the traffic of a topology's hosts to a capture, ready for `privet replay`.",
        discussion: """
            Clients (hosts in a VPC without a server) open connections to what they can reach: \
            services through their VPC's interface endpoints (by private DNS name, else the \
            regional name), AWS services through gateway endpoints, servers of their own VPC. \
            Hosts run a small TCP stack in a closed loop with the dataplane, so replies carry the \
            translated addresses a capture on every ENI would show. The same seed gives the same \
            capture.
            """
    )

    @Argument(help: "The topology file (YAML); `default` for the embedded default topology.")
    var topology: String

    @Option(help: "The capture to write (pcap, raw IP).")
    var output: String

    @Option(help: "Connections to make (default: 1000, or enough for --packets).")
    var connections: Int?

    @Option(help: "Stop after this many packets.")
    var packets: Int?

    @Option(help: "Seed of every random choice.")
    var seed: UInt64 = 1

    func validate() throws {
        if let connections, connections < 1 { throw ValidationError("--connections must be at least 1") }
        if let packets, packets < 1 { throw ValidationError("--packets must be at least 1") }
    }

    func run() throws {
        let model = try loadTopology(topology, purpose: "generated")
        // A connection sends 5 to 15 packets, both ends counted: plan enough, stop at the limit.
        let count = connections ?? packets.map { $0 / 4 + 1 } ?? 1000
        let started = Date()
        let writer: CaptureWriter
        do { writer = try CaptureWriter(path: output, linkType: .rawIP) } catch { throw CLIError(error.description) }
        let simulator = TrafficSimulator(topology: model, seed: seed, capture: writer)
        for connection in TrafficPlan.connections(count: count, in: model, seed: seed) { simulator.add(connection) }
        let progress = ProgressLine.ifTerminal(unit: "packets")
        simulator.run(packetLimit: packets ?? .max, progress: progress.map { line in { line.update(fraction: $0, count: $1) } })
        progress?.clear()
        do { try writer.close() } catch { throw CLIError(error.description) }
        var completed = 0, refused = 0, other = 0
        for outcome in simulator.outcomes {
            switch outcome {
            case .completed: completed += 1
            case .refused: refused += 1
            default: other += 1
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print("\(output): \(simulator.packetsSent) packets, \(simulator.connections.count) connections "
              + "(\(completed) completed, \(refused) refused, \(other) cut short or unanswered), "
              + String(format: "%.2f s", seconds))
    }
}
