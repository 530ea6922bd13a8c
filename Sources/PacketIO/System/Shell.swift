import CLinux
import Foundation
import Glibc

/// Runs the network tools (`ip` from iproute2) that build namespaces and links.
public enum Shell {
    /// Runs `arguments` (the first is looked up in PATH) and waits; throws with its error output
    /// when it fails.
    @discardableResult
    public static func run(_ arguments: [String]) throws(IOError) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        do { try process.run() } catch {
            throw IOError.failed("cannot run \(arguments.joined(separator: " ")): \(error.localizedDescription)")
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw IOError.failed("\(arguments.joined(separator: " ")): \(message.isEmpty ? "exit status \(process.terminationStatus)" : message)")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Starts `arguments` in the background, output discarded; returns the process (to stop later).
    public static func start(_ arguments: [String]) throws(IOError) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw IOError.failed("cannot start \(arguments.joined(separator: " ")): \(error.localizedDescription)")
        }
        return process
    }
}

/// A Linux network namespace made with `ip netns`, named after the topology and the host, so
/// that two topologies run side by side.
public struct NetworkNamespace: Sendable {
    public let name: String

    public init(name: String) { self.name = name }

    public static func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "/run/netns/" + name)
    }

    public static func create(_ name: String) throws(IOError) -> NetworkNamespace {
        try Shell.run(["ip", "netns", "add", name])
        try Shell.run(["ip", "-n", name, "link", "set", "lo", "up"])
        return NetworkNamespace(name: name)
    }

    /// Deletes the namespace (its links go with it) and its /etc/netns folder.
    public func delete() {
        _ = try? Shell.run(["ip", "netns", "delete", name])
        try? FileManager.default.removeItem(atPath: "/etc/netns/" + name)
    }

    /// Runs `body` on a thread of its own that has entered the namespace (setns), so that the
    /// sockets it makes live there; waits for it and returns what it returned.
    public func run<Result: Sendable>(_ body: @escaping @Sendable () -> Result) throws(IOError) -> Result {
        let file = open("/run/netns/" + name, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { throw IOError.systemCall("open /run/netns/\(name)", errno: errno) }
        defer { close(file) }
        let box = NamespaceResult<Result>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            // The thread is left in the namespace and ends with the body.
            let entered = privet_enter_netns(file)
            if entered == 0 { box.result = body() } else { box.error = -entered }
            done.signal()
        }
        thread.start()
        done.wait()
        guard let result = box.result else {
            throw IOError.systemCall("setns \(name)", errno: box.error)
        }
        return result
    }

    /// Runs `ip` inside the namespace.
    public func ip(_ arguments: [String]) throws(IOError) {
        try Shell.run(["ip", "-n", name] + arguments)
    }

    /// The resolver the namespace's programs use (`ip netns exec` binds /etc/netns/NAME/resolv.conf
    /// over /etc/resolv.conf).
    public func setResolver(_ address: String) throws(IOError) {
        let folder = "/etc/netns/" + name
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw IOError.failed("\(folder): \(error.localizedDescription)")
        }
        try replaceFile(folder + "/resolv.conf", with: "nameserver \(address)\n")
    }
}

/// What a body run in a namespace returned, handed back across threads (written once, read after
/// the semaphore).
private final class NamespaceResult<Value>: @unchecked Sendable {
    var result: Value?
    var error: Int32 = 0
}
