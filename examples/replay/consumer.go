package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/switchyard-go/eventbus"
)

// order is the payload; filters match its JSON form (the json tags), and
// Redis carries it as that JSON.
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

// consumer is the scheduled job: each run reads every retained order
// after its saved cursor that the filter selects, then stops.
type consumer struct {
	bus        *eventbus.EventBusModule
	filter     eventbus.Filter
	cursorPath string
	pageSize   int
	handled    map[int]bool // order ids read by this process
}

func newConsumer(bus *eventbus.EventBusModule, cursorPath string) (*consumer, error) {
	filter, err := eventbus.ParseFilter([]byte(filterJSON))
	if err != nil {
		return nil, err
	}
	return &consumer{bus: bus, filter: filter, cursorPath: cursorPath, pageSize: 4, handled: map[int]bool{}}, nil
}

func (c *consumer) runOnce(ctx context.Context, run string) error {
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
		if errors.Is(err, eventbus.ErrInvalidCursor) && cursor != "" {
			// Not a cursor of this engine: on the sharded engine, one of
			// an earlier process, whose retained events did not survive
			// it. Start over from the oldest.
			fmt.Printf("%s: the engine refuses the saved cursor (%v); backfilling from the oldest retained event\n", run, err)
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
			o, err := eventbus.PayloadAs[order](e)
			if err != nil {
				return err
			}
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
