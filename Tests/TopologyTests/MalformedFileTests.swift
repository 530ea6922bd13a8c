import Testing
import Topology
import TestSupport

/// Files that are not topologies at all: each gives errors, none crashes.
@Suite("Malformed files")
struct MalformedFileTests {
    @Test func binaryJunk() {
        var generator = SeededGenerator(seed: 7)
        var bytes = [UInt8].random(count: 4096, using: &generator)
        bytes[0] = 0xFF
        let load = Topology.load(yaml: bytes)
        #expect(load.topology == nil)
        #expect(load.errors.first?.message == "the file is not UTF-8 text")
        #expect(load.errors.first?.location == FilePosition(line: 1, column: 1))
    }

    @Test func invalidUTF8IsLocated() {
        let load = Topology.load(yaml: Array("region: us-east-1\nzones: é".utf8) + [0xC3])
        #expect(load.errors.first?.message == "the file is not UTF-8 text")
        #expect(load.errors.first?.location == FilePosition(line: 2, column: 9))
    }

    @Test func deepNesting() {
        for yaml in [String(repeating: "[", count: 100_000), String(repeating: "- ", count: 50_000),
                     "region: " + String(repeating: "{a: ", count: 10_000),
                     (0..<300).map { String(repeating: " ", count: $0) + "a:" }.joined(separator: "\n")] {
            let load = Topology.load(yaml: yaml)
            #expect(load.topology == nil)
            #expect(load.errors.count == 1)
            #expect(load.errors.first?.message.hasPrefix("nesting deeper than 64 levels") == true)
        }
    }

    @Test func hugeNumbers() {
        let yaml = edited("    port: 80\n", "    port: ⁁99999999999999999999999999999999999999\n")
        expectDiagnostic(yaml, "'port' of target group 'servers' must be a whole number from 1 to 65535, not '99999999999999999999999999999999999999'")
        expectDiagnostic(edited("idleTimeout", "idleTimeout", in: edited("targetGroup: servers}", "targetGroup: servers, idleTimeout: ⁁-1e400}")),
                         "'idleTimeout' of listener 1 of load balancer 'nlb' must be a whole number from 60 to 6000")
    }

    @Test func duplicateKeysAtTheTop() {
        expectDiagnostic(baseYAML + "⁁zones: []\n", "duplicate key 'zones' in one mapping")
    }

    @Test func aliasesAreRefused() {
        let yaml = edited("  - {name: client, subnet: consumer-a}\n",
                          "  - &c {name: client, subnet: consumer-a}\n")
            .replacingOccurrences(of: "hosts:\n", with: "hosts:\n")
        // An anchor alone is harmless; using it as a value is refused.
        #expect(expectValid(yaml) != nil)
        expectDiagnostic(edited("    subnets: [provider-a]\n    listeners", "    subnets: [⁁*c]\n    listeners", in: yaml),
                         "YAML aliases (*name) are not supported; write the value out")
        // "Billion laughs": refused before anything is expanded.
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + (1...9).map { level in
            "l\(level): &l\(level) [" + Array(repeating: level == 1 ? "*a" : "*l\(level - 1)", count: 10).joined(separator: ", ") + "]"
        }.joined(separator: "\n")
        let load = Topology.load(yaml: laughs)
        #expect(load.errors.map(\.message) == ["YAML aliases (*name) are not supported; write the value out"])
    }

    @Test func rootThatIsNotAMapping() {
        expectDiagnostic("⁁- just\n- a list\n", "the topology must be a mapping of fields, not a list")
        expectDiagnostic("", "the file is empty")
        expectDiagnostic("# only a comment\n", "the file is empty")
    }

    /// Random damage to the default topology (bytes deleted, duplicated, flipped): diagnostics
    /// or a topology, never a crash.
    @Test func randomDamageNeverCrashes() {
        var generator = SeededGenerator(seed: 2026)
        let original = Array(Topology.defaultYAML.utf8)
        var withErrors = 0
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: bytes.remove(at: index)
                case 1: bytes.insert(bytes[index], at: index)
                case 2: bytes[index] = UInt8.random(in: 0x20...0x7E, using: &generator)
                default: bytes.insert(contentsOf: [0x3A, 0x20], at: index)
                }
            }
            let load = Topology.load(yaml: bytes)
            if load.topology == nil { withErrors += 1; #expect(!load.errors.isEmpty) }
        }
        #expect(withErrors > 100)
    }
}
