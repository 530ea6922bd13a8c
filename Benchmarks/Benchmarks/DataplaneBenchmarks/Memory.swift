import Dataplane
import Glibc
import PacketWire
import Topology

/// The resident memory of this process, from /proc/self/statm (its second field, in pages).
func residentBytes() -> Int {
    let descriptor = open("/proc/self/statm", O_RDONLY)
    guard descriptor >= 0 else { return 0 }
    defer { close(descriptor) }
    var text = [UInt8](repeating: 0, count: 256)
    let count = text.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let fields = text[0..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
    return pages * sysconf(Int32(_SC_PAGESIZE))
}

/// What a dataplane of `sessions` capacity takes once `sessions` flows are open in it, measured:
/// the process's resident memory before it is made and after client-a's IPv6 SYNs to as many
/// internet addresses and ports have each opened a half-open session (the flow table, its free
/// list and the queue of half-open sessions all touched, as a flood would touch them).
func residentBytesOfOpenSessions(_ sessions: Int) -> Int {
    guard case .vpc(let eni) = defaultTopology.hosts.first(where: { $0.name == "client-a" })!.placement else { fatalError() }
    let client = defaultTopology[eni].ipv6!
    let port = defaultTables.ports.firstIndex { $0.name == "client-a" }!
    let before = residentBytes()
    let harness = Harness(flowCapacity: sessions, slot: 128, headroom: 0)
    var opened = 0
    while opened < sessions {
        let count = min(PacketBatch.capacity, sessions - opened)
        harness.send((opened..<(opened + count)).map { number in
            let destination = IPv6Address(high: 0x2001_0DB8_0000_0000, low: UInt64(1 + number / 60_000))
            var tcp = TCPFields(sourcePort: UInt16(1024 + number % 60_000), destinationPort: 80, flags: .syn)
            tcp.sequenceNumber = UInt32(truncatingIfNeeded: number)
            return (PacketBuilder.ipv6Packet(IPv6Fields(source: client, destination: destination), .tcp(tcp)), port)
        })
        opened += count
    }
    precondition(harness.dataplane.flows.count == sessions, "every SYN opened a session")
    return residentBytes() - before
}
