import FuzzDriver

runFuzzer { captureFuzz($0, $1) }
