import ArgumentParser
import Glibc
import PacketIO

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the built-in demonstration and print a report.",
        discussion: """
            For now the dataplane is not built yet: the demo writes a small capture of varied \
            packets made by Privet's packet builders and inspects it.
            """
    )

    @Option(help: "Folder for the demo's output (default: a new folder under /tmp).")
    var output: String?

    func run() throws {
        let folder: String
        if let output {
            guard mkdir(output, 0o755) == 0 || errno == EEXIST else {
                throw CLIError("\(output): cannot create folder: \(String(cString: strerror(errno)))")
            }
            folder = output
        } else {
            var template = Array("/tmp/privet-demo-XXXXXX".utf8CString)
            guard let made = mkdtemp(&template) else {
                throw CLIError("cannot create a folder under /tmp: \(String(cString: strerror(errno)))")
            }
            folder = String(cString: made)
        }
        let path = folder + "/sample.pcap"
        do { try SampleCapture.write(path: path) } catch { throw CLIError(error.description) }
        print("Privet demo: a capture of \(SampleCapture.frames().count) packets built by PacketWire, written with libpcap")
        print("  \(path)")
        print("")
        var inspector: CaptureInspector
        do { inspector = try CaptureInspector(path: path) } catch { throw CLIError(error.description) }
        do { try inspector.run { print($0) } } catch { throw CLIError(error.description) }
        print("")
        print(inspector.summary.text)
        print("")
        print("Look at it with: tshark -r \(path)")
    }
}
