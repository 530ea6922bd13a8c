import Foundation
import Glibc

/// The servers a topology can ask for on a host (`server:` in the file), run inside the host's
/// namespace by `privet serve`: HTTP answering who it is ("served by web-a in us-east-1a"), and
/// TCP and UDP echo. Dual-stack: one socket takes IPv4 and IPv6.
public enum BuiltInServer {
    public enum Kind: String, Sendable {
        case http
        case tcpEcho = "tcp-echo"
        case udpEcho = "udp-echo"
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Serves forever (until the process is stopped).
    public static func run(kind: Kind, port: UInt16, identity: String) throws(Failure) -> Never {
        let type = kind == .udpEcho ? Int32(SOCK_DGRAM.rawValue) : Int32(SOCK_STREAM.rawValue)
        let listener = socket(AF_INET6, type, 0)
        guard listener >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var no: Int32 = 0, yes: Int32 = 1
        setsockopt(listener, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &no, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        address.sin6_addr = in6addr_any
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "bind port \(port): \(String(cString: strerror(errno)))") }
        if kind == .udpEcho { udpEcho(listener) }
        guard listen(listener, 128) == 0 else { throw Failure(description: "listen: \(String(cString: strerror(errno)))") }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            let thread = Thread { BuiltInServer.serve(connection, kind: kind, identity: identity) }
            thread.start()
        }
    }

    static func serve(_ connection: Int32, kind: Kind, identity: String) {
        defer { close(connection) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        if kind == .http {
            var request: [UInt8] = []
            while !request.suffix(4).elementsEqual([13, 10, 13, 10]) {
                let count = read(connection, &buffer, buffer.count)
                guard count > 0 else { return }
                request += buffer[0..<count]
                if request.count > 65536 { break }
            }
            let body = "served by \(identity)\n"
            let response = "HTTP/1.0 200 OK\r\nServer: privet\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Connection: close\r\n\r\n" + body
            _ = Array(response.utf8).withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            return
        }
        while true {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(connection, $0.baseAddress! + offset, count - offset) }
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    static func udpEcho(_ socket: Int32) -> Never {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(socket, &buffer, buffer.count, 0, $0, &length) }
            }
            guard count >= 0 else { continue }
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(socket, buffer, count, 0, $0, length) }
            }
        }
    }
}
