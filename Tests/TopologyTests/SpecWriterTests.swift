import Foundation
import Testing
import Topology

/// A spec written back as YAML reads as the same topology: every example, the default, and a
/// spec the API changed.
@Suite("Spec written as YAML")
struct SpecWriterTests {
    static let examples = #filePath.components(separatedBy: "/Tests/TopologyTests/")[0] + "/Examples/"

    static func sources() throws -> [(String, String)] {
        var files = [("default", Topology.defaultYAML)]
        for name in try FileManager.default.contentsOfDirectory(atPath: examples).sorted() where name.hasSuffix(".yaml") {
            files.append((name, try String(contentsOfFile: examples + name, encoding: .utf8)))
        }
        return files
    }

    @Test func everyTopologyRoundTrips() throws {
        for (name, text) in try Self.sources() {
            let load = Topology.load(yaml: text)
            let spec = try #require(load.spec, "\(name)")
            let written = spec.yaml
            let again = Topology.load(yaml: written)
            #expect(again.errors.isEmpty, "\(name): \(again.errors.map(\.description))\n\(written)")
            let before = try #require(load.topology), after = try #require(again.topology, "\(name)")
            #expect(TopologyDescription(before).text == TopologyDescription(after).text, "\(name) describes the same")
            #expect(again.spec?.yaml == written, "\(name): writing is stable")
        }
    }

    @Test func oddStringsAreQuoted() throws {
        var spec = try #require(Topology.load(yaml: Topology.defaultYAML).spec)
        spec.hostedZones[0].records[0].values = [Located("say \"hi\" \\ # not a comment: [x]", at: FilePosition(line: 0, column: 0))]
        let again = try #require(Topology.load(yaml: spec.yaml).spec)
        #expect(again.hostedZones[0].records[0].values.map(\.value) == ["say \"hi\" \\ # not a comment: [x]"])
    }

    @Test func tagsAreReadCheckedAndWritten() throws {
        let yaml = Topology.defaultYAML.replacingOccurrences(of: "  - name: consumer\n", with: "  - name: consumer\n    tags: {team: web, \"cost centre\": \"42: x\"}\n")
        let load = Topology.load(yaml: yaml)
        #expect(load.errors.isEmpty, "\(load.errors.map(\.description))")
        #expect(load.topology?.vpcs.first { $0.name == "consumer" }?.tags == [Tag(key: "team", value: "web"), Tag(key: "cost centre", value: "42: x")])
        let again = Topology.load(yaml: try #require(load.spec).yaml)
        #expect(again.topology?.vpcs.first { $0.name == "consumer" }?.tags == load.topology?.vpcs.first { $0.name == "consumer" }?.tags)
        let named = Topology.load(yaml: Topology.defaultYAML.replacingOccurrences(of: "  - name: consumer\n", with: "  - name: consumer\n    tags: {Name: other}\n"))
        #expect(named.errors.map(\.message) == ["the Name tag of VPC 'consumer' is its name: write 'name', not a Name tag"])
    }
}
