import Foundation
import Testing
import Dataplane
import DataplaneFixtures
import Forwarder
import PacketIO
import PacketWire
import TestSupport

/// The dataplane's fixture table replayed from captures: each row's packets, written to a
/// capture and replayed, must come to what the row says, in the files a user reads: the judged
/// packet byte for byte in its port's capture, or its reason in dropped.csv.
@Suite("Fixture table, replayed")
struct ReplayFixtureTests {
    /// Rows replay can play: packets only, each entering by the port its source address gives
    /// (replay has no other way to know a sender), nothing special about the buffer.
    static let replayable: [Fixture] = FixtureTable.rows.filter { row in
        guard row.isOnlyPackets, !row.tight, row.expected != .toHealthChecker else { return false }
        let (_, harness, sent) = row.run()
        return sent.allSatisfy { packet, port in
            var bytes = packet
            return bytes.withUnsafeMutableBytes { harness.tables.ingressPort(ofPacket: $0) } == port
        }
    }

    @Test func mostRowsReplay() {
        #expect(Self.replayable.count * 3 >= FixtureTable.rows.count * 2, "\(Self.replayable.count) of \(FixtureTable.rows.count)")
    }

    @Test(arguments: replayable)
    func row(_ fixture: Fixture) throws {
        let (outcome, harness, sent) = fixture.run()
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let input = folder.file("in.pcap"), output = folder.file("out")
        try ReplayTests.writeCapture(sent.map(\.packet), to: input)
        var options = Replay.Options(input: input, output: output)
        fixture.configure(&options.configuration)
        _ = try Replay(topology: harness.topology, options: options).run()
        func lastPacket(of port: String) throws -> [UInt8]? {
            let path = output + "/" + port + ".pcap"
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return try ReplayTests.read(path).last
        }
        switch fixture.expected {
        case .forwarded(let port), .encapsulated(let port), .decapsulated(let port):
            #expect(try lastPacket(of: port) == outcome.bytes, "the packet out of \(port), byte for byte")
        case .replied:
            let sender = harness.tables.ports[sent.last!.port].name
            #expect(try lastPacket(of: sender) == outcome.bytes, "the RST back to \(sender)")
        case .toResolver:
            let sender = harness.tables.ports[sent.last!.port].name
            #expect(try lastPacket(of: sender) != nil, "the resolver's answer to \(sender)")
        case .dropped(let reason, _):
            let rows = try String(contentsOfFile: output + "/dropped.csv", encoding: .utf8).split(separator: "\n")
            let last = rows.last.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? []
            #expect(last.count > 3 && last[0] == String(sent.count) && last[3] == reason.name, "\(rows.last ?? "no drop")")
        case .toHealthChecker:
            Issue.record("not replayable")
        }
    }
}
