import Foundation

/// A classic pcap file written byte by byte, for link types, timestamps and damage that
/// libpcap's writer will not produce (DLT 12 and 14 in the header, seconds past 2038, records
/// cut short).
public struct HandmadePcap {
    public private(set) var data = Data()

    public init(linkType: UInt32, snapLength: UInt32 = 65535) {
        data.appendLittleEndian(UInt32(0xA1B2_C3D4))  // microsecond magic, written little-endian
        data.appendLittleEndian(UInt16(2))
        data.appendLittleEndian(UInt16(4))
        for value: UInt32 in [0, 0, snapLength, linkType] { data.appendLittleEndian(value) }
    }

    public mutating func record(_ packet: [UInt8], seconds: UInt32, microseconds: UInt32 = 0) {
        for value: UInt32 in [seconds, microseconds, UInt32(packet.count), UInt32(packet.count)] { data.appendLittleEndian(value) }
        data.append(contentsOf: packet)
    }

    public func write(to path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }
}

/// A pcapng file written block by block (draft-ietf-opsawg-pcapng: a section header, one
/// interface with the default microsecond resolution, enhanced packet blocks), for timestamps
/// no writer would give.
public struct HandmadePcapng {
    public private(set) var data = Data()

    public init(linkType: UInt16) {
        var section = Data()
        section.appendLittleEndian(UInt32(0x1A2B_3C4D))  // byte-order magic
        section.appendLittleEndian(UInt16(1))
        section.appendLittleEndian(UInt16(0))
        section.append(contentsOf: [UInt8](repeating: 0xFF, count: 8))  // section length: unknown
        block(0x0A0D_0D0A, section)
        var interface = Data()
        interface.appendLittleEndian(linkType)
        interface.appendLittleEndian(UInt16(0))
        interface.appendLittleEndian(UInt32(65535))
        block(1, interface)
    }

    /// An enhanced packet block on interface 0 at `high << 32 | low` microseconds.
    public mutating func record(_ packet: [UInt8], timestampHigh high: UInt32, low: UInt32) {
        var body = Data()
        for value: UInt32 in [0, high, low, UInt32(packet.count), UInt32(packet.count)] { body.appendLittleEndian(value) }
        body.append(contentsOf: packet)
        body.append(contentsOf: [UInt8](repeating: 0, count: (4 - packet.count % 4) % 4))
        block(6, body)
    }

    private mutating func block(_ type: UInt32, _ body: Data) {
        let length = UInt32(12 + body.count)
        data.appendLittleEndian(type)
        data.appendLittleEndian(length)
        data.append(body)
        data.appendLittleEndian(length)
    }

    public func write(to path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }
}

extension Data {
    mutating func appendLittleEndian<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
