// libFuzzer target for capture files: arbitrary bytes opened by libpcap as a pcap or pcapng file,
// every packet read and dissected and printed as `privet inspect` does. The bytes reach libpcap
// through one file in memory (/dev/shm, unlinked at once), whose /proc path opens like any file.
// Built and run by scripts/fuzz.sh.
import Glibc
import PacketIO

/// One file for the whole run, rewritten for each input.
let memoryFile: Int32 = {
    let path = "/dev/shm/privet-capture-fuzz-\(getpid())"
    let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    unlink(path)
    return descriptor
}()

func captureFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    guard ftruncate(memoryFile, 0) == 0, pwrite(memoryFile, data, size, 0) == size else { return 0 }
    guard var inspector = try? CaptureInspector(path: "/proc/self/fd/\(memoryFile)") else { return 0 }
    try? inspector.run { line in _ = line.utf8.count }
    _ = inspector.summary.text
    return 0
}
