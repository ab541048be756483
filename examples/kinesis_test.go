package examples_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestKinesisExamplePublishesAndReadsBackThroughKinesalite(t *testing.T) {
	k := testinfra.StartKinesalite(t, testinfra.KinesaliteOptions{})
	out := runExample(t, "kinesis", 2*time.Minute, "-endpoint", k.Endpoint())
	t.Log("\n" + out)
	for _, want := range []string{
		"published 9 readings",
		"sensor.pressure    pump   #3",
		"handled=9, every sensor's readings in order",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestKinesisExampleExplainsAnUnreachableEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("http://%s", l.Addr())
	_ = l.Close()
	out := runExampleFailing(t, "kinesis", 2*time.Minute, "-endpoint", endpoint)
	if want := "is a Kinesis endpoint listening at " + endpoint; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}
