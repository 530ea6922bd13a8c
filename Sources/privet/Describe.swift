import ArgumentParser
import Topology

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a topology: services, endpoints, ENIs, DNS names, load balancers, routes.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, mermaid
    }

    @Argument(help: "The topology file (YAML); `default` (or --default) for the embedded default topology.")
    var topology: String?

    @Flag(help: "Describe the embedded default topology (the one `privet demo` runs).")
    var `default` = false

    @Flag(help: "With the default topology: print its YAML instead, to start a file from.")
    var yaml = false

    @Option(help: "Output format: \(Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: Format = .text

    /// The file to describe: `default` for the embedded one, by name or by flag.
    private var file: String? { `default` ? "default" : topology }

    func validate() throws {
        if `default` == (topology != nil) { throw ValidationError("give a topology file or --default, not both or neither") }
        if yaml && file != "default" { throw ValidationError("--yaml goes with the default topology") }
    }

    func run() throws {
        if yaml {
            print(Topology.defaultYAML)
            return
        }
        let name = file ?? "default"
        let load = try readTopology(name)
        guard let model = load.topology else {
            printDiagnostics(load.diagnostics, file: name)
            throw CLIError("\(name): \(load.errors.count) error(s); run `privet validate` for the list")
        }
        printDiagnostics(load.warnings, file: name)
        switch format {
        case .text: print(TopologyDescription(model).text, terminator: "")
        case .json: print(TopologyDescription(model).json)
        case .mermaid: print(TopologyDescription(model).mermaid, terminator: "")
        }
    }
}
