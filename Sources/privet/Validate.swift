import ArgumentParser
import Topology

/// Reads a topology file (or, for `default`, the embedded one) for a command that needs a valid
/// one: diagnostics go to standard error, and errors stop the command.
func loadTopology(_ path: String, purpose: String) throws -> Topology {
    if path == "default" { return Topology.load(yaml: Topology.defaultYAML).topology! }
    let load = try TopologyFile.read(path)
    for diagnostic in load.diagnostics { writeToStandardError(diagnostic.rendered(file: path) + "\n") }
    guard let topology = load.topology else { throw CLIError("\(path): \(load.errors.count) error(s); nothing \(purpose)") }
    return topology
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a topology file and report every problem in it.",
        discussion: """
            Each problem is printed as FILE:LINE:COLUMN: error: ... (or warning:), in file order. \
            Exit status: 0 when the file has no errors (warnings are allowed), 1 when it has errors, \
            2 for a usage error.
            """
    )

    @Argument(help: "The topology file (YAML).")
    var topology: String

    func run() throws {
        let load = try TopologyFile.read(topology)
        for diagnostic in load.diagnostics { writeToStandardError(diagnostic.rendered(file: topology) + "\n") }
        guard load.topology != nil else {
            throw CLIError("\(topology): \(load.errors.count) error\(load.errors.count == 1 ? "" : "s")")
        }
        print("\(topology): valid (\(load.warnings.count) warning\(load.warnings.count == 1 ? "" : "s"))")
    }
}
