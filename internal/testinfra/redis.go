package testinfra

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrRedisMissing is returned when redis-server is not on PATH.
var ErrRedisMissing = errors.New("redis-server not found on PATH: run ./scripts/test-deps.sh")

// RedisOption configures StartRedis and NewRedis.
type RedisOption func(*redisConfig)

type redisConfig struct {
	aof      bool
	password string
	extra    []string
}

// WithAOF turns on the append-only file with appendfsync always, so that
// every write Redis acknowledged survives Kill9 and a restart.
func WithAOF() RedisOption { return func(c *redisConfig) { c.aof = true } }

// WithPassword sets requirepass (the "default" user's password).
func WithPassword(pw string) RedisOption { return func(c *redisConfig) { c.password = pw } }

// WithArgs appends raw redis-server arguments ("--maxmemory", "10mb").
func WithArgs(args ...string) RedisOption {
	return func(c *redisConfig) { c.extra = append(c.extra, args...) }
}

// Redis is a private redis-server subprocess bound to 127.0.0.1 on a free
// port, with its data in a private directory. The port and the directory
// stay the same across Kill9, Start and Restart, so a client keeps
// reaching the same server and AOF data survives. Safe for concurrent use.
type Redis struct {
	// Addr is host:port of the server.
	Addr string

	cfg  redisConfig
	dir  string
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives cmd.Wait's result
}

// StartRedis starts a server for tb and stops it (and removes its data) at
// tb's cleanup. It fails tb with one actionable line if redis-server is
// missing or does not come up.
func StartRedis(tb testing.TB, opts ...RedisOption) *Redis {
	tb.Helper()
	r, err := NewRedis(opts...)
	if err != nil {
		tb.Fatalf("testinfra: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// NewRedis starts a server; the caller must Close it. Use it from TestMain
// to share one server among a package's tests.
func NewRedis(opts ...RedisOption) (*Redis, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, ErrRedisMissing
	}
	r := &Redis{}
	for _, o := range opts {
		o(&r.cfg)
	}
	// Unix socket paths and t.TempDir() names can get long; a short
	// private directory is enough here.
	dir, err := os.MkdirTemp("", "swyredis")
	if err != nil {
		return nil, fmt.Errorf("redis data dir: %w", err)
	}
	r.dir = dir
	// A free port is found by binding :0 and releasing it; another process
	// may take it in between, so try a few ports.
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		r.port = port
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = r.Start(); lastErr == nil {
			return r, nil
		}
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// URL returns a redis:// URL of the server (with the password, if any).
func (r *Redis) URL() string {
	if r.cfg.password != "" {
		return fmt.Sprintf("redis://:%s@%s/0", r.cfg.password, r.Addr)
	}
	return "redis://" + r.Addr + "/0"
}

// Dir returns the server's data directory.
func (r *Redis) Dir() string { return r.dir }

func (r *Redis) args() []string {
	a := []string{
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--logfile", filepath.Join(r.dir, "redis.log"),
		"--daemonize", "no",
	}
	if r.cfg.aof {
		a = append(a, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		a = append(a, "--appendonly", "no")
	}
	if r.cfg.password != "" {
		a = append(a, "--requirepass", r.cfg.password)
	}
	return append(a, r.cfg.extra...)
}

// Start starts the server again after Kill9 or Stop (same port and data
// directory) and waits until it answers PING. Starting a running server
// is a no-op.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	cmd := exec.Command("redis-server", r.args()...)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ping(r.Addr) {
			break
		}
		select {
		case err := <-exited:
			return fmt.Errorf("redis-server on %s exited at start (%v): %s", r.Addr, err, r.logTail())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on %s did not answer PING within 5s: %s", r.Addr, r.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.cmd = cmd
	r.exited = exited
	return nil
}

// Kill9 kills the server with SIGKILL (a crash: no shutdown save) and
// waits until it is gone. Killing a stopped server is a no-op.
func (r *Redis) Kill9() error { return r.halt(syscall.SIGKILL) }

// Stop shuts the server down with SIGTERM and waits until it is gone.
func (r *Redis) Stop() error { return r.halt(syscall.SIGTERM) }

// Restart is Stop then Start.
func (r *Redis) Restart() error {
	if err := r.Stop(); err != nil {
		return err
	}
	return r.Start()
}

// Close kills the server and removes its data directory.
func (r *Redis) Close() error {
	err := r.halt(syscall.SIGKILL)
	if rmErr := os.RemoveAll(r.dir); err == nil {
		err = rmErr
	}
	return err
}

func (r *Redis) halt(sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd, r.exited = nil, nil
	return nil
}

func (r *Redis) logTail() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, " | ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ping reports whether a Redis server answers on addr (an auth error
// counts: the server is up).
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return false
	}
	return strings.HasPrefix(line, "+PONG") || strings.HasPrefix(line, "-NOAUTH")
}
