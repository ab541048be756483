// Package testinfra starts the real servers the tests of this module run
// against (a private redis-server today), on free 127.0.0.1 ports, never
// the default ones. It is meant for _test.go files and TestMain functions
// of any package in the module.
//
// A missing server binary is a test failure with one actionable line
// ("run ./scripts/test-deps.sh"), never a silent skip.
package testinfra
