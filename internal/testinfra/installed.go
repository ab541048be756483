//go:build unix

package testinfra

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Server names a program that tests of this module run, for
// CheckInstalled.
type Server int

const (
	// RedisServer is redis-server on PATH (the Redis engine and the
	// Kinesis Redis lease store).
	RedisServer Server = iota
	// KinesaliteServer is node on PATH and kinesalite installed in
	// test/kinesis (npm ci).
	KinesaliteServer
)

// CheckInstalled reports, without starting anything, whether every one of
// servers can be started: nil, or an error whose text is the one line a
// developer needs (which program is missing and the command that installs
// it: ./scripts/test-deps.sh). A TestMain whose tests all need those
// servers calls it first and exits with that line, so that `go test` on a
// machine without them prints the hint once instead of failing every test
// (and every step of a feature file) with it.
func CheckInstalled(servers ...Server) error {
	var errs []error
	for _, s := range servers {
		switch s {
		case RedisServer:
			if _, err := exec.LookPath("redis-server"); err != nil {
				errs = append(errs, ErrRedisMissing)
			}
		case KinesaliteServer:
			if _, _, err := kinesaliteInstalled(); err != nil {
				errs = append(errs, err)
			}
		default:
			errs = append(errs, fmt.Errorf("testinfra: unknown server %d", int(s)))
		}
	}
	return errors.Join(errs...)
}

// kinesaliteInstalled returns node's path and test/kinesis, or the
// one-line error saying what is missing and how to install it.
func kinesaliteInstalled() (node, dir string, err error) {
	node, err = exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("kinesalite: node is not installed: %s", kinesaliteInstallHint)
	}
	dir, err = kinesaliteDir()
	if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "kinesalite", "package.json")); err != nil {
		return "", "", fmt.Errorf("kinesalite: not installed in %s: %s", dir, kinesaliteInstallHint)
	}
	return node, dir, nil
}
