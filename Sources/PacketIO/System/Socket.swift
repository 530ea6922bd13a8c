import CLinux
import Glibc
import PacketWire

/// An IPv4 or IPv6 socket address (sockaddr_in or sockaddr_in6), as the socket calls take it.
public struct SocketAddress: Sendable {
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)

    /// Room for the address a receive fills in.
    public init() {}

    public init(_ address: IPv4Address, port: UInt16) {
        withUnsafeMutableBytes(of: &storage) { raw in
            let inet = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            inet.pointee.sin_family = sa_family_t(AF_INET)
            inet.pointee.sin_port = port.bigEndian
            inet.pointee.sin_addr = in_addr(s_addr: address.value.bigEndian)
        }
        length = socklen_t(MemoryLayout<sockaddr_in>.size)
    }

    /// Every IPv6 address (and, on a socket that is not IPv6-only, every IPv4 one) on `port`.
    public static func anyIPv6(port: UInt16) -> SocketAddress {
        var result = SocketAddress()
        withUnsafeMutableBytes(of: &result.storage) { raw in
            let inet6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
            inet6.pointee.sin6_family = sa_family_t(AF_INET6)
            inet6.pointee.sin6_port = port.bigEndian
            inet6.pointee.sin6_addr = in6addr_any
        }
        result.length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        return result
    }

    /// A Unix domain socket's path (sockaddr_un); nil when it is longer than such an address holds.
    public static func unix(_ path: String) -> SocketAddress? {
        var result = SocketAddress()
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &result.storage) { raw in
            let unix = raw.baseAddress!.assumingMemoryBound(to: sockaddr_un.self)
            unix.pointee.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &unix.pointee.sun_path) { path in
                path.copyBytes(from: bytes)
                path[bytes.count] = 0
            }
        }
        result.length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return result
    }

    /// The IPv4 address, when it is one.
    public var ipv4: IPv4Address? {
        withUnsafeBytes(of: storage) { raw in
            let inet = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
            return inet.pointee.sin_family == sa_family_t(AF_INET) ? IPv4Address(UInt32(bigEndian: inet.pointee.sin_addr.s_addr)) : nil
        }
    }

    /// The port, in host order (sin_port and sin6_port sit at the same offset).
    public var port: UInt16 {
        get { withUnsafeBytes(of: storage) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) } }
        set { withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue.bigEndian, toByteOffset: 2, as: UInt16.self) } }
    }

    fileprivate func withPointer<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }

    fileprivate mutating func withMutablePointer<Result>(_ body: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Result) -> Result {
        length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var size = length
        let result = withUnsafeMutableBytes(of: &storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), &size) }
        length = size
        return result
    }
}

/// A socket that closes itself; every call checked (`SystemCall`).
public final class Socket: Sendable {
    public let descriptor: Int32

