// Deterministic IDs and DNS names. Same file, same names, every run: each is derived from what it
// names (kind and name), never from time or randomness, so adding a resource leaves the others'
// IDs alone.

enum Names {
    /// FNV-1a over the bytes, then SplitMix64's finaliser to spread the bits.
    static func stableHash(_ parts: String...) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for part in parts {
            for byte in part.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
            hash ^= 0xFF
            hash = hash &* 0x0000_0100_0000_01B3
        }
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }

    /// `prefix-` and 17 hex digits, as AWS prints resource IDs; the first digit is 0, as in every
    /// example AWS gives, so the ID's value fits 64 bits (the GWLB GENEVE option carries it).
    static func resourceID(_ prefix: String, kind: String, name: String) -> String {
        "\(prefix)-0" + hex(stableHash(kind, name), digits: 16)
    }

    /// 8 lowercase base-36 characters, like the suffix of endpoint DNS names (`29p5708s`).
    static func dnsSuffix(_ seed: String) -> String { base36(stableHash("dns", seed), count: 8) }

    /// `count` base-36 digits of `value`, least significant first.
    static func base36(_ value: UInt64, count: Int) -> String {
        var value = value
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        var text = ""
        for _ in 0..<count {
            text.append(digits[Int(value % 36)])
            value /= 36
        }
        return text
    }

    static func hex(_ value: UInt64, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// The numeric value of a `prefix-0...` ID's hex digits (17 digits, leading 0: fits 64 bits).
    static func numericValue(ofID id: String) -> UInt64? {
        guard let dash = id.lastIndex(of: "-") else { return nil }
        return UInt64(id[id.index(after: dash)...], radix: 16)
    }
}
