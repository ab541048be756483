// Package testutil holds the small helpers the tests of this module share,
// so that each is written once: Eventually (and Poll, its form for code
// that reports errors instead of failing a testing.TB) replaces sleeps
// with polling.
//
// It is meant for _test.go files (and the internal test-scenario
// packages such as internal/brokertest that only tests import): no
// program and no package outside internal/ links it
// (TestNoProgramLinksTestutil checks that).
package testutil

import (
	"fmt"
	"testing"
	"time"
)

// PollInterval is how long Poll and Eventually wait between two
// evaluations of their condition.
const PollInterval = 2 * time.Millisecond

// Poll evaluates cond until it returns true and then returns nil, or
// returns an error naming what after timeout has passed with cond still
// false. cond is evaluated at least once, on the calling goroutine, every
// PollInterval.
func Poll(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(PollInterval)
	}
	return nil
}

// Eventually polls cond like Poll and fails t with t.Fatalf (from the
// calling goroutine, which must be the test's) if cond is still false
// after timeout. what names the awaited state in the failure message.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Poll(timeout, what, cond); err != nil {
		t.Fatal(err)
	}
}
