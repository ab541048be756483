//go:build unix

package testinfra

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kinesaliteInstallHint is the one actionable line printed when kinesalite
// cannot be started.
const kinesaliteInstallHint = "run ./scripts/test-deps.sh (it runs `npm ci --prefix test/kinesis`; needs node and npm)"

// Kinesalite is a private kinesalite (npm kinesalite 3.3.3, pinned in
// test/kinesis/package-lock.json) listening on 127.0.0.1 and a port the
// kernel chose. It is started through test/kinesis/server.js, which uses
// kinesalite's node API (its CLI turns "--port 0" into 4567), makes
// streams ACTIVE at once and raises the account shard limit to 1000.
//
// The node process runs in its own process group, is killed with it at
// Close, and also exits by itself when the test binary dies (its standard
// input closes; on Linux the kernel also sends it SIGKILL).
//
// Methods are safe for concurrent use.
type Kinesalite struct {
	mu    sync.Mutex
	dir   string // LevelDB directory when persistent, else ""
	own   bool   // dir was created by us and is removed at Close
	port  int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when cmd exited
	log   *tailBuffer
}

// KinesaliteOptions selects what StartKinesalite builds. The zero value is
// an in-memory kinesalite.
type KinesaliteOptions struct {
	// Persistent stores the streams in a LevelDB directory (kinesalite
	// --path) so that Kill then Restart keeps every acknowledged record.
	Persistent bool
	// Dir is the LevelDB directory to use when Persistent (default: a
	// temporary directory removed at Close).
	Dir string
}

// StartKinesalite starts kinesalite for the test and stops it at cleanup.
// A missing node or kinesalite installation fails the test with one
// actionable line.
func StartKinesalite(tb testing.TB, o KinesaliteOptions) *Kinesalite {
	tb.Helper()
	k, err := NewKinesalite(o)
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() { _ = k.Close() })
	return k
}

// NewKinesalite starts kinesalite; the caller must Close it. It is meant
// for TestMain, where one kinesalite serves a whole test package.
func NewKinesalite(o KinesaliteOptions) (*Kinesalite, error) {
	k := &Kinesalite{log: &tailBuffer{max: 8 << 10}}
	if o.Persistent {
		k.dir = o.Dir
		if k.dir == "" {
			d, err := os.MkdirTemp("", "kinesalite-*")
			if err != nil {
				return nil, fmt.Errorf("kinesalite: temp dir: %w", err)
			}
			k.dir, k.own = d, true
		}
	}
	if err := k.start(0); err != nil {
		if k.own {
			_ = os.RemoveAll(k.dir)
		}
		return nil, err
	}
	return k, nil
}

// Endpoint returns the base URL to give the AWS SDK ("http://127.0.0.1:<port>").
func (k *Kinesalite) Endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(k.Port()) }

// Port returns the port kinesalite listens on (stable across Restart).
func (k *Kinesalite) Port() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.port
}

// Dir returns the LevelDB directory, or "" when in memory.
func (k *Kinesalite) Dir() string { return k.dir }

// Kill kills kinesalite with SIGKILL, as a crash would; Restart brings it
// back on the same port (with its records when Persistent).
func (k *Kinesalite) Kill() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.haltLocked(syscall.SIGKILL)
}

// Restart stops kinesalite (if running) and starts it again on the same
// port and, when Persistent, the same directory.
func (k *Kinesalite) Restart() error {
	k.mu.Lock()
	if err := k.haltLocked(syscall.SIGTERM); err != nil {
		k.mu.Unlock()
		return err
	}
	port := k.port
	k.mu.Unlock()
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err = k.start(port); err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close stops kinesalite and removes the directory it created. It is
// idempotent.
func (k *Kinesalite) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.haltLocked(syscall.SIGTERM)
	if k.own && k.dir != "" {
		_ = os.RemoveAll(k.dir)
		k.own = false
	}
	return err
}

// Log returns the tail of kinesalite's output, for failure messages.
func (k *Kinesalite) Log() string { return k.log.String() }

// start runs server.js on port (0: a free one) and waits for "PORT <n>".
func (k *Kinesalite) start(port int) error {
	node, dir, err := kinesaliteInstalled()
	if err != nil {
		return err
	}
	args := []string{filepath.Join(dir, "server.js"), "--port", strconv.Itoa(port)}
	if k.dir != "" {
		args = append(args, "--path", k.dir)
	}
	cmd := exec.Command(node, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = kinesaliteProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("kinesalite: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("kinesalite: %w", err)
	}
	cmd.Stderr = k.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("kinesalite: start node: %w", err)
	}
	done := make(chan struct{})
	portc := make(chan int, 1)
	go func() {
		// Owned by the process: ends when node closes its stdout.
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if p, ok := strings.CutPrefix(line, "PORT "); ok && !sent {
				if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
					portc <- n
					sent = true
					continue
				}
			}
			_, _ = k.log.Write([]byte(line + "\n"))
		}
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case p := <-portc:
		k.mu.Lock()
		k.port, k.cmd, k.stdin, k.done = p, cmd, stdin, done
		k.mu.Unlock()
		return nil
	case <-done:
		return fmt.Errorf("kinesalite exited before listening (%s); output: %s", kinesaliteInstallHint, k.log.String())
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("kinesalite did not print its port within 20s; output: %s", k.log.String())
	}
}

// haltLocked signals the process group and waits for the exit.
func (k *Kinesalite) haltLocked(sig syscall.Signal) error {
	if k.cmd == nil {
		return nil
	}
	_ = k.stdin.Close()
	_ = syscall.Kill(-k.cmd.Process.Pid, sig)
	select {
	case <-k.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.done
	}
	k.cmd, k.stdin, k.done = nil, nil, nil
	return nil
}

// kinesaliteDir returns test/kinesis of this module, found from this
// source file's location so that tests of any package can use it.
func kinesaliteDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("kinesalite: cannot locate the module directory")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "test", "kinesis"), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b.Write(p)
	if over := t.b.Len() - t.max; over > 0 {
		t.b.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.b.String())
}
