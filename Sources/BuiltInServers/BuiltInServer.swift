import Foundation
import Glibc
import PacketIO

/// The servers a topology can ask for on a host (`server:` in the file), run inside the host's
/// namespace by `privet serve`: HTTP answering who it is ("served by web-a in us-east-1a"), and
/// TCP and UDP echo. Dual-stack: one socket takes IPv4 and IPv6.
public enum BuiltInServer {
    public enum Kind: String, Sendable {
        case http
        case tcpEcho = "tcp-echo"
        case udpEcho = "udp-echo"
    }


    /// Serves forever (until the process is stopped).
    public static func run(kind: Kind, port: UInt16, identity: String) throws(IOError) -> Never {
        let listener = kind == .udpEcho ? try Socket.udp(AF_INET6) : try Socket.tcp(AF_INET6)
        try listener.setOption(Int32(IPPROTO_IPV6), IPV6_V6ONLY, Int32(0))
        try listener.setOption(SOL_SOCKET, SO_REUSEADDR, Int32(1))
        do { try listener.bind(.anyIPv6(port: port)) } catch { throw IOError.failed("bind port \(port): \(error)") }
        if kind == .udpEcho { udpEcho(listener) }
        try listener.listen()
        while true {
            // A connection that failed before it was accepted (ECONNABORTED) is the client's
            // business; the server goes on.
            guard let connection = try? listener.accept() else { continue }
            let thread = Thread { BuiltInServer.serve(connection, kind: kind, identity: identity) }
            thread.start()
        }
    }

    /// One connection, until its client closes it or it fails.
    static func serve(_ connection: Socket, kind: Kind, identity: String) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        defer { buffer.deallocate() }
        do throws(IOError) {
            if kind == .http {
                var request: [UInt8] = []
                while !request.suffix(4).elementsEqual([13, 10, 13, 10]) && request.count <= 65536 {
                    let count = try connection.receive(into: buffer)
                    guard count > 0 else { return }
                    request += buffer[0..<count]
                }
                let body = "served by \(identity)\n"
                let response = "HTTP/1.0 200 OK\r\nServer: privet\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
                    + "Connection: close\r\n\r\n" + body
                let bytes = response.utf8.prefix(buffer.count)
                buffer.copyBytes(from: bytes)
                try connection.send(UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count]))
                return
            }
            while true {
                let count = try connection.receive(into: buffer)
                guard count > 0 else { return }
                try connection.send(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
        } catch {
            // A reset or broken connection ends it, as it ends any echo server's.
        }
    }

    static func udpEcho(_ socket: Socket) -> Never {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        while true {
            var peer = SocketAddress()
            // A datagram that cannot be echoed (its sender's port unreachable) is dropped.
            guard let count = try? socket.receive(into: buffer, from: &peer) else { continue }
            try? socket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<count]), to: peer)
        }
    }
}
