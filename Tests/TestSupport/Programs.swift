import Foundation

/// A fresh folder under the system's temporary folder, removed by `cleanUp`.
public struct ScratchFolder {
    public let path: String

    public init() throws {
        path = NSTemporaryDirectory() + "privet-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// The result of running a program to completion.
public struct ProgramResult {
    public let status: Int32
    public let output: String
    public let error: String
}

/// Runs `program` (a path, or a name looked up in PATH) with `arguments`, collecting its output.
public func runProgram(_ program: String, _ arguments: [String]) throws -> ProgramResult {
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

public func findInPath(_ name: String) -> String? {
    let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
    return paths.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The `privet` executable built beside this test bundle (SwiftPM puts products side by side).
public func privetExecutable() -> String? {
    let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    let candidate = (bundle as NSString).deletingLastPathComponent + "/privet"
    return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
}

