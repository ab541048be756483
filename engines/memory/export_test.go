package memory

// SetRemovedHook installs testHookRemoved (see subscription.go) for one
// test; the returned function removes it.
func SetRemovedHook(f func()) (restore func()) {
	testHookRemoved = f
	return func() { testHookRemoved = nil }
}
