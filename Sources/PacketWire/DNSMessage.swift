// DNS messages (RFC 1035 §4), as far as a resolver answering stub queries needs: read the header
// and the one question of a query, write a response with address, text or alias records. Not on
// the forwarding hot path: the resolver answers a few queries, and may allocate to do it.

/// The question of a query, and what a response must echo of the header.
public struct DNSQuery: Equatable, Sendable {
    public var id: UInt16
    /// Recursion desired: echoed in the response (RFC 1035 §4.1.1).
    public var recursionDesired: Bool
    /// Lower-case, without the trailing dot.
    public var name: String
    public var type: UInt16
    public var questionClass: UInt16
    /// The question's bytes as sent (name, type, class), echoed in the response.
    public var question: [UInt8]
}

public enum DNSRecordCode {
    public static let a: UInt16 = 1
    public static let cname: UInt16 = 5
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let classIN: UInt16 = 1
}

/// Response codes (RFC 1035 §4.1.1).
public enum DNSResponseCode: UInt8, Sendable {
    case noError = 0
    case formatError = 1
    case serverFailure = 2
    case nameError = 3
    case notImplemented = 4
}

/// One answer record's data.
public enum DNSRecordData: Equatable, Sendable {
    case ipv4(IPv4Address)
    case ipv6(IPv6Address)
    case text(String)
    case alias(String)
}

/// One answer record: the name it belongs to (the question's, or an alias's target) and its data.
public struct DNSRecord: Equatable, Sendable {
    public var owner: String
    public var data: DNSRecordData

    public init(_ owner: String, _ data: DNSRecordData) {
        self.owner = owner
        self.data = data
    }
}

public enum DNSMessage {
    /// Why a query could not be read; a response carries FORMERR with `id` when the header was
    /// whole (RFC 1035 §4.1.1), and nothing can be sent when it was not.
    public struct Malformed: Error, Equatable {
        public var id: UInt16?
    }

    /// Reads a query: a header with QR clear, opcode QUERY and exactly one question whose name is
    /// written without compression pointers (a query has nothing earlier to point at).
    public static func query(_ bytes: UnsafeRawBufferPointer) -> Result<DNSQuery, Malformed> {
        guard bytes.count >= 12 else { return .failure(Malformed(id: nil)) }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        let isResponse = bytes[2] & 0x80 != 0
        let opcode = (bytes[2] >> 3) & 0x0F
        let questions = UInt16(bytes[4]) << 8 | UInt16(bytes[5])
        guard !isResponse, opcode == 0, questions == 1 else { return .failure(Malformed(id: isResponse ? nil : id)) }
        var offset = 12
        var labels: [String] = []
        var nameLength = 0
        while true {
            guard offset < bytes.count else { return .failure(Malformed(id: id)) }
            let length = Int(bytes[offset])
            offset += 1
            if length == 0 { break }
            // 0xC0: a compression pointer; 0x40 and 0x80: extended label types (RFC 6891), none
            // of which belongs in a query's question.
            guard length < 64, offset + length <= bytes.count else { return .failure(Malformed(id: id)) }
            nameLength += length + 1
            guard nameLength <= 255 else { return .failure(Malformed(id: id)) }
            labels.append(String(decoding: bytes[offset..<offset + length], as: UTF8.self).lowercased())
            offset += length
        }
        guard offset + 4 <= bytes.count else { return .failure(Malformed(id: id)) }
        let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        let questionClass = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
        offset += 4
        return .success(DNSQuery(id: id, recursionDesired: bytes[2] & 0x01 != 0, name: labels.joined(separator: "."),
                                 type: type, questionClass: questionClass, question: Array(bytes[12..<offset])))
    }

