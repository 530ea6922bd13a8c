import FuzzDriver

runFuzzer { wireFuzz($0, $1) }
