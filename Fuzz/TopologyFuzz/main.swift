import FuzzDriver

runFuzzer { topologyFuzz($0, $1) }
