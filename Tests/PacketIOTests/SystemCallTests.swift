import Foundation
import Glibc
import PacketIO
import PacketWire
import Testing

@Suite("System calls")
struct SystemCallTests {
    @Test func aFailedCallIsThrownWithItsNameAndErrno() {
        let error = #expect(throws: IOError.self) {
            _ = try SystemCall.checked("read") { read(-1, nil, 0) }
        }
        #expect(error == .systemCall("read", errno: EBADF))
        #expect(error?.description == "read: Bad file descriptor")
    }

    @Test func aNonBlockingReadWithNothingWaitingGivesNilNotAnError() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        #expect(fcntl(ends[0], F_SETFL, O_NONBLOCK) == 0)
        defer { close(ends[0]); close(ends[1]) }
        var byte: UInt8 = 0
        #expect(try SystemCall.unlessWouldBlock("read") { read(ends[0], &byte, 1) } == nil)
        #expect(write(ends[1], "x", 1) == 1)
        #expect(try SystemCall.unlessWouldBlock("read") { read(ends[0], &byte, 1) } == 1)
        #expect(byte == UInt8(ascii: "x"))
    }

    @Test func thePollNamesTheReadyDescriptorByItsToken() throws {
        var first: [Int32] = [0, 0], second: [Int32] = [0, 0]
        #expect(pipe(&first) == 0 && pipe(&second) == 0)
        defer { for end in first + second { close(end) } }
        let poller = try EventPoll()
        try poller.watch(first[0], token: 7)
        try poller.watch(second[0], token: 9)
        #expect(try poller.wait(milliseconds: 0) == 0)
        #expect(write(second[1], "x", 1) == 1)
        #expect(try poller.wait(milliseconds: 1000) == 1)
        #expect(poller.token(0) == 9)
        // Watching what is no descriptor is refused by name, not ignored.
        #expect(throws: IOError.systemCall("epoll_ctl", errno: EBADF)) { try poller.watch(-1, token: 1) }
    }

    @Test func aDatagramCrossesLoopbackAndTheReceiverLearnsTheSender() throws {
        let receiver = try Socket.udp()
        try receiver.bind(SocketAddress(IPv4Address(127, 0, 0, 1), port: 0))
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(receiver.descriptor, $0, &length) } }
        let sender = try Socket.udp()
        try sender.bind(SocketAddress(IPv4Address(127, 0, 0, 1), port: 0))
        try sender.send(Array("hello".utf8), to: SocketAddress(IPv4Address(127, 0, 0, 1), port: UInt16(bigEndian: bound.sin_port)))
        try receiver.setTimeout(seconds: 2)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        var peer = SocketAddress()
        let count = try receiver.receive(into: buffer, from: &peer)
        #expect(String(decoding: buffer[0..<count], as: UTF8.self) == "hello")
        #expect(peer.port != 0)
    }

    @Test func aReplacedFileIsWholeAndLeavesNothingBehind() throws {
        let folder = NSTemporaryDirectory() + "privet-replace-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try replaceFile(folder + "/report.txt", with: "first\n")
        try replaceFile(folder + "/report.txt", with: "second\n")
        #expect(try String(contentsOfFile: folder + "/report.txt", encoding: .utf8) == "second\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["report.txt"])
        #expect(throws: IOError.self) { try replaceFile(folder + "/missing/report.txt", with: "x") }
    }
}
