// libFuzzer target for CloudFormation templates: arbitrary bytes read as a template (YAML with
// short-form tags, or JSON), its functions evaluated and its resources made into a topology, as
// `privet import cloudformation` does; the result, written as a file, read back and checked as
// `privet validate` would. Built and run by scripts/fuzz.sh; the seeds are the test templates.
import Topology

func templateFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    var importer = CloudFormationImport()
    importer.parameters = ["Environment": "prod"]
    let result = importer.run(template: Array(UnsafeBufferPointer(start: data, count: size)))
    for diagnostic in result.diagnostics { _ = diagnostic.rendered(file: "fuzz.yaml") }
    _ = result.summary
    guard result.spec != nil else { return 0 }
    _ = Topology.load(yaml: result.yaml(source: "fuzz.yaml"))
    return 0
}
