package kinesis

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// The interop tests judge Kinesis records with the CloudEvents Go SDK's
// JSON event format: records another program writes (the SDK's
// json.Marshal of an event) are read by the engine, and the records the
// engine writes must be valid UTF-8 JSON that the SDK reads back.

// streamRecords returns the data of every record of b's stream that is
// not a subscription marker, once there are at least n.
func streamRecords(t *testing.T, b *EventBus, n int) [][]byte {
	t.Helper()
	ctx := testCtx(t)
	shards, err := b.client.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(b.cfg.StreamName)})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	testutil.Eventually(t, 20*time.Second, "the stream's records", func() bool {
		out = out[:0]
		for _, s := range shards.Shards {
			it, err := b.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(b.cfg.StreamName),
				ShardId: s.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				t.Fatal(err)
			}
			recs, err := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it.ShardIterator})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs.Records {
				if !isMarker(r.Data) {
					out = append(out, r.Data)
				}
			}
		}
		return len(out) >= n
	})
	return out
}

// putForeign writes ce as another program would: the SDK's JSON event
// format (data_base64 for binary data).
func putForeign(t *testing.T, b *EventBus, ce event.Event) {
	t.Helper()
	doc, err := json.Marshal(ce)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.PutRecord(testCtx(t), &kinesis.PutRecordInput{StreamName: aws.String(b.cfg.StreamName),
		PartitionKey: aws.String(ce.ID()), Data: doc}); err != nil {
		t.Fatal(err)
	}
}

func TestInteropForeignRecords(t *testing.T) {
	t.Run("records the SDK writes reach the handler with their subject (else type) as topic and their own attributes", func(t *testing.T) {
		b := started(t, testConfig(kinesalite.Endpoint()))
		var rec recorder
		if _, err := b.Subscribe(testCtx(t), "*", rec.Handle); err != nil {
			t.Fatal(err)
		}
		want := map[string]brokertest.ForeignEvent{}
		for _, f := range brokertest.ForeignEvents() {
			want[f.Event.ID()] = f
			putForeign(t, b, f.Event)
		}
		brokertest.CheckForeignDeliveries(t, &rec, want, 20*time.Second, func(f brokertest.ForeignEvent) string {
			if s := f.Event.Subject(); s != "" {
				return s
			}
			return f.Event.Type()
		})
	})

	t.Run("a failing foreign event's dead letter keeps its type and source and has readable reasons", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		cfg.Options.MaxRetries = -1
		b := started(t, cfg)
		if _, err := b.Subscribe(testCtx(t), "orders/49", func(context.Context, bus.Event) error { return errors.New("cannot ship to the moon") }); err != nil {
			t.Fatal(err)
		}
		ce := event.New()
		ce.SetID("f-dl")
		ce.SetSource("https://shop.example.com/orders")
		ce.SetType("com.example.order.failed")
		ce.SetSubject("orders/49")
		_ = ce.SetData("application/octet-stream", []byte{0, 1, 0xff})
		putForeign(t, b, ce)
		recs := streamRecords(t, b, 2)
		var dl event.Event
		for _, r := range recs {
			var e event.Event
			if err := json.Unmarshal(r, &e); err != nil {
				t.Fatalf("the SDK cannot read record %s: %v", r, err)
			}
			if e.Subject() == "dlq.orders/49" {
				dl = e
			}
		}
		if dl.Type() != "com.example.order.failed" || dl.Source() != "https://shop.example.com/orders" {
			t.Errorf("dead letter type %q source %q; want the original's", dl.Type(), dl.Source())
		}
		ext := dl.Extensions()
		for name, want := range map[string]string{"deadletterreason": "cannot ship to the moon", "deadlettertopic": "orders/49", "deadletterid": "f-dl"} {
			if got, _ := ext[name].(string); got != want {
				t.Errorf("dead letter extension %s = %v, want %q (extensions %v)", name, ext[name], want, ext)
			}
		}
		if string(dl.Data()) != "\x00\x01\xff" {
			t.Errorf("dead letter data = %q", dl.Data())
		}
	})
}

func TestInteropOwnRecords(t *testing.T) {
	b := started(t, testConfig(kinesalite.Endpoint()))
	for _, o := range brokertest.OwnEvents("interop.out") {
		if err := b.Publish(testCtx(t), o.Event); err != nil {
			t.Fatal(err)
		}
	}
	own := brokertest.OwnEvents("interop.out")
	recs := streamRecords(t, b, len(own))
	t.Run("every record the engine wrote is valid UTF-8 JSON, as strict readers require", func(t *testing.T) {
		for _, r := range recs {
			if why := brokertest.CheckJSONDocument(r); why != "" {
				t.Errorf("record %.200q: %s", r, why)
			}
		}
	})
	for _, o := range own {
		t.Run("a record with "+o.Name+" is valid UTF-8 JSON that the SDK reads", func(t *testing.T) {
			var problems []string
			for _, r := range recs {
				var ce event.Event
				if err := json.Unmarshal(r, &ce); err != nil {
					t.Fatalf("the SDK cannot read record %.200s: %v", r, err)
				}
				if ce.DataContentType() != o.ContentType {
					continue // another case's record
				}
				p := brokertest.CheckOwn(o, "switchyard", ce)
				if len(p) == 0 {
					return
				}
				problems = append(problems, p...)
			}
			for _, p := range problems {
				t.Error(p)
			}
			t.Errorf("no record matches (datacontenttype %q)", o.ContentType)
		})
	}
}

func TestInteropForeignRecordsPoll(t *testing.T) {
	b := started(t, testConfig(kinesalite.Endpoint()))
	var want []brokertest.ForeignEvent
	for _, f := range brokertest.ForeignEvents() {
		putForeign(t, b, f.Event)
		want = append(want, f)
	}
	var got []bus.Event
	cursor := ""
	testutil.Eventually(t, 20*time.Second, "Poll to return every record the SDK wrote", func() bool {
		resp, err := b.Poll(testCtx(t), "*", bus.ConsumeRequest{Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		got, cursor = append(got, resp.Events...), resp.Cursor
		return len(got) >= len(want)
	})
	brokertest.CheckForeignPolled(t, got, want, func(f brokertest.ForeignEvent) string {
		if s := f.Event.Subject(); s != "" {
			return s
		}
		return f.Event.Type()
	})
}
