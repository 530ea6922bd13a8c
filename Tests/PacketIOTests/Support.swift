import Foundation
import PacketWire
import TestSupport

let tsharkPath = findInPath("tshark")
let editcapPath = findInPath("editcap")

/// A classic pcap file written byte by byte, for link types and damage that libpcap's writer
/// will not produce (DLT 12 and 14 in the header, records cut short).
struct HandmadePcap {
    var data = Data()

    init(linkType: UInt32, snapLength: UInt32 = 65535) {
        append32(0xA1B2_C3D4)  // microsecond magic, written little-endian
        append16(2)
        append16(4)
        append32(0)
        append32(0)
        append32(snapLength)
        append32(linkType)
    }

    mutating func record(_ packet: [UInt8], seconds: UInt32, microseconds: UInt32 = 0) {
        append32(seconds)
        append32(microseconds)
        append32(UInt32(packet.count))
        append32(UInt32(packet.count))
        data.append(contentsOf: packet)
    }

    mutating func append16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
    mutating func append32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }

    func write(to path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }
}
