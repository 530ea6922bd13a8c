import ArgumentParser
import Dispatch
import BuiltInServers
import Dataplane
import Forwarder
import Foundation
import Glibc
import PacketIO
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
            keeping established flows. While it runs, `privet status`, `flows` and `exec` look into \
            it through its control socket (/run/privet/NAME.sock, root only), and `privet down` \
            stops it; `down` also removes what a crashed `up` left.
            """
    )

    @Argument(help: "The topology file (YAML); `default` for the embedded default topology.")
    var topology: String

    @Flag(help: "Open the TUN devices without IFF_VNET_HDR offloads: one MTU-sized packet per read, checksums complete.")
    var noOffloads = false

    @Flag(help: "With several workers, leave each TUN device's choice of queue to the kernel (the queue that last wrote a flow) instead of steering each flow to its worker; workers hand on the packets of flows they do not own.")
    var noFlowSteering = false

    @Option(help: "Sessions the flow table holds (each 192 bytes, allocated at start), shared out among the workers.")
    var flowCapacity: Int = DataplaneConfiguration().flowCapacity

    @Option(help: ArgumentHelp("Forwarding threads, each with a queue of every TUN device and a shard of the flows (1 to \(LiveNetwork.maximumWorkers); default: one a core, \(LiveNetwork.defaultWorkers) here).",
                               valueName: "n"))
    var workers: Int = LiveNetwork.defaultWorkers

    @Option(help: "Log lines as text (RFC 3339 time, level, message) or one JSON object a line: \(LiveLog.Format.allCases.map(\.rawValue).joined(separator: ", ")).")
    var logFormat: LiveLog.Format = .text

    @Flag(name: .shortAndLong, help: "Log warnings and errors only.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Log debug lines too.")
    var verbose = false

    @Option(help: ArgumentHelp("Write VPC Flow Logs records (as replay writes them) to this file while forwarding.", valueName: "file"))
    var flowLog: String?

    @Option(help: ArgumentHelp(FlowLogFormatOption.help, valueName: "format"))
    var flowLogFormat: String?

    @Option(help: FlowLogFormatOption.intervalHelp)
    var maxAggregationInterval: Int = 600

    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://ADDRESS:PORT/metrics ([ADDRESS:]PORT; ADDRESS 127.0.0.1 unless given).",
                               valueName: "[address:]port"))
    var metrics: String?

    @Option(help: ArgumentHelp("Serve the EC2 and ELBv2 API subset of PrivateLink (AWS Query protocol) at http://ADDRESS:PORT for `aws --endpoint-url` ([ADDRESS:]PORT, such as 4566; ADDRESS 127.0.0.1 unless given).",
                               valueName: "[address:]port"))
    var api: String?

    /// `[ADDRESS:]PORT` as an address and a port (127.0.0.1 unless an address is given).
    private static func endpoint(_ text: String?) -> (IPv4AddressText, UInt16)? {
        guard let text else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        let address = parts.count == 2 && !parts[0].isEmpty ? String(parts[0]) : "127.0.0.1"
        guard parts.count <= 2, let port = UInt16(parts.last ?? ""), port > 0, let parsed = IPv4AddressText(address) else { return nil }
        return (parsed, port)
    }

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose exclude each other") }
        if flowCapacity < 1 || flowCapacity > 1 << 30 { throw ValidationError("--flow-capacity must be from 1 to \(1 << 30)") }
        if workers < 1 || workers > LiveNetwork.maximumWorkers {
            throw ValidationError("--workers must be from 1 to \(LiveNetwork.maximumWorkers) (the queues a TUN device can have)")
        }
        _ = try FlowLogFormatOption.parse(flowLogFormat)
        try FlowLogFormatOption.check(interval: maxAggregationInterval)
        if flowLogFormat != nil && flowLog == nil { throw ValidationError("--flow-log-format needs --flow-log FILE") }
        if api != nil && Up.endpoint(api) == nil { throw ValidationError("--api takes [ADDRESS:]PORT, such as 127.0.0.1:4566") }
        if metrics != nil && Up.endpoint(metrics) == nil { throw ValidationError("--metrics takes [ADDRESS:]PORT, such as 127.0.0.1:9464") }
    }

    func run() throws {
        guard geteuid() == 0 else { throw CLIError("privet up needs root: it makes network namespaces and TUN devices") }
        let (model, spec) = try loadTopologyAndSpec(topology, purpose: "built")
        let name = liveName(topology)
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = flowCapacity
        configuration.flowLogInterval = Int64(maxAggregationInterval) * 1_000_000_000
        let network = LiveNetwork(topology: model, spec: spec, name: name, configuration: configuration, workers: workers)
        network.offloads = !noOffloads
        network.flowSteering = !noFlowSteering
        let logger = LiveLog(format: logFormat, minimum: quiet ? .warning : verbose ? .debug : .info)
        let log: @Sendable (LogLevel, String) -> Void = { level, message in
            guard let line = logger.line(level, message) else { return }
            print(line)
            fflush(nil)
        }
        network.log = log
        // The reports at start and end: as they are for a person reading text, one record each
        // in JSON.
        let announce: @Sendable (String) -> Void = { text in
            if logFormat == .json {
                log(.info, text.trimmingCharacters(in: .newlines))
            } else {
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                fflush(nil)
            }
        }
        if let flowLog {
            let format = try FlowLogFormatOption.parse(flowLogFormat)
            do { try network.logFlows(to: flowLog, format: format) } catch { throw CLIError(error.description) }
        }
        // Ctrl-C or SIGTERM at any moment: while building, what was made so far is removed;
        // once forwarding, everything is (below).
        let done = DispatchSemaphore(value: 0)
        let stopping = StopRequest()
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                stopping.request()
                done.signal()
            }
            source.resume()
            sources.append(source)
        }
        let building = ProgressLine.ifTerminal(unit: "hosts")
        do {
            try network.build(serverCommand: [selfExecutable()],
                              progress: { index, count, _ in building?.update(fraction: Double(index) / Double(count), count: index) },
                              cancelled: { stopping.requested })
        } catch {
            building?.clear()
            throw CLIError(error.description)
        }
        building?.clear()
        do { try network.start() } catch {
            network.teardown()
            throw CLIError(error.description)
        }
        let control: ControlSocket
        do {
            control = try ControlSocket(name: name) { request in
                let encoder = JSONEncoder()
                switch request {
                case .status: return network.status().flatMap { try? encoder.encode($0) } ?? Data("{\"error\":\"not forwarding\"}".utf8)
                case .flows(let filter): return network.flows(filter).flatMap { try? encoder.encode($0) } ?? Data("{\"error\":\"not forwarding\"}".utf8)
                case .spec: return network.specYAML().flatMap { try? encoder.encode(["yaml": $0]) } ?? Data("{\"error\":\"not forwarding\"}".utf8)
                case .stop:
                    done.signal()
                    return Data("{\"stopping\":true}".utf8)
                }
            }
        } catch {
            network.teardown()
            throw CLIError(error.description)
        }
        let metricsServer: MetricsServer?, apiServer: APIServer?
        let metricsEndpoint = Up.endpoint(metrics), apiEndpoint = Up.endpoint(api)
        do {
            metricsServer = try metricsEndpoint.map { (address, port) throws(ForwarderError) in
                try MetricsServer(address: address, port: port) { network.metricsText() }
            }
            apiServer = try apiEndpoint.map { (address, port) throws(ForwarderError) in
                try APIServer(address: address, port: port, network: network)
            }
        } catch {
            control.close()
            network.teardown()
            throw CLIError(error.description)
        }
        network.stoppedByItself = { _ in done.signal() }
        control.start()
        metricsServer?.start()
        apiServer?.start()
        announce(LiveReport.text(model, name: name) + LiveReport.tunnelOffload(model, network: network)
                 + "Forwarding on \(workers) worker\(workers == 1 ? "" : "s")"
                 + (workers > 1 ? network.steeredByFlow ? " (the devices steer each flow to its worker)" : " (the kernel picks the queues; workers hand on what is not theirs)" : "")
                 + ". Ctrl-C (or SIGTERM, or `privet down`) removes everything; SIGHUP reloads \(topology).\n"
                 + "Look into it: privet status \(name), privet flows \(name), privet exec \(name) HOST -- COMMAND\n"
                 + (metricsEndpoint.map { "Metrics: http://\($0.0.text):\($0.1)/metrics\n" } ?? "")
                 + (apiEndpoint.map { "AWS API: aws --endpoint-url http://\($0.0.text):\($0.1) --region \(model.region) ec2 describe-vpc-endpoints\n" } ?? ""))

        signal(SIGHUP, SIG_IGN)
        let reload = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .main)
        reload.setEventHandler {
            do {
                let reloaded = try loadTopologyAndSpec(topology, purpose: "reloaded")
                try network.reload(reloaded.topology, spec: reloaded.spec)
                log(.info, "reloaded \(topology)")
            } catch {
                log(.error, "reload refused, the running tables stay: \(error)")
            }
            fflush(nil)
        }
        reload.resume()
        sources.append(reload)
        DispatchQueue.global().async {
            done.wait()
            control.close()
            metricsServer?.close()
            apiServer?.close()
            network.teardown()
            announce(LiveReport.summary(network) + "removed the namespaces of \(name)\n")
            Glibc.exit(0)
        }
        dispatchMain()
    }
}

extension LiveLog.Format: ExpressibleByArgument {}

/// Whether Ctrl-C or SIGTERM came: set by the signal's handler, read by the building thread.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    func request() {
        lock.lock()
        value = true
        lock.unlock()
    }

    var requested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

struct Down: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove whatever `privet up` left behind (root).")

    @Argument(help: "The topology file (YAML) given to `up`; `default` for the embedded one.")
    var topology: String

    func run() throws {
        guard geteuid() == 0 else { throw CLIError("privet down needs root") }
        let model = try loadTopology(topology, purpose: "removed")
        let name = liveName(topology)
        // A running `up` stops itself, removing what it made; then whatever is left goes.
        let running = (try? ControlSocket.ask(name: name, .stop)) != nil
        if running {
            let deadline = Date().addingTimeInterval(30)
            func stillUp() -> Bool {
                FileManager.default.fileExists(atPath: ControlSocket.path(name: name))
                    || LiveNetwork.namespaces(of: model, name: name).contains { NetworkNamespace.exists($0) }
            }
            while stillUp() {
                guard Date() < deadline else { throw CLIError("the running `privet up` of '\(name)' did not stop within 30 s") }
                usleep(100_000)
            }
            print("stopped the running `privet up` of '\(name)'")
        }
        var removed = LiveNetwork.down(topology: model, name: name)
        // The control socket of a crashed `up` answers nobody: it goes too.
        let socket = ControlSocket.path(name: name)
        if !running && FileManager.default.fileExists(atPath: socket) && unlink(socket) == 0 { removed.append(socket) }
        if !removed.isEmpty {
            print("removed " + removed.joined(separator: ", "))
        } else if !running {
            print("nothing to remove")
        }
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