    /// A response to `query`: its question echoed, then the records (those of the question's name
    /// named by a pointer to it, RFC 1035 §4.1.4), with recursion available set as the VPC
    /// resolver does.
    public static func response(to query: DNSQuery, code: DNSResponseCode, answers: [DNSRecord],
                                ttl: UInt32 = 60) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(512)
        appendU16(&message, query.id)
        message.append(0x80 | (query.recursionDesired ? 0x01 : 0))
        message.append(0x80 | code.rawValue)
        appendU16(&message, 1)
        appendU16(&message, UInt16(answers.count))
        appendU16(&message, 0)
        appendU16(&message, 0)
        message += query.question
        for answer in answers {
            if answer.owner == query.name {
                appendU16(&message, 0xC00C)
            } else {
                message += encodedName(answer.owner)
            }
            var data: [UInt8]
            let type: UInt16
            switch answer.data {
            case .ipv4(let address):
                type = DNSRecordCode.a
                data = withUnsafeBytes(of: address.value.bigEndian) { Array($0) }
            case .ipv6(let address):
                type = DNSRecordCode.aaaa
                data = withUnsafeBytes(of: (address.high.bigEndian, address.low.bigEndian)) { Array($0) }
            case .text(let text):
                type = DNSRecordCode.txt
                data = []
                // Character-strings of at most 255 bytes each (RFC 1035 §3.3.14).
                var rest = Array(text.utf8)[...]
                repeat {
                    let chunk = rest.prefix(255)
                    data.append(UInt8(chunk.count))
                    data += chunk
                    rest = rest.dropFirst(chunk.count)
                } while !rest.isEmpty
            case .alias(let name):
                type = DNSRecordCode.cname
                data = encodedName(name)
            }
            appendU16(&message, type)
            appendU16(&message, DNSRecordCode.classIN)
            appendU16(&message, UInt16(truncatingIfNeeded: ttl >> 16))
            appendU16(&message, UInt16(truncatingIfNeeded: ttl))
            appendU16(&message, UInt16(data.count))
            message += data
        }
        return message
    }

    /// A FORMERR response to a message whose question could not be read: the header only.
    public static func formatError(id: UInt16) -> [UInt8] {
        [UInt8(id >> 8), UInt8(id & 0xFF), 0x80, 0x80 | DNSResponseCode.formatError.rawValue, 0, 0, 0, 0, 0, 0, 0, 0]
    }

    /// A recursive query for `name` (the stub side, for the live demo's own requests).
    public static func query(id: UInt16, name: String, type: UInt16) -> [UInt8] {
        var message: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        message += encodedName(name)
        appendU16(&message, type)
        appendU16(&message, DNSRecordCode.classIN)
        return message
    }

    /// The response code and IPv4 addresses (A records) of a response; nil when it cannot be read.
    public static func addresses(inResponse bytes: [UInt8]) -> (code: UInt8, addresses: [IPv4Address])? {
        guard bytes.count >= 12, bytes[2] & 0x80 != 0 else { return nil }
        let questions = Int(bytes[4]) << 8 | Int(bytes[5]), answers = Int(bytes[6]) << 8 | Int(bytes[7])
        var offset = 12
        func skipName() -> Bool {
            while offset < bytes.count {
                let length = Int(bytes[offset])
                if length & 0xC0 == 0xC0 { offset += 2; return offset <= bytes.count }
                offset += 1 + length
                if length == 0 { return true }
            }
            return false
        }
        for _ in 0..<questions {
            guard skipName() else { return nil }
            offset += 4
        }
        var found: [IPv4Address] = []
        for _ in 0..<answers {
            guard skipName(), offset + 10 <= bytes.count else { return nil }
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(bytes[offset + 8]) << 8 | Int(bytes[offset + 9])
            offset += 10
            guard offset + length <= bytes.count else { return nil }
            if type == DNSRecordCode.a && length == 4 {
                found.append(IPv4Address(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]))
            }
            offset += length
        }
        return (bytes[3] & 0x0F, found)
    }

    static func encodedName(_ name: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for label in name.split(separator: ".") {
            let utf8 = Array(label.utf8.prefix(63))
            bytes.append(UInt8(utf8.count))
            bytes += utf8
        }
        bytes.append(0)
        return bytes
    }

    private static func appendU16(_ message: inout [UInt8], _ value: UInt16) {
        message.append(UInt8(value >> 8))
        message.append(UInt8(value & 0xFF))
    }
}
