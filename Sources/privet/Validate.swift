import ArgumentParser
import Topology

/// Reads a topology file (or, for `default`, the embedded one) for a command that needs a valid
/// one: diagnostics go to standard error, and errors stop the command.
func loadTopology(_ path: String, purpose: String) throws -> Topology {
    try loadTopologyAndSpec(path, purpose: purpose).topology
}

/// `loadTopology`, with the spec it was resolved from (what the AWS API of `up` edits).
func loadTopologyAndSpec(_ path: String, purpose: String) throws -> (topology: Topology, spec: TopologySpec?) {
    let load = try readTopology(path)
    printDiagnostics(load.diagnostics, file: path)
    guard let topology = load.topology else { throw CLIError("\(path): \(load.errors.count) error(s); nothing \(purpose)") }
    return (topology, load.spec)
}

/// The file at `path`, read and resolved; `default` names the embedded default topology, as it
/// does wherever a command takes a topology file.
func readTopology(_ path: String) throws -> TopologyLoad {
    path == "default" ? Topology.load(yaml: Topology.defaultYAML) : try TopologyFile.read(path)
}

/// The most diagnostics printed for one file; compilers stop at a limit too (clang's
/// -ferror-limit), since the first ones are what a reader acts on.
let diagnosticLimit = 100

/// Prints `diagnostics` (in file order) to standard error, the first `diagnosticLimit` of them,
/// then how many more there were.
func printDiagnostics(_ diagnostics: [Diagnostic], file: String) {
    for diagnostic in diagnostics.prefix(diagnosticLimit) { writeToStandardError(diagnostic.rendered(file: file) + "\n") }
    let rest = diagnostics.dropFirst(diagnosticLimit)
    guard !rest.isEmpty else { return }
    let errors = rest.filter { $0.severity == .error }.count, warnings = rest.count - errors
    writeToStandardError("\(Diagnostic.escaped(file)): \(rest.count) more not shown (\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")); the first \(diagnosticLimit) are above\n")
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

    @Argument(help: "The topology file (YAML); `default` for the embedded default topology.")
    var topology: String

    func run() throws {
        let load = try readTopology(topology)
        printDiagnostics(load.diagnostics, file: topology)
        guard load.topology != nil else {
            throw CLIError("\(topology): \(load.errors.count) error\(load.errors.count == 1 ? "" : "s")")
        }
        print("\(topology): valid (\(load.warnings.count) warning\(load.warnings.count == 1 ? "" : "s"))")
    }
}
