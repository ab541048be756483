// Package testinfra starts the real servers the tests of this module run
// against — a private redis-server (redis.go), an in-process kfake Kafka
// cluster (kafka.go) and kinesalite (kinesis.go) — on free 127.0.0.1
// ports, never the default ones, and stops them at test cleanup. It is meant for _test.go files and TestMain functions
// of any package in the module.
//
// A missing server binary is a test failure with one actionable line
// ("run ./scripts/test-deps.sh"), never a silent skip.
package testinfra
