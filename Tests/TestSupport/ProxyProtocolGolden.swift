// Vectors more than one test target checks against.

/// The header AWS's NLB writes for client-a (10.20.1.4, port 40000) connecting to the web
/// endpoint's ENI in zone a (10.20.1.5, port 80) through endpoint vpce-01986c19459d8ed41,
/// written out by hand from haproxy's proxy-protocol.txt §2.2 and AWS's TLV table:
public let proxyProtocolGolden: [UInt8] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,  // the v2 signature
    0x21,  // version 2, command PROXY
    0x11,  // TCP over IPv4
    0x00, 0x26,  // 38 bytes follow: 12 of addresses and ports, 26 of TLV
    0x0A, 0x14, 0x01, 0x04,  // source: the client, 10.20.1.4
    0x0A, 0x14, 0x01, 0x05,  // destination: the endpoint ENI, 10.20.1.5
    0x9C, 0x40,  // source port 40000
    0x00, 0x50,  // destination port 80
    0xEA, 0x00, 0x17,  // PP2_TYPE_AWS, 23 bytes:
    0x01,  // PP2_SUBTYPE_AWS_VPCE_ID, then the ID in ASCII:
    0x76, 0x70, 0x63, 0x65, 0x2D, 0x30, 0x31, 0x39, 0x38, 0x36, 0x63,  // "vpce-01986c"
    0x31, 0x39, 0x34, 0x35, 0x39, 0x64, 0x38, 0x65, 0x64, 0x34, 0x31,  // "19459d8ed41"
]
