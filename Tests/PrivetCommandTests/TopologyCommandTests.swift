import Foundation
import Testing
import TestSupport
import Topology

/// `privet validate` and `privet describe` as a user runs them.
@Suite("privet validate and describe")
struct TopologyCommandTests {
    static let examples = #filePath.components(separatedBy: "/Tests/")[0] + "/Examples/"

    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func validateReportsEveryProblemWithItsPosition() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("broken.yaml")
        // Three problems on three lines; all three must be reported, in file order.
        let yaml = Topology.defaultYAML
            .replacingOccurrences(of: "cidr: 10.30.1.0/24}", with: "cidr: 10.31.1.0/24}")
            .replacingOccurrences(of: "    type: network\n", with: "    type: network\n    crossZones: true\n")
            .replacingOccurrences(of: "targets: [{host: web-a}, {host: web-b}]", with: "targets: [{host: web-a}, {host: web-c}]")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runProgram(privetExecutable()!, ["validate", path])
        #expect(result.status == 1)
        let lines = result.error.split(separator: "\n").map(String.init)
        let errors = lines.filter { $0.contains(": error: ") }
        #expect(errors.count == 3, "\(lines)")
        let positions = errors.compactMap { line -> (Int, Int)? in
            let parts = line.dropFirst(path.count + 1).split(separator: ":")
            guard parts.count > 2, let row = Int(parts[0]), let column = Int(parts[1]) else { return nil }
            return (row, column)
        }
        #expect(positions.count == 3)
        #expect(positions.map(\.0) == positions.map(\.0).sorted(), "in file order")
        #expect(errors[0].hasPrefix(path + ":"))
        #expect(result.error.contains("subnet 'partner-a': 10.31.1.0/24 is outside the CIDR block 10.30.0.0/16 of VPC 'partner'"))
        #expect(result.error.contains("unknown field 'crossZones' in load balancer 'web-nlb'; did you mean 'crossZone'?"))
        #expect(result.error.contains("target group 'web-targets' refers to unknown host 'web-c'; did you mean 'web-a'?"))
    }

    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func validateExitStatus() throws {
        for example in ["minimal-nlb-endpoint.yaml", "gwlb-inspection.yaml", "cross-zone-ipv6.yaml"] {
            let clean = try runProgram(privetExecutable()!, ["validate", Self.examples + example])
            #expect(clean.status == 0, "\(example): \(clean.error)")
            #expect(clean.output.contains("valid (0 warnings)"))
        }
        let missing = try runProgram(privetExecutable()!, ["validate", "/nonexistent/topology.yaml"])
        #expect(missing.status == 1)
        #expect(missing.error.contains("/nonexistent/topology.yaml: no such file"))
        let usage = try runProgram(privetExecutable()!, ["validate"])
        #expect(usage.status == 2)
    }

    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func describeFormats() throws {
        let text = try runProgram(privetExecutable()!, ["describe", "--default"])
        #expect(text.status == 0)
        #expect(text.output.contains("Endpoint services\n  web-service  vpce-svc-0"))
        let json = try runProgram(privetExecutable()!, ["describe", Self.examples + "minimal-nlb-endpoint.yaml", "--format", "json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        #expect((object?["endpoints"] as? [Any])?.count == 1)
        let mermaid = try runProgram(privetExecutable()!, ["describe", "--default", "--format", "mermaid"])
        #expect(mermaid.output.hasPrefix("flowchart LR"))
        let yaml = try runProgram(privetExecutable()!, ["describe", "--default", "--yaml"])
        #expect(yaml.output == Topology.defaultYAML + "\n")
        let both = try runProgram(privetExecutable()!, ["describe", "--default", Self.examples + "gwlb-inspection.yaml"])
        #expect(both.status == 2)
    }
}
