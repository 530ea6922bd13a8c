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
    /// Each connection read and answered on a thread of its own (at most `maximumConcurrent`),
    /// so that a slow client holds up no other.
    private let concurrent: Bool
    private static let maximumConcurrent = 32

    init(listener: Socket, limit: Int, concurrent: Bool = false, isComplete: @escaping @Sendable ([UInt8]) -> Bool,
         reply: @escaping @Sendable ([UInt8]) -> [UInt8]) {
        self.listener = listener
        self.limit = limit
        self.concurrent = concurrent
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
        let slots = DispatchSemaphore(value: RequestServer.maximumConcurrent)
        while true {
            guard let connection = try? listener.accept() else { return }
            guard concurrent else {
                answer(connection)
                continue
            }
            slots.wait()
            let connectionBox = ConnectionBox(connection)
            DispatchQueue.global().async { [self] in
                answer(connectionBox.connection)
                slots.signal()
            }
        }
    }

    private func answer(_ connection: Socket) {
        try? connection.setTimeout(seconds: 5)
        var request = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while request.count < limit, !isComplete(request) {
            let count = chunk.withUnsafeMutableBytes { (try? connection.receive(into: $0)) ?? 0 }
            if count <= 0 { break }
            request += chunk[0..<count]
        }
        try? connection.send(reply(request))
    }
}

/// A TCP socket listening on `address:port`; `option` names the command-line option that asked
/// for it, for the message when the address cannot be had.
func listeningSocket(_ address: IPv4AddressText, _ port: UInt16, backlog: Int32, option: String) throws(ForwarderError) -> Socket {
    do {
        let listener = try Socket.tcp()
        try listener.setOption(SOL_SOCKET, SO_REUSEADDR, Int32(1))
        try listener.bind(SocketAddress(address.address, port: port))
        try listener.listen(backlog: backlog)
        return listener
    } catch {
        throw ForwarderError(description: "\(option) \(address.text):\(port): \(error)")
    }
}

/// A connection handed to the thread that answers it.
private final class ConnectionBox: @unchecked Sendable {
    let connection: Socket
    init(_ connection: Socket) { self.connection = connection }
}
