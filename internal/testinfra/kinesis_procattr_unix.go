//go:build unix && !linux

package testinfra

import "syscall"

// kinesaliteProcAttr puts node in its own process group so that Close
// kills the whole group.
func kinesaliteProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
