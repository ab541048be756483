package features

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
)

// crashHelperEnv makes the test binary act as a separate consumer
// process: a modular application configured by the YAML in
// crashHelperYAML, subscribed to crashHelperTopic with a handler that
// prints "GOT <payload>" and never returns, waiting to be killed.
const (
	crashHelperEnv   = "SWITCHYARD_FEATURES_CRASH_HELPER"
	crashHelperYAML  = "SWITCHYARD_FEATURES_CRASH_YAML"
	crashHelperTopic = "SWITCHYARD_FEATURES_CRASH_TOPIC"
)

// runCrashHelper is the separate process's main. It exits by itself when
// its standard input closes (the test binary that started it died).
func runCrashHelper() int {
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	fail := func(err error) int {
		fmt.Println("ERR", err)
		return 2
	}
	dir, err := os.MkdirTemp("", "features-crash-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(os.Getenv(crashHelperYAML)), 0o600); err != nil {
		return fail(err)
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{feeders.NewYamlFeeder(path)})
	module := eventbus.NewModule().(*eventbus.EventBusModule)
	app.RegisterModule(module)
	if err := app.Init(); err != nil {
		return fail(err)
	}
	if err := app.Start(); err != nil {
		return fail(err)
	}
	_, err = module.Subscribe(context.Background(), os.Getenv(crashHelperTopic), func(_ context.Context, e eventbus.Event) error {
		fmt.Printf("GOT %v\n", e.Payload)
		select {} // stuck mid-handler until the process is killed
	})
	if err != nil {
		return fail(err)
	}
	fmt.Println("READY")
	select {}
}

// consumerProcess is a running crash helper, seen from the test.
type consumerProcess struct {
	cmd   *exec.Cmd
	stdin io.Closer
	ready chan struct{}
	done  chan struct{} // closed when its output ended

	mu     sync.Mutex
	got    []string
	errLn  string
	killed bool
}

// startConsumerProcess starts the test binary as a crash helper.
func startConsumerProcess(yamlDoc, topic string) (*consumerProcess, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"=1", crashHelperYAML+"="+yamlDoc, crashHelperTopic+"="+topic)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &consumerProcess{cmd: cmd, stdin: in, ready: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		readyOnce := sync.OnceFunc(func() { close(p.ready) })
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "READY":
				readyOnce()
			case strings.HasPrefix(line, "GOT "):
				p.mu.Lock()
				p.got = append(p.got, strings.TrimPrefix(line, "GOT "))
				p.mu.Unlock()
			case strings.HasPrefix(line, "ERR "):
				p.mu.Lock()
				p.errLn = line
				p.mu.Unlock()
			}
		}
	}()
	select {
	case <-p.ready:
		return p, nil
	case <-p.done:
		p.kill()
		p.mu.Lock()
		defer p.mu.Unlock()
		return nil, fmt.Errorf("the consumer process exited before it subscribed: %s", p.errLn)
	case <-time.After(waitTimeout):
		p.kill()
		return nil, errors.New("the consumer process did not subscribe in time")
	}
}

// received returns the payloads the process's handler was called with.
func (p *consumerProcess) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// kill sends SIGKILL (no shutdown of any kind) and waits for the process.
func (p *consumerProcess) kill() {
	p.mu.Lock()
	already := p.killed
	p.killed = true
	p.mu.Unlock()
	if already {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done // its stdout ends when it is gone
	_ = p.cmd.Wait()
	_ = p.stdin.Close()
}
