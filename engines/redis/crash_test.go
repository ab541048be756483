//go:build linux

package redis_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// crashHelperEnv makes the test binary act as a consumer process that
// prints every event it receives and then hangs in its handler, waiting
// to be killed.
const crashHelperEnv = "SWITCHYARD_REDIS_CRASH_HELPER"

func runCrashHelper() int {
	var cfg redis.Config
	cfg.URL = os.Getenv("HELPER_URL")
	cfg.KeyPrefix = os.Getenv("HELPER_PREFIX")
	cfg.Group = os.Getenv("HELPER_GROUP")
	cfg.StartFrom = redis.StartFromBeginning
	cfg.MaxInFlight = 4
	b, err := redis.NewEventBus(cfg)
	if err != nil {
		fmt.Println("ERR", err)
		return 2
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		fmt.Println("ERR", err)
		return 2
	}
	_, err = b.SubscribeAsync(ctx, os.Getenv("HELPER_TOPIC"), func(ctx context.Context, e bus.Event) error {
		fmt.Printf("GOT %v\n", e.Payload)
		select {} // hang mid-handler until SIGKILL
	})
	if err != nil {
		fmt.Println("ERR", err)
		return 2
	}
	fmt.Println("READY")
	select {}
}

// crashConsumer starts the crash helper as a consumer of topic in group
// (streams under prefix on url). received counts the events it got; kill
// SIGKILLs it and waits until it is gone.
func crashConsumer(t *testing.T, url, prefix, group, topic string) (received func() int, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"=1", "HELPER_URL="+url, "HELPER_PREFIX="+prefix,
		"HELPER_GROUP="+group, "HELPER_TOPIC="+topic)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		got     int
		scanned = make(chan struct{})
		ready   = make(chan string, 1)
	)
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l := sc.Text()
			switch {
			case l == "READY" || strings.HasPrefix(l, "ERR"):
				ready <- l
			case strings.HasPrefix(l, "GOT "):
				mu.Lock()
				got++
				mu.Unlock()
			}
		}
	}()
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			<-scanned
		})
	}
	t.Cleanup(kill)
	select {
	case l := <-ready:
		if l != "READY" {
			t.Fatalf("crash helper: %s", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("crash helper not subscribed within 20s")
	}
	return func() int { mu.Lock(); defer mu.Unlock(); return got }, kill
}

func TestCrashedConsumer(t *testing.T) {
	t.Run("a consumer killed mid-handler has its events redelivered to another consumer of the group after the claim timeout", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.Group = "workers"
		cfg.StartFrom = redis.StartFromBeginning
		cfg.ClaimTimeout = bus.Duration(time.Second)
		cfg.ClaimInterval = bus.Duration(100 * time.Millisecond)
		topic := "jobs"
		ctx := testCtx(t)

		// The publisher writes where the consumers read.
		pub2 := started(t, func() redis.Config { c := testConfig(shared); c.KeyPrefix = cfg.KeyPrefix; return c }())
		const n = 20
		for i := 0; i < n; i++ {
			if err := pub2.Publish(ctx, bus.Event{Topic: topic, Payload: fmt.Sprintf("job-%02d", i)}); err != nil {
				t.Fatal(err)
			}
		}

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashHelperEnv+"=1", "HELPER_URL="+shared.URL(), "HELPER_PREFIX="+cfg.KeyPrefix,
			"HELPER_GROUP="+cfg.Group, "HELPER_TOPIC="+topic)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		lines := make(chan string, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		got := 0
		var readBy time.Time // the helper had read every entry by then
		deadline := time.After(20 * time.Second)
		for got < 4 {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("helper exited early")
				}
				if strings.HasPrefix(l, "ERR") {
					t.Fatalf("helper: %s", l)
				}
				if strings.HasPrefix(l, "GOT ") {
					if got == 0 {
						readBy = time.Now()
					}
					got++
				}
			case <-deadline:
				t.Fatalf("helper handled %d events, want 4 in flight", got)
			}
		}
		// Four handlers are stuck mid-event and the rest of the batch is
		// read and pending on the helper's consumer. Crash it.
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		for range lines {
		}

		survivor := started(t, cfg)
		var rec recorder
		if _, err := survivor.Subscribe(ctx, topic, rec.Handle); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 15*time.Second, "all 20 events on the surviving consumer", func() bool { return rec.Count() >= n })
		if took := time.Since(readBy); took < time.Second {
			t.Errorf("redelivered %v after the crashed consumer read them, before the 1s claim timeout", took)
		}
		missing, dups := diff(seqN("job-%02d", n), rec.Payloads())
		if len(missing)+len(dups) > 0 {
			t.Errorf("missing %v, duplicated %v", missing, dups)
		}
		for _, d := range rec.Deliveries() {
			if !d.Redelivered {
				t.Errorf("event %s not marked as redelivered", d.EntryID)
			}
		}
		// The group keeps working for new events.
		if err := pub2.Publish(ctx, bus.Event{Topic: topic, Payload: "after"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "a new event after the takeover", func() bool { return rec.Count() >= n+1 })
	})
}

func TestRedisCrash(t *testing.T) {
	t.Run("a SIGKILLed AOF redis loses no accepted event and redelivers none that was acked", func(t *testing.T) {
		srv := testinfra.StartRedis(t, testinfra.WithAOF())
		cfg := testConfig(srv)
		cfg.ClaimTimeout = bus.Duration(5 * time.Second) // above the outage + ack retry backoff
		b := started(t, cfg)
		ctx := testCtx(t)
		topic := "ledger"

		var rec, arec recorder
		if _, err := b.Subscribe(ctx, topic, rec.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SubscribeAsync(ctx, topic, arec.Handle); err != nil {
			t.Fatal(err)
		}

		accepted := make(chan string, 100000)
		stopPub := make(chan struct{})
		var pubs sync.WaitGroup
		for w := 0; w < 4; w++ {
			pubs.Add(1)
			go func() {
				defer pubs.Done()
				for i := 0; ; i++ {
					select {
					case <-stopPub:
						return
					default:
					}
					p := fmt.Sprintf("ev-%d-%06d", w, i)
					pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
					err := b.Publish(pctx, bus.Event{Topic: topic, Payload: p})
					cancel()
					if err == nil {
						accepted <- p
					} else {
						time.Sleep(5 * time.Millisecond)
					}
				}
			}()
		}
		testutil.Eventually(t, 10*time.Second, "traffic before the crash", func() bool { return rec.Count() >= 300 })
		if err := srv.Kill9(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // publishers and consumers hit a dead server
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		before := rec.Count()
		testutil.Eventually(t, 15*time.Second, "traffic after the restart", func() bool { return rec.Count() >= before+300 })
		close(stopPub)
		pubs.Wait()
		close(accepted)
		var want []string
		for p := range accepted {
			want = append(want, p)
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		for name, r := range map[string]*recorder{"sync": &rec, "async": &arec} {
			testutil.Eventually(t, 15*time.Second, "every accepted event on the "+name+" subscription", func() bool {
				missing, _ := diff(want, r.Payloads())
				return len(missing) == 0
			})
			if _, dups := diff(want, r.Payloads()); len(dups) > 0 {
				t.Errorf("%s: %d events were handled (and acked) twice: %v", name, len(dups), dups[:min(len(dups), 10)])
			}
		}
		if b.BackgroundErrors("") == 0 {
			t.Errorf("the outage was not reported to the error observer")
		}
		t.Logf("%d accepted events, all delivered; %d background errors reported", len(want), b.BackgroundErrors(""))
	})
}
