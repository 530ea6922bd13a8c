import Foundation
import Testing
import TestSupport
import Topology

/// `privet validate` and `privet describe` as a user runs them.
@Suite("privet validate and describe")
struct TopologyCommandTests {
    static let examples = #filePath.components(separatedBy: "/Tests/")[0] + "/Examples/"

    /// Thousands of overlapping subnets: one error each, the first 100 printed in file order,
    /// then how many more; quickly.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func validateCapsWhatItPrints() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("overlaps.yaml")
        var yaml = "region: us-east-1\nzones:\n  - {name: us-east-1a, id: use1-az1}\nvpcs:\n  - {name: v, cidr: 10.0.0.0/16}\nsubnets:\n"
        for index in 0..<2000 { yaml += "  - {name: s\(index), vpc: v, zone: us-east-1a, cidr: 10.0.\(index % 4).0/24}\n" }
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
        let result = try runProgram(privetExecutable()!, ["validate", path])
        #expect(result.status == 1)
        let lines = result.error.split(separator: "\n")
        #expect(lines.count == 102, "100 diagnostics, the count of the rest, the summary")
        #expect(lines[100] == "\(path): 1896 more not shown (1896 errors, 0 warnings); the first 100 are above")
        #expect(lines[101] == "Error: \(path): 1996 errors")
    }

    /// A file cannot write to the terminal through its diagnostics: an ESC sequence or a line
    /// break in a quoted value is printed escaped, so no forged line appears.
    @Test(.enabled(if: privetExecutable() != nil, "the privet executable is not built beside the tests"))
    func diagnosticsEscapeControlCharacters() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("forged.yaml")
        try "region: \"us-east-1\\u001b[2J\\nfake.yaml:1:1: error: forged\\u2028\"\n".write(toFile: path, atomically: false, encoding: .utf8)
        let result = try runProgram(privetExecutable()!, ["validate", path])
        #expect(result.status == 1)
        #expect(!result.error.contains("\u{1B}") && !result.error.contains("\u{2028}"))
        #expect(!result.error.split(separator: "\n").contains { $0.hasPrefix("fake.yaml") })
        #expect(result.error.contains("not 'us-east-1\\u{1B}[2J\\u{A}fake.yaml:1:1: error: forged\\u{2028}'"), "\(result.error)")
    }

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
        try yaml.write(toFile: path, atomically: false, encoding: .utf8)
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
