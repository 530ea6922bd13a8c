import Foundation
import Testing
import TestSupport

/// Every example carries the traffic it is meant to carry: `gen` completes every connection its
/// clients open, `validate` has nothing to warn of, and `replay` of that capture drops nothing.
@Suite("The examples carry traffic")
struct ExampleTrafficTests {
    static let folder = #filePath.components(separatedBy: "/Tests/")[0] + "/Examples/"
    static var examples: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func thereAreExamples() {
        #expect(Self.examples.count >= 3, "the examples folder is read")
    }

    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"),
          arguments: examples)
    func exampleCarriesItsTraffic(_ example: String) throws {
        let privet = privetExecutable()!
        let path = Self.folder + example
        let scratch = try ScratchFolder()
        defer { scratch.cleanUp() }

        let validation = try runProgram(privet, ["validate", path])
        #expect(validation.status == 0)
        #expect((validation.output + validation.error).contains("valid (0 warnings)"), "\(validation.output)\(validation.error)")

        let capture = scratch.file("traffic.pcap")
        let generated = try runProgram(privet, ["gen", path, "--output", capture, "--connections", "60"])
        try #require(generated.status == 0, "\(generated.error)")
        #expect(generated.output.contains("60 connections (60 completed, 0 refused, 0 cut short or unanswered)"),
                "\(generated.output)")

        let replayed = try runProgram(privet, ["replay", path, "--input", capture, "--output", scratch.file("out"), "--json"])
        try #require(replayed.status == 0, "\(replayed.error)")
        let document = try JSONSerialization.jsonObject(with: Data(replayed.output.utf8)) as? [String: Any]
        let report = try #require(document?["report"] as? [String: Any])
        let dropped = (report["dropped"] as? [String: Any])?["packets"] as? Int
        #expect(dropped == 0, "drops: \(report["drops"] ?? "none")")
        let sessions = report["sessions"] as? [String: Any]
        let created = sessions?["created"] as? Int ?? 0
        #expect(created >= 60, "a session for each connection")
        // Every connection finished, so every session counts as closed, none as expired.
        #expect(sessions?["closed"] as? Int == created, "\(sessions ?? [:])")
        let forwarded = (report["forwarded"] as? [String: Any])?["packets"] as? Int ?? 0
        #expect(forwarded > 0)
    }
}
