import ArgumentParser
import Forwarder
import Glibc

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the default topology end to end, in memory, and print what happened.",
        discussion: """
            Simulated clients reach the provider's web service by its private DNS name through the \
            interface endpoint in both zones, a target turns unhealthy halfway, and the cases AWS \
            refuses are tried. The capture of what the hosts sent is replayed; captures per port, \
            the drops and their reasons, a flow log and a report are left in the output folder.

            With --live (root), the default topology runs on real network namespaces instead (as \
            `privet up` builds them), and Privet itself makes the requests from inside the client \
            namespaces: the VPC resolver asked for the service's private DNS name, HTTP GETs \
            through the endpoint from both zones, and the connections AWS refuses. Everything it \
            made is removed at the end.
            """
    )

    @Flag(help: "Run on real network namespaces (root) instead of in memory.")
    var live = false

    @Option(help: "Folder for the demo's output (default: a new folder under /tmp).")
    var output: String?

    func run() throws {
        if live {
            guard output == nil else { throw ValidationError("--output is for the in-memory demo; --live leaves nothing behind") }
            guard geteuid() == 0 else { throw CLIError("privet demo --live needs root: it makes network namespaces and TUN devices") }
            do {
                try LiveDemo.run(serverCommand: [selfExecutable()]) { print($0) }
            } catch {
                throw CLIError(error.description)
            }
            return
        }
        let folder: String
        if let output {
            folder = output
        } else {
            var template = Array("/tmp/privet-demo-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                throw CLIError("cannot create a folder under /tmp: \(String(cString: strerror(errno)))")
            }
            folder = String(cString: made)
        }
        do {
            print(try Forwarder.Demo.run(output: folder).text, terminator: "")
        } catch {
            throw CLIError(error.description)
        }
    }
}
