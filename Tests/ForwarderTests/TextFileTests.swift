import Foundation
import Testing
@testable import Forwarder
import Dataplane
import PacketWire
import TestSupport

/// The flow log's formatter against the Strings it replaces.
@Suite("Text formatting")
struct TextFileTests {
    @Test func numbersAndAddressesMatchTheirDescriptions() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("out.txt")
        let file = try TextFile(path: path)
        var generator = SeededGenerator(seed: 5952)
        var expected = ""
        for round in 0..<5000 {
            let number = round % 3 == 0 ? UInt64(round) : UInt64.random(in: 0...UInt64.max, using: &generator)
            file.write(decimal: number)
            expected += String(number) + " "
            file.write(byte: 0x20)
            // Addresses with zero groups in every place, to exercise the "::" rule.
            var high = UInt64.random(in: 0...UInt64.max, using: &generator)
            var low = UInt64.random(in: 0...UInt64.max, using: &generator)
            for group in 0..<8 where Bool.random(using: &generator) {
                if group < 4 { high &= ~(0xFFFF << UInt64(48 - 16 * group)) } else { low &= ~(0xFFFF << UInt64(48 - 16 * (group - 4))) }
            }
            file.write(address: FlowAddress(IPv6Address(high: high, low: low)))
            expected += IPv6Address(high: high, low: low).description + " "
            file.write(byte: 0x20)
            let v4 = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &generator))
            file.write(address: FlowAddress(v4))
            expected += v4.description + "\n"
            file.write(byte: 0x0A)
        }
        try file.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == expected)
    }

    /// CSV fields per RFC 4180: quoted with inner quotes doubled when they hold a comma, a
    /// quote or a line break, as they are otherwise; Python's csv module reads them back.
    @Test func csvFieldsReadBackWhole() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("fields.csv")
        let file = try TextFile(path: path)
        let fields = ["web-a", "a,b", "say \"hi\"", "two\nlines", "cr\rhere", ""]
        for (index, field) in fields.enumerated() {
            if index > 0 { file.write(byte: UInt8(ascii: ",")) }
            file.write(csvField: field)
        }
        file.write(byte: 0x0A)
        try file.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8)
                == "web-a,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\rhere\",\n")
        let python = try runProgram("/usr/bin/python3", ["-c", "import csv,sys,json; print(json.dumps(next(csv.reader(open(sys.argv[1], newline='')))))", path])
        #expect(python.output == "[\"web-a\", \"a,b\", \"say \\\"hi\\\"\", \"two\\nlines\", \"cr\\rhere\", \"\"]\n", "\(python.error)")
    }
}
