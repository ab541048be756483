package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestFaults(t *testing.T) {
	t.Run("Start fails fast with a clear error when Redis is unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close() // nothing listens there now
		b := newBus(t, redis.Config{URL: "redis://" + addr})
		begin := time.Now()
		err = b.Start(testCtx(t))
		if !errors.Is(err, redis.ErrUnreachable) {
			t.Fatalf("Start = %v, want ErrUnreachable", err)
		}
		if took := time.Since(begin); took > 6*time.Second {
			t.Errorf("Start took %v to fail", took)
		}
		t.Logf("error: %v", err)
		if err := b.Publish(testCtx(t), bus.Event{Topic: "x"}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Errorf("Publish after a failed Start = %v", err)
		}
	})

	t.Run("a Redis restart without persistence is survived: groups are recreated and later events delivered", func(t *testing.T) {
		srv := testinfra.StartRedis(t)
		cfg := testConfig(srv)
		b := started(t, cfg)
		var errCount atomic.Int64
		b.SetErrorObserver(broker.ErrorObserverFunc(func(broker.Scope, error) { errCount.Add(1) }))
		ctx := testCtx(t)
		var exact, wild recorder
		if _, err := b.Subscribe(ctx, "metrics.cpu", exact.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SubscribeAsync(ctx, "metrics.*", wild.Handle); err != nil {
			t.Fatal(err)
		}
		publish := func(p string) error {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			return b.Publish(pctx, bus.Event{Topic: "metrics.cpu", Payload: p})
		}
		if err := publish("before"); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "delivery before the restart", func() bool { return exact.Count() >= 1 && wild.Count() >= 1 })
		if err := srv.Restart(); err != nil { // all data is gone
			t.Fatal(err)
		}
		var accepted []string
		for i := 0; len(accepted) < 20; i++ {
			p := fmt.Sprintf("after-%03d", i)
			if err := publish(p); err == nil {
				accepted = append(accepted, p)
			} else {
				time.Sleep(20 * time.Millisecond)
			}
			if i > 500 {
				t.Fatalf("publishing never recovered")
			}
		}
		for name, r := range map[string]*recorder{"exact": &exact, "wildcard": &wild} {
			testutil.Eventually(t, 15*time.Second, name+" subscription to get every event accepted after the restart", func() bool {
				missing, _ := diff(accepted, r.Payloads())
				return len(missing) == 0
			})
		}
		if errCount.Load() == 0 {
			t.Errorf("no background error was reported during the restart")
		}
	})

	t.Run("Stop with a handler that outlives its deadline cancels the handler context and reports the timeout", func(t *testing.T) {
		b := newBus(t, testConfig(shared))
		ctx := testCtx(t)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		entered := make(chan struct{})
		var sawCancel atomic.Bool
		if _, err := b.Subscribe(ctx, "slow", func(ctx context.Context, e bus.Event) error {
			close(entered)
			<-ctx.Done()
			sawCancel.Store(true)
			return ctx.Err()
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "slow", Payload: 1}); err != nil {
			t.Fatal(err)
		}
		<-entered
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if err := b.Stop(sctx); !errors.Is(err, bus.ErrEventBusShutdownTimeout) {
			t.Errorf("Stop = %v, want ErrEventBusShutdownTimeout", err)
		}
		if !sawCancel.Load() {
			t.Errorf("the handler's context was not cancelled")
		}
	})

	t.Run("Stop returns within a bound when Redis is gone", func(t *testing.T) {
		srv := testinfra.StartRedis(t)
		b := newBus(t, testConfig(srv))
		ctx := testCtx(t)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		if _, err := b.Subscribe(ctx, "gone", rec.Handle); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "gone", Payload: 1}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "the delivery", func() bool { return rec.Count() == 1 })
		if err := srv.Kill9(); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		if err := b.Stop(context.Background()); err != nil {
			t.Logf("Stop: %v", err)
		}
		if took := time.Since(begin); took > 8*time.Second {
			t.Errorf("Stop took %v with Redis down", took)
		}
	})

	t.Run("publishers and subscribers racing Stop and Start lose no accepted event", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		var rec recorder
		if _, err := b.SubscribeAsync(ctx, "churn", rec.Handle); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var accepted []string
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					p := fmt.Sprintf("c%d-%05d", w, i)
					if err := b.Publish(ctx, bus.Event{Topic: "churn", Payload: p}); err == nil {
						mu.Lock()
						accepted = append(accepted, p)
						mu.Unlock()
					} else if !errors.Is(err, bus.ErrEventBusNotStarted) {
						t.Errorf("Publish: %v", err)
						return
					}
				}
			}()
		}
		for i := 0; i < 3; i++ {
			time.Sleep(50 * time.Millisecond)
			if err := b.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		missing, _ := diff(accepted, rec.Payloads())
		if len(missing) > 0 {
			t.Errorf("%d of %d accepted events lost: %v", len(missing), len(accepted), missing[:min(10, len(missing))])
		}
	})
}