    public init(domain: Int32, type: Int32, protocol: Int32 = 0) throws(IOError) {
        descriptor = try SystemCall.checked("socket") { socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), `protocol`) }
    }

    private init(adopting descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    public static func tcp(_ domain: Int32 = AF_INET) throws(IOError) -> Socket {
        try Socket(domain: domain, type: Int32(SOCK_STREAM.rawValue))
    }

    public static func udp(_ domain: Int32 = AF_INET) throws(IOError) -> Socket {
        try Socket(domain: domain, type: Int32(SOCK_DGRAM.rawValue))
    }

    /// A Unix domain stream socket.
    public static func unixStream() throws(IOError) -> Socket {
        try Socket(domain: AF_UNIX, type: Int32(SOCK_STREAM.rawValue))
    }

    public func setOption<Value: BitwiseCopyable>(_ level: Int32, _ option: Int32, _ value: Value) throws(IOError) {
        _ = try SystemCall.checked("setsockopt") {
            withUnsafeBytes(of: value) { setsockopt(descriptor, level, option, $0.baseAddress, socklen_t($0.count)) }
        }
    }

    /// Receives and sends give up after `seconds` (SO_RCVTIMEO, SO_SNDTIMEO; a timed-out call fails
    /// with EAGAIN).
    public func setTimeout(seconds: Int) throws(IOError) {
        try setOption(SOL_SOCKET, SO_RCVTIMEO, timeval(tv_sec: seconds, tv_usec: 0))
        try setOption(SOL_SOCKET, SO_SNDTIMEO, timeval(tv_sec: seconds, tv_usec: 0))
    }

    public func bind(_ address: SocketAddress) throws(IOError) {
        _ = try SystemCall.checked("bind") { address.withPointer { Glibc.bind(descriptor, $0, $1) } }
    }

    public func listen(backlog: Int32 = 128) throws(IOError) {
        _ = try SystemCall.checked("listen") { Glibc.listen(descriptor, backlog) }
    }

    public func accept() throws(IOError) -> Socket {
        Socket(adopting: try SystemCall.checked("accept") { Glibc.accept(descriptor, nil, nil) })
    }

    public func connect(_ address: SocketAddress) throws(IOError) {
        _ = try SystemCall.checked("connect") { address.withPointer { Glibc.connect(descriptor, $0, $1) } }
    }

    public func shutdown(_ how: Int32) throws(IOError) {
        _ = try SystemCall.checked("shutdown") { Glibc.shutdown(descriptor, how) }
    }

    /// What arrived, at most `buffer.count` bytes; 0 when a stream's peer has closed it.
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int {
        try SystemCall.checked("recv") { recv(descriptor, buffer.baseAddress, buffer.count, 0) }
    }

    /// A datagram and who sent it.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, from peer: inout SocketAddress) throws(IOError) -> Int {
        try SystemCall.checked("recvfrom") {
            peer.withMutablePointer { recvfrom(descriptor, buffer.baseAddress, buffer.count, 0, $0, $1) }
        }
    }

    /// Makes receives give runs of one sender's datagrams together, where the kernel has kept
    /// them so (`UDP_GRO`, Linux 5.0+; the name is missing from Glibc's module).
    public func receiveDatagramRuns() throws(IOError) {
        try setOption(Int32(IPPROTO_UDP), 104, Int32(1))
    }

    /// A datagram and who sent it; or, after `receiveDatagramRuns`, a run of one
    /// sender's datagrams the kernel kept together, every one `segmentSize` bytes but the last
    /// (nil: a single datagram).
    public func receiveSegments(into buffer: UnsafeMutableRawBufferPointer,
                                from peer: inout SocketAddress) throws(IOError) -> (count: Int, segmentSize: Int?) {
        var size: Int32 = 0
        let count = try Socket.retried("recvmsg") {
            peer.withMutablePointer { privet_udp_receive_segments(descriptor, buffer.baseAddress, buffer.count, $0, $1, &size) }
        }
        return (count, size > 0 ? Int(size) : nil)
    }

    /// `bytes` as datagrams of `segmentSize` bytes (the last maybe shorter) on a connected UDP
    /// socket, cut apart by the kernel or the device (UDP_SEGMENT): one call for them all.
    public func send(_ bytes: UnsafeRawBufferPointer, segmentSize: Int) throws(IOError) {
        _ = try Socket.retried("sendmsg") {
            privet_udp_send_segments(descriptor, bytes.baseAddress, bytes.count, UInt16(truncatingIfNeeded: segmentSize))
        }
    }

    /// A call of CLinux's, which returns -errno: again when interrupted, else thrown.
    private static func retried(_ call: StaticString, _ body: () -> Int) throws(IOError) -> Int {
        while true {
            let result = body()
            if result >= 0 { return result }
            if result == -Int(EINTR) { continue }
            throw IOError.systemCall(call.description, errno: Int32(-result))
        }
    }

    /// All of `bytes`, on a stream.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(IOError) {
        var offset = 0
        while offset < bytes.count {
            offset += try SystemCall.checked("send") { Glibc.send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// One datagram to `peer`.
    public func send(_ bytes: UnsafeRawBufferPointer, to peer: SocketAddress) throws(IOError) {
        _ = try SystemCall.checked("sendto") { peer.withPointer { sendto(descriptor, bytes.baseAddress, bytes.count, 0, $0, $1) } }
    }

    /// All of `bytes`, on a stream.
    public func send(_ bytes: [UInt8]) throws(IOError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(IOError) in try send(raw) } }.get()
    }

    /// One datagram to `peer`.
    public func send(_ bytes: [UInt8], to peer: SocketAddress) throws(IOError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(IOError) in try send(raw, to: peer) } }.get()
    }
}
