package examples_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestMultiEngineRoutesUsersInProcessAndOrdersThroughRedis(t *testing.T) {
	r := testinfra.StartRedis(t)
	out := runExample(t, "multi-engine", 2*time.Minute, "-redis", r.URL())
	t.Log("\n" + out)
	for _, want := range []string{
		"route: user.created  -> inproc",
		"route: order.placed  -> durable",
		"route: invoice.sent  -> inproc",
		"handled user.created on inproc  {Name:ada}",
		"handled order.placed on durable {ID:1 Customer:ada}",
		"engine durable handled 3 events",
		"engine inproc  handled 3 events",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestMultiEngineSaysHowToStartRedisWhenNoneIsReachable(t *testing.T) {
	// A port nobody listens on: bind a free one, then release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	url := fmt.Sprintf("redis://%s/0", addr)
	out := runExampleFailing(t, "multi-engine", 2*time.Minute, "-redis", url)
	for _, want := range []string{"no redis-server reachable at " + url, "redis-server --port 6390"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
