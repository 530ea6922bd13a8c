import Foundation
import Glibc
import PacketIO

/// The control socket of a running `privet up`: a Unix stream socket at
/// `/run/privet/NAME.sock`, in a directory only root may enter, so only root may ask. One
/// request a connection: a line (`status`, `flows` and a JSON filter, `stop`), then the answer,
/// JSON, and the connection closes. `privet status`, `flows` and `down` are its clients.
public final class ControlSocket: @unchecked Sendable {
    public static let directory = "/run/privet"

    public static func path(name: String) -> String { directory + "/" + name + ".sock" }

    public enum Request: Sendable {
        case status
        case flows(LiveFlow.Filter)
        /// The running topology as a topology file, API changes included (JSON: `{"yaml": ...}`).
        case spec
        /// End the `up` as Ctrl-C would (what `privet down` asks of a running `up`).
        case stop

        var line: String {
            switch self {
            case .status: return "status"
            case .spec: return "spec"
            case .stop: return "stop"
            case .flows(let filter):
                let json = (try? JSONEncoder().encode(filter)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                return "flows " + json
            }
        }

        init?(line: String) {
            let words = line.split(separator: " ", maxSplits: 1)
            switch words.first {
            case "status": self = .status
            case "spec": self = .spec
            case "stop": self = .stop
            case "flows":
                let json = words.count > 1 ? Data(words[1].utf8) : Data("{}".utf8)
                guard let filter = try? JSONDecoder().decode(LiveFlow.Filter.self, from: json) else { return nil }
                self = .flows(filter)
            default: return nil
            }
        }
    }

    public let path: String
    private let server: RequestServer

    /// Listens at the path of topology `name`; `answer` is asked on the socket's own thread.
    /// Fails when another `up` of the same name answers there.
    public init(name: String, answer: @escaping @Sendable (Request) -> Data) throws(ForwarderError) {
        path = ControlSocket.path(name: name)
        guard let address = SocketAddress.unix(path) else { throw ForwarderError(description: "\(path): too long for a socket's address") }
        if mkdir(ControlSocket.directory, 0o700) != 0 && errno != EEXIST {
            throw ForwarderError(description: "\(ControlSocket.directory): \(String(cString: strerror(errno)))")
        }
        // A socket file a crashed `up` left answers nobody: it goes.
        if (try? ControlSocket.ask(name: name, .status)) == nil { unlink(path) }
        let listener: Socket
        do {
            listener = try Socket.unixStream()
            try listener.bind(address)
            chmod(path, 0o600)
            try listener.listen(backlog: 8)
        } catch {
            throw ForwarderError(error)
        }
        // A line names the request.
        server = RequestServer(listener: listener, limit: 65536, isComplete: { $0.contains(0x0A) }) { request in
            let line = String(decoding: request.prefix { $0 != 0x0A }, as: UTF8.self)
            return [UInt8](Request(line: line).map(answer) ?? Data("{\"error\":\"unknown request\"}".utf8))
        }
    }

    public func start() { server.start(name: "privet-control") }

    /// Stops answering and removes the socket's file.
    public func close() {
        unlink(path)
        server.stop()
    }

    /// Asks the `up` of topology `name`; throws when none answers.
    public static func ask(name: String, _ request: Request) throws(ForwarderError) -> Data {
        let path = ControlSocket.path(name: name)
        guard let address = SocketAddress.unix(path) else { throw ForwarderError(description: "\(path): too long for a socket's address") }
        do {
            let socket = try Socket.unixStream()
            try socket.setTimeout(seconds: 10)
            try socket.connect(address)
            try socket.send(Array((request.line + "\n").utf8))
            try socket.shutdown(Int32(SHUT_WR))
            var reply = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = try chunk.withUnsafeMutableBytes { raw in Result { () throws(IOError) in try socket.receive(into: raw) } }.get()
                if count == 0 { break }
                reply += chunk[0..<count]
            }
            return Data(reply)
        } catch {
            throw ForwarderError(description: "topology '\(name)' is not running (no `privet up` answers at \(path): \(error))")
        }
    }

    /// The names of the topologies whose `up` has a socket here.
    public static func running() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".sock") }.map { String($0.dropLast(5)) }.sorted()
    }
}
