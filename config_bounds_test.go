package eventbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/enginekit"
)

func TestCredentialsNeverAppearInInitErrorsThroughTheModule(t *testing.T) {
	const secret = "s3cr3tPW"
	urls := []string{
		"redis://user:" + secret + "%off@host:6379/0",
		"redis://user:" + secret + "/x@host:6379/0",
		"redis://user:" + secret + "#x@host:6379/0",
		"redis://user:" + secret + "?x@host:6379/0",
		"redis://user:" + secret + "@x@host:6379/0",
		"redis://host:6379/0?password=" + secret,
		"redis://host:6379/0#" + secret,
		"redis://:" + secret + "@host:notaport/0",
		"rediss://u:" + secret + "@[::1:6379/0",
		"kafka://u:" + secret + "@h:1",
		"kafka://u:" + secret + "@h:1,h2:2",
		"http://u:" + secret + "@127.0.0.1:1/",
	}
	for _, engine := range []string{"redis", "kafka", "kinesis"} {
		for _, u := range urls {
			t.Run(engine+" "+u, func(t *testing.T) {
				body := fmt.Sprintf("eventbus:\n  engine: %s\n  externalBrokerURL: %q\n  externalBrokerPassword: %q\n", engine, u, secret)
				app := newApp(t, body, false)
				err := app.Init()
				if err == nil {
					var m *EventBusModule
					if err := app.GetService(ServiceName, &m); err != nil {
						t.Fatal(err)
					}
					// Valid for this engine: Start must not leak it either.
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					err = m.Start(ctx)
					_ = m.Stop(context.Background())
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Fatalf("error shows the secret: %v", err)
				}
			})
		}
	}
}

func TestCustomEngineConfigMapDurationsNeedAUnit(t *testing.T) {
	for _, key := range []string{"metricsInterval", "publishBlockTimeout"} {
		t.Run("a bare number for "+key+" is an error naming it", func(t *testing.T) {
			_, err := NewCustomMemoryEventBus(map[string]interface{}{key: 30})
			if err == nil || !strings.Contains(err.Error(), key+": 30") || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("NewCustomMemoryEventBus = %v, want an error naming %s and the missing unit", err, key)
			}
		})
	}
	t.Run("an unknown key wraps enginekit.ErrUnknownConfigKey", func(t *testing.T) {
		_, err := NewCustomMemoryEventBus(map[string]interface{}{"metricInterval": "1s"})
		if !errors.Is(err, enginekit.ErrUnknownConfigKey) {
			t.Fatalf("NewCustomMemoryEventBus = %v", err)
		}
	})
}
