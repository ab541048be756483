// Command replay is a batch consumer built on Poll: it reads the order
// events of the in-process sharded engine (which keeps the last
// retainEvents events of each shard, see config.yaml) with a JSON filter,
// persists its cursor in a file after every page, and resumes from that
// file on its next run.
//
//	go run ./examples/replay [-cursor path]
//
// The program plays both sides: an order service publishes orders, and
// the consumer runs twice, as a scheduled job would. The first run finds
// no cursor file and backfills from the oldest retained event; the second
// resumes from the saved cursor and reads only what was published since.
//
// The sharded engine's retained events live in the process, so its
// cursors are only valid for the engine value that produced them: when
// the program starts again with the file of an earlier process, Poll
// refuses the cursor (ErrInvalidCursor) and the consumer backfills from
// the oldest retained event. With a broker engine (Redis, Kafka, Kinesis)
// the same code resumes across process restarts, since positions are the
// broker's.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
)

//go:embed config.yaml
var configYAML []byte

// order is the payload; filters match its JSON form (the json tags).
type order struct {
	ID       int      `json:"id"`
	Region   string   `json:"region"`
	Status   string   `json:"status"`
	Customer customer `json:"customer"`
	Items    []string `json:"items"`
}

type customer struct {
	Name string `json:"name"`
	Tier string `json:"tier"`
}

// filterJSON is what the consumer selects, as it would come from config
// or an HTTP parameter: EU orders that were not cancelled, from gold
// customers or containing a gift card as the first item.
const filterJSON = `{"$and": [
	{"region": "eu"},
	{"$not": {"status": "cancelled"}},
	{"$or": [{"customer.tier": "gold"}, {"items.0": "gift-card"}]}
]}`

func main() {
	cursorPath := flag.String("cursor", filepath.Join(os.TempDir(), "switchyard-replay.cursor"), "file holding the consumer's cursor")
	flag.Parse()
	if err := run(*cursorPath); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

func run(cursorPath string) error {
	dir, err := os.MkdirTemp("", "replay")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, configYAML, 0o600); err != nil {
		return err
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{feeders.NewYamlFeeder(cfgPath)})
	app.RegisterModule(eventbus.NewModule())
	if err := app.Init(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := app.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer app.Stop()
	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		return err
	}
	filter, err := eventbus.ParseFilter([]byte(filterJSON))
	if err != nil {
		return err
	}
	ctx := context.Background()
	c := &consumer{bus: bus, filter: filter, cursorPath: cursorPath, pageSize: 4}

	if err := publishOrders(ctx, bus, 1, 30); err != nil {
		return err
	}
	if err := c.runOnce(ctx, "run 1"); err != nil {
		return err
	}
	if err := publishOrders(ctx, bus, 31, 12); err != nil {
		return err
	}
	if err := c.runOnce(ctx, "run 2"); err != nil {
		return err
	}
	fmt.Printf("handled %d orders in all, each once\n", len(c.handled))
	return nil
}

// publishOrders publishes n orders numbered from first, one partition
// key per customer (one customer's orders are read in publish order),
// and waits until the engine has taken them (Flush), so that the next
// poll sees them.
func publishOrders(ctx context.Context, bus *eventbus.EventBusModule, first, n int) error {
	names := []string{"ada", "grace", "linus", "barbara", "ken"}
	tiers := map[string]string{"ada": "gold", "grace": "silver", "linus": "gold", "barbara": "bronze", "ken": "silver"}
	for id := first; id < first+n; id++ {
		name := names[id%len(names)]
		o := order{
			ID:       id,
			Region:   []string{"eu", "us", "eu", "apac"}[id%4],
			Status:   []string{"placed", "placed", "cancelled"}[id%3],
			Customer: customer{Name: name, Tier: tiers[name]},
			Items:    []string{[]string{"book", "gift-card", "lamp"}[id%3], "bag"},
		}
		if err := bus.Publish(eventbus.WithPartitionKey(ctx, name), "orders.placed", o); err != nil {
			return err
		}
	}
	return bus.Flush(ctx)
}

// consumer is the scheduled job: each run reads every retained order
// after its saved cursor that the filter selects, then stops.
type consumer struct {
	bus        *eventbus.EventBusModule
	filter     eventbus.Filter
	cursorPath string
	pageSize   int
	handled    map[int]bool
}

func (c *consumer) runOnce(ctx context.Context, run string) error {
	if c.handled == nil {
		c.handled = map[int]bool{}
	}
	cursor, err := loadCursor(c.cursorPath)
	if err != nil {
		return err
	}
	from := "resumed from the saved cursor"
	if cursor == "" {
		from = "no saved cursor: backfill from the oldest retained event"
	}
	read := 0
	for {
		resp, err := c.bus.Poll(ctx, "orders.*", eventbus.ConsumeRequest{Limit: c.pageSize, Cursor: cursor, Filter: &c.filter})
		if errors.Is(err, eventbus.ErrInvalidCursor) {
			// A cursor of an earlier process: this engine's retained
			// events did not survive it. Start over from the oldest.
			fmt.Printf("%s: the saved cursor belongs to another engine instance (%v); backfilling from the oldest retained event\n", run, err)
			cursor, from = "", "backfill from the oldest retained event"
			continue
		}
		if err != nil {
			return err
		}
		if resp.Gap {
			fmt.Printf("%s: some events after the saved cursor are no longer retained; continuing from the oldest retained one\n", run)
		}
		for _, e := range resp.Events {
			o := e.Payload.(order)
			if c.handled[o.ID] {
				return fmt.Errorf("order %d read twice", o.ID)
			}
			c.handled[o.ID] = true
			read++
			fmt.Printf("  %s: order %2d region=%s status=%-9s customer=%s/%s first item=%s\n", run, o.ID, o.Region, o.Status, o.Customer.Name, o.Customer.Tier, o.Items[0])
		}
		// Persist after every page: a crash here re-reads at most one
		// page (at-least-once).
		if err := saveCursor(c.cursorPath, resp.Cursor); err != nil {
			return err
		}
		cursor = resp.Cursor
		if len(resp.Events) == 0 {
			break
		}
	}
	fmt.Printf("%s: %s: read %d matching orders; cursor saved to %s\n", run, from, read, c.cursorPath)
	return nil
}

// loadCursor returns the saved cursor, or "" when there is none yet.
func loadCursor(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// saveCursor replaces the cursor file atomically (write, then rename),
// so that a crash never leaves half a cursor behind.
func saveCursor(path, cursor string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cursor), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
