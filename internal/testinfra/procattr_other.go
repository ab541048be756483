//go:build !linux

package testinfra

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
