import Foundation
import Glibc
import PacketIO

/// A listening stream socket that answers one request a connection, on a thread of its own,
/// until it is stopped: what the control socket and the metrics server share. A request is read
/// until `isComplete` says it is whole (or `limit` bytes, or the peer stops sending, within 5 s).
final class RequestServer: @unchecked Sendable {
    private let listener: Socket
    private let limit: Int
    private let isComplete: @Sendable ([UInt8]) -> Bool
    private let reply: @Sendable ([UInt8]) -> [UInt8]

    init(listener: Socket, limit: Int, isComplete: @escaping @Sendable ([UInt8]) -> Bool,
         reply: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.listener = listener
        self.limit = limit
        self.isComplete = isComplete
        self.reply = reply
    }

    func start(name: String) {
        let thread = Thread { [self] in serve() }
        thread.name = name
        thread.start()
    }

    /// Stops accepting: the thread's accept fails and it ends.
    func stop() { try? listener.shutdown(Int32(SHUT_RDWR)) }

    private func serve() {
        while true {
            guard let connection = try? listener.accept() else { return }
            try? connection.setTimeout(seconds: 5)
            var request = [UInt8]()
            var chunk = [UInt8](repeating: 0, count: 4096)
            while request.count < limit, !isComplete(request) {
                let count = chunk.withUnsafeMutableBytes { (try? connection.receive(into: $0)) ?? 0 }
                if count <= 0 { break }
                request += chunk[0..<count]
            }
            try? connection.send(reply(request))
        }
    }
}
