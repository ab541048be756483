package testinfra

import "syscall"

// kinesaliteProcAttr puts node in its own process group (so Close kills
// the whole group) and has the kernel kill it if the test binary dies.
func kinesaliteProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
