import ArgumentParser
import Forwarder
import Foundation
import Glibc
import PacketIO

// Looking into a running `privet up` through its control socket (`ControlSocket`), as
// containerlab's `inspect` and `exec` do: `status`, `flows`, `exec`.

/// The running topology a command names, by its file or its name; when none is named, the one
/// that is running, if only one is.
func runningTopology(_ given: String?) throws -> String {
    if let given { return liveName(given) }
    let running = ControlSocket.running()
    switch running.count {
    case 0: throw CLIError("no topology is running (no `privet up` has a socket in \(ControlSocket.directory))")
    case 1: return running[0]
    default: throw CLIError("\(running.count) topologies are running (\(running.joined(separator: ", "))): name one")
    }
}

/// The answer of the running `up` of `name` to `request`, decoded.
func askRunning<Answer: Decodable>(_ name: String, _ request: ControlSocket.Request, as type: Answer.Type) throws -> Answer {
    let reply: Data
    do { reply = try ControlSocket.ask(name: name, request) } catch { throw CLIError(error.description) }
    guard let answer = try? JSONDecoder().decode(Answer.self, from: reply) else {
        throw CLIError("topology '\(name)': its `privet up` did not answer (\(String(decoding: reply.prefix(200), as: UTF8.self)))")
    }
    return answer
}

func printJSON<Value: Encodable>(_ value: Value) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a running topology: hosts, endpoints, load balancer nodes, target health, sessions, ports, drops.",
        discussion: """
            Asks the running `privet up` through its control socket (root only). Exit status 1 when \
            the topology is not running.
            """
    )

    @Argument(help: "The topology file or name given to `up`; omit when only one is running.")
    var topology: String?

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Refresh every second in place, as `top` does, until Ctrl-C.")
    var watch = false

    @Flag(help: "Print the running topology as a topology file, with what the AWS API (`up --api`) changed: save it to bring the same network up again.")
    var yaml = false

    func validate() throws {
        if yaml && (json || watch) { throw ValidationError("--yaml goes alone") }
    }

    func run() throws {
        let name = try runningTopology(topology)
        if yaml {
            struct Saved: Decodable { let yaml: String }
            print(try askRunning(name, .spec, as: Saved.self).yaml, terminator: "")
            return
        }
        repeat {
            let status = try askRunning(name, .status, as: LiveStatus.self)
            if watch { print("\u{1B}[H\u{1B}[2J", terminator: "") }
            if json { printJSON(status) } else { print(status.text, terminator: "") }
            fflush(nil)
            if watch { sleep(1) }
        } while watch
    }
}

struct Flows: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the flow table of a running topology: both tuples, endpoint, node, target, TCP state, age, counts.")

    @Argument(help: "The topology file or name given to `up`; omit when only one is running.")
    var topology: String?

    @Option(help: "Only flows to or from this host.")
    var host: String?

    @Option(help: "Only flows balanced to this target (HOST or HOST:PORT).")
    var target: String?

    @Option(help: "Only flows through this endpoint.")
    var endpoint: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let name = try runningTopology(topology)
        let flows = try askRunning(name, .flows(LiveFlow.Filter(host: host, target: target, endpoint: endpoint)), as: [LiveFlow].self)
        if json { printJSON(flows) } else { print(LiveFlow.text(flows), terminator: "") }
    }
}

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command in a host's namespace of a running topology, with its VPC's resolver.",
        discussion: "As `ip netns exec privet-NAME-HOST COMMAND...` (and `containerlab exec`): privet exec default client-a -- curl http://api.privet.example/"
    )

    @Argument(help: "The topology file or name given to `up`.")
    var topology: String

    @Argument(help: "The host.")
    var host: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func run() throws {
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        guard !arguments.isEmpty else { throw ValidationError("give the command to run after --") }
        let namespace = LiveNetwork.namespaceName(topology: liveName(topology), host: host)
        guard NetworkNamespace.exists(namespace) else {
            throw CLIError("no namespace \(namespace): topology '\(liveName(topology))' is not up, or has no host '\(host)'")
        }
        // `ip netns exec` also mounts the namespace's /etc/netns files: its resolver.
        let argv = ["ip", "netns", "exec", namespace] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        execvp("ip", &cArguments)
        throw CLIError("ip: \(String(cString: strerror(errno)))")
    }
}
