import Foundation
import PacketWire
import TestSupport

let tsharkPath = findInPath("tshark")
let editcapPath = findInPath("editcap")

