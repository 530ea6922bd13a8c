import FuzzDriver

runFuzzer { dnsFuzz($0, $1) }
