package brokerkit

import (
	"context"

	"github.com/switchyard-go/eventbus/broker"
)

// Attributes returns env's CloudEvents attributes.
func (env *Envelope) Attributes() broker.Attributes {
	return broker.Attributes{
		SpecVersion: env.SpecVersion, ID: env.ID, Source: env.Source, Type: env.Type,
		Subject: env.Subject, Time: env.Event.CreatedAt, DataContentType: env.DataContentType,
		DataSchema: env.DataSchema,
	}
}

// origin is the type and source an engine writes instead of the topic and
// Options.Source (see WithOrigin).
type origin struct{ typ, source string }

type originKey struct{}

// WithOrigin returns ctx carrying the CloudEvents type and source that a
// broker engine writes for the events published with it, instead of the
// topic and Options.Source (an empty value keeps the default). The
// subject is always the topic. Dead letters use it to keep the original
// event's type and source; a program that forwards events of other
// producers can use it the same way.
func WithOrigin(ctx context.Context, typ, source string) context.Context {
	if typ == "" && source == "" {
		return ctx
	}
	return context.WithValue(ctx, originKey{}, origin{typ, source})
}

func originFrom(ctx context.Context) origin {
	if ctx == nil {
		return origin{}
	}
	o, _ := ctx.Value(originKey{}).(origin)
	return o
}
