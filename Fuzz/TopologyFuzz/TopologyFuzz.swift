// libFuzzer target for topology files: arbitrary bytes read as YAML, checked, resolved and, when
// the file is valid, described and compiled into the dataplane's tables, as every command that
// loads a file does. Built and run by scripts/fuzz.sh; the seeds are the files of Examples/.
import Dataplane
import Topology

func topologyFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let load = Topology.load(yaml: Array(UnsafeBufferPointer(start: data, count: size)))
    for diagnostic in load.diagnostics { _ = diagnostic.rendered(file: "fuzz.yaml") }
    guard let topology = load.topology else { return 0 }
    let description = TopologyDescription(topology)
    _ = (description.text, description.json, description.mermaid)
    let tables = topology.forwardingTables()
    _ = Dataplane(tables: tables, configuration: {
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = 64
        return configuration
    }())
    return 0
}
