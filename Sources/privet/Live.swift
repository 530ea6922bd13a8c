import ArgumentParser
import Dispatch
import BuiltInServers
import Forwarder
import Foundation
import Glibc
import Topology

/// The name `up` and `down` give a topology's namespaces: the file's name, in letters, digits and
/// dashes.
func liveName(_ path: String) -> String {
    let base = path == "default" ? "default" : ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    let cleaned = String(base.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.prefix(24))
    return cleaned.isEmpty ? "topology" : cleaned
}

/// This program's own path, to start the built-in servers (`privet serve`) inside namespaces.
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

struct Up: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the topology on network namespaces and forward live (root).",
        discussion: """
            One namespace per host (privet-NAME-HOST), each with a TUN device as its ENI, addressed \
            and routed as its subnet says, and /etc/netns/NAMESPACE/resolv.conf pointing at the \
            VPC resolver. The built-in servers run inside. Runs in the foreground: Ctrl-C or SIGTERM \
            removes everything it made; SIGHUP re-reads the file and swaps the new tables in, \
            keeping established flows. `privet down` removes what a crashed `up` left.
            """
    )

    @Argument(help: "The topology file (YAML); `default` for the embedded default topology.")
    var topology: String

    @Flag(help: "Open the TUN devices without IFF_VNET_HDR offloads: one MTU-sized packet per read, checksums complete.")
    var noOffloads = false

    func run() throws {
        guard geteuid() == 0 else { throw CLIError("privet up needs root: it makes network namespaces and TUN devices") }
        let model = try loadTopology(topology, purpose: "built")
        let name = liveName(topology)
        let network = LiveNetwork(topology: model, name: name)
        network.offloads = !noOffloads
        network.log = { line in
            print(line)
            fflush(nil)
        }
        do { try network.build(serverCommand: [selfExecutable()]) } catch { throw CLIError(error.description) }
        do { try network.start() } catch {
            network.teardown()
            throw CLIError(error.description)
        }
        print(LiveReport.text(model, name: name), terminator: "")
        print("Forwarding. Ctrl-C (or SIGTERM) removes everything; SIGHUP reloads \(topology).")
        fflush(nil)

        let done = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler {
                if signalNumber == SIGHUP {
                    do {
                        let reloaded = try loadTopology(topology, purpose: "reloaded")
                        try network.reload(reloaded)
                        print("reloaded \(topology)")
                    } catch {
                        writeToStandardError("reload refused, the running tables stay: \(error)\n")
                    }
                    fflush(nil)
                } else {
                    done.signal()
                }
            }
            source.resume()
            sources.append(source)
        }
        DispatchQueue.global().async {
            done.wait()
            network.teardown()
            print(LiveReport.summary(network), terminator: "")
            print("removed the namespaces of \(name)")
            fflush(nil)
            Glibc.exit(0)
        }
        dispatchMain()
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove whatever `privet up` left behind (root).")

    @Argument(help: "The topology file (YAML) given to `up`; `default` for the embedded one.")
    var topology: String

    func run() throws {
        guard geteuid() == 0 else { throw CLIError("privet down needs root") }
        let model = try loadTopology(topology, purpose: "removed")
        let removed = LiveNetwork.down(topology: model, name: liveName(topology))
        print(removed.isEmpty ? "nothing to remove" : "removed " + removed.joined(separator: ", "))
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a built-in server (used inside namespaces by `privet up`).", shouldDisplay: false)

    @Argument(help: "http, tcp-echo or udp-echo")
    var kind: String

    @Option(help: "The port to listen on.")
    var port: UInt16

    @Option(help: "What the HTTP server says it is.")
    var identity: String = "privet"

    func run() throws {
        guard let kind = BuiltInServer.Kind(rawValue: kind) else { throw ValidationError("kind must be http, tcp-echo or udp-echo") }
        do { try BuiltInServer.run(kind: kind, port: port, identity: identity) } catch { throw CLIError(error.description) }
    }
}
