import Foundation
import Testing
import Topology

@Suite("Describe")
struct DescribeTests {
    static let goldenFolder = #filePath.components(separatedBy: "/DescribeTests.swift")[0] + "/Golden/"

    /// The text of `privet describe --default`, byte for byte. After a deliberate change,
    /// regenerate with: privet describe --default > Tests/TopologyTests/Golden/default-describe.txt
    @Test func defaultTextMatchesTheGoldenFile() throws {
        let topology = try #require(Topology.load(yaml: Topology.defaultYAML).topology)
        let golden = try String(contentsOfFile: Self.goldenFolder + "default-describe.txt", encoding: .utf8)
        let text = TopologyDescription(topology).text
        #expect(text == golden)
        if text != golden {
            // Name the first line that differs, so the failure reads in one glance.
            let pairs = zip(text.split(separator: "\n"), golden.split(separator: "\n"))
            if let (line, (ours, theirs)) = pairs.enumerated().first(where: { $0.element.0 != $0.element.1 }) {
                Issue.record("line \(line + 1): «\(ours)» vs golden «\(theirs)»")
            }
        }
    }

    @Test func jsonCarriesTheSameFacts() throws {
        let topology = try #require(Topology.load(yaml: Topology.defaultYAML).topology)
        let json = TopologyDescription(topology).json
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let endpoints = try #require(object["endpoints"] as? [[String: Any]])
        let web = try #require(endpoints.first { $0["name"] as? String == "web-endpoint" })
        #expect(web["state"] as? String == "available")
        #expect(web["id"] as? String == topology.endpoints[0].id)
        let interfaces = try #require(web["interfaces"] as? [[String: Any]])
        #expect(interfaces.map { $0["zone"] as? String } == ["us-east-1a", "us-east-1b"])
        #expect(interfaces.map { $0["ipv4"] as? String } == topology.endpoints[0].interfaces.map { topology[$0].ipv4?.description })
        let names = try #require(web["dnsNames"] as? [[String: Any]])
        #expect(names.map { $0["scope"] as? String } == ["regional", "us-east-1a", "us-east-1b", "private DNS"])
        let balancers = try #require(object["loadBalancers"] as? [[String: Any]])
        let nodes = try #require(balancers.first?["nodes"] as? [[String: Any]])
        #expect(nodes.map { ($0["targets"] as? [Any])?.count } == [1, 1, 0], "one zone of the NLB has no targets")
    }

    @Test func mermaidDrawsVPCsZonesAndTheServicePath() throws {
        let topology = try #require(Topology.load(yaml: Topology.defaultYAML).topology)
        let mermaid = TopologyDescription(topology).mermaid
        #expect(mermaid.hasPrefix("flowchart LR\n"))
        #expect(mermaid.contains("  subgraph vpc_consumer[\"VPC consumer 10.20.0.0/16\"]"))
        #expect(mermaid.contains("    subgraph zone_consumer_us_east_1a[\"us-east-1a\"]"))
        #expect(mermaid.contains("  svc_web_service --> lb_web_nlb"))
        #expect(mermaid.contains("  lb_web_nlb -->|TCP 80| host_web_a"))
        #expect(mermaid.contains("-.->|rejected| svc_web_service"), "the partner's rejected endpoint is drawn dashed")
        // Every subgraph is closed.
        let opened = mermaid.components(separatedBy: "subgraph ").count - 1
        let closed = mermaid.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces) == "end" }.count
        #expect(opened == closed)
    }
}
