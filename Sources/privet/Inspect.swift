import ArgumentParser
import Glibc
import PacketIO

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one line per packet of a pcap or pcapng capture, then a summary.",
        discussion: """
            Reads Ethernet, raw IP, and Linux cooked (v1, v2) captures. Each line gives the packet \
            number, the capture time in seconds since the epoch, and the packet in the spirit of \
            `tcpdump -n -S`; a malformed packet gives the layer and the reason instead. The summary \
            counts packets by protocol and malformed packets by reason.
            """
    )

    @Argument(help: "The capture file (pcap or pcapng).")
    var capture: String

    @Option(name: .shortAndLong, help: "Stop after this many packets.")
    var count: Int?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        var inspector: CaptureInspector
        do { inspector = try CaptureInspector(path: capture) } catch {
            throw CLIError(error.description)
        }
        var failure: IOError?
        // Progress only when the lines go elsewhere than the terminal it is drawn on.
        let progress = isatty(1) == 0 ? ProgressLine.ifTerminal(unit: "packets") : nil
        let report: ((Double, Int) -> Void)? = progress.map { line in { line.update(fraction: $0, count: $1) } }
        do throws(IOError) {
            try inspector.run(limit: count, progress: report) { print($0) }
        } catch {
            failure = error
        }
        progress?.clear()
        print("")
        print(inspector.summary.text)
        if let failure { throw CLIError(failure.description) }
    }
}

/// A failure the user should read as it is, on standard error, with exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
