import FuzzDriver

runFuzzer { templateFuzz($0, $1) }
