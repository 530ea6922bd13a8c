import ArgumentParser
import Topology

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
