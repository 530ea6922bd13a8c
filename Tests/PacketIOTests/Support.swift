import Foundation
import PacketWire

/// A fresh folder under the system's temporary folder, removed by `cleanUp`.
struct ScratchFolder {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "privet-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// The result of running a program to completion.
struct ProgramResult {
    let status: Int32
    let output: String
    let error: String
}

/// Runs `program` (a path, or a name looked up in PATH) with `arguments`, collecting its output.
func runProgram(_ program: String, _ arguments: [String]) throws -> ProgramResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program.contains("/") ? program : (findInPath(program) ?? program))
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    // Read both pipes before waiting, so a large output cannot fill a pipe and stall the child.
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProgramResult(status: process.terminationStatus,
                         output: String(decoding: outData, as: UTF8.self),
                         error: String(decoding: errData, as: UTF8.self))
}

func findInPath(_ name: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The `privet` executable built beside this test bundle (SwiftPM puts products side by side).
func privetExecutable() -> String? {
    let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    let candidate = (bundle as NSString).deletingLastPathComponent + "/privet"
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}

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
