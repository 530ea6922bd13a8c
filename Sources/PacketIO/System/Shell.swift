import CLinux
import Foundation
import Glibc

/// Runs the network tools (`ip` from iproute2) that build namespaces and links.
public enum Shell {
    /// Runs `arguments` (the first is looked up in PATH) and waits; throws with its error output
    /// when it fails. Spawned and waited for directly (posix_spawnp, waitpid): Foundation's
    /// `Process` waits on a run loop that wakes every few tens of milliseconds, which made each
    /// `ip` call, 2 ms of work, cost about 100 ms, and `up` of a hundred hosts a minute.
    /// `input`, when given, is the command's standard input (at most a pipe's 64 KB: `ip -batch -`
    /// takes its commands so).
    @discardableResult
    public static func run(_ arguments: [String], input: String? = nil) throws(IOError) -> String {
        let command = arguments.joined(separator: " ")
        var output: [Int32] = [0, 0], errors: [Int32] = [0, 0], feed: [Int32] = [-1, -1]
        if input != nil {
            let made = privet_pipe_cloexec(&feed)
            guard made == 0 else { throw IOError.systemCall("pipe2", errno: -made) }
        }
        defer { if feed[1] >= 0 { close(feed[1]) } }
        let made = privet_pipe_cloexec(&output)
        guard made == 0 else { throw IOError.systemCall("pipe2", errno: -made) }
        let madeToo = privet_pipe_cloexec(&errors)
        guard madeToo == 0 else {
            close(output[0]); close(output[1])
            throw IOError.systemCall("pipe2", errno: -madeToo)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if feed[0] >= 0 { posix_spawn_file_actions_adddup2(&actions, feed[0], 0) }
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        // Nothing else of ours (TUN devices, sockets) goes to the child.
        _ = privet_spawn_close_from(&actions, 3)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        close(output[1])
        close(errors[1])
        if feed[0] >= 0 { close(feed[0]) }
        defer { close(output[0]); close(errors[0]) }
        guard spawned == 0 else { throw IOError.failed("cannot run \(command): \(String(cString: strerror(spawned)))") }
        if let input {
            let bytes = Array(input.utf8), file = feed[1]
            try bytes.withUnsafeBytes { raw in Result { () throws(IOError) in try writeAll(file, raw) } }.get()
            close(feed[1])
            feed[1] = -1
        }
        func readAll(_ file: Int32) -> [UInt8] {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
                if count > 0 { bytes += chunk[0..<count]; continue }
                if count < 0 && errno == EINTR { continue }
                return bytes
            }
        }
        let out = readAll(output[0]), err = readAll(errors[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw IOError.systemCall("waitpid (\(command))", errno: errno) }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        let exited = status & 0x7F == 0, code = (status >> 8) & 0xFF
        guard exited && code == 0 else {
            let message = String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw IOError.failed("\(command): \(message.isEmpty ? (exited ? "exit status \(code)" : "killed by signal \(status & 0x7F)") : message)")
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

    /// Runs several `ip` commands inside the namespace in one `ip -batch` process (a process
    /// each costs more than the commands). A command names its address family by its addresses
    /// (a batch line takes no `-6`).
    public func ip(batch commands: [[String]]) throws(IOError) {
        try Shell.run(["ip", "-n", name, "-batch", "-"], input: commands.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n")
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
