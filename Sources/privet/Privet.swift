import ArgumentParser
import Glibc

@main
struct Privet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privet",
        abstract: "AWS PrivateLink on one Linux machine: a userspace dataplane in Swift.",
        version: "privet 0.1.0",
        subcommands: [Validate.self, Describe.self, Generate.self, ReplayCommand.self, Up.self, Status.self, Flows.self, Exec.self, Down.self,
                      Inspect.self, Demo.self, Appliance.self, Serve.self, Import.self]
    )

    /// Exit status: 0 success, 1 failure (a bad capture, a bad topology), 2 usage error, as
    /// compilers and `grep` do; ArgumentParser's own code for a usage error is 64.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = fullMessage(for: error)
                writeToStandardError(message.hasSuffix("\n") ? message : message + "\n")
                Glibc.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// Writes text to standard error unbuffered (Glibc's `stderr` is a global Swift 6 will not share).
func writeToStandardError(_ text: String) {
    var remaining = Array(text.utf8)[...]
    while !remaining.isEmpty {
        let written = remaining.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        guard written > 0 else { return }
        remaining = remaining.dropFirst(written)
    }
}
