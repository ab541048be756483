// Package features holds Switchyard's behaviour specifications: Gherkin
// scenarios (the *.feature files in this directory), written for a reader
// who has never seen the code, and the Go step definitions that run them
// against real parts: real modular applications configured from YAML and
// the environment, the real in-process engines, and private redis-server,
// kfake and kinesalite instances started on free 127.0.0.1 ports.
//
// They run with the rest of the tests:
//
//	go test -race ./features/...                      # every feature file
//	go test -race ./features/... -run 'TestFeatures/routing'  # one file
//	go test -race ./features/... -v                    # print the scenarios as they run
//
// godog runs in strict mode: a step without a definition, or a pending
// one, fails the suite. Each feature file is a subtest of TestFeatures and
// each scenario a subtest of its file, so -run selects either.
package features
