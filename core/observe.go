package core

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/GoCodeAlone/modular"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/switchyard-go/eventbus/bus"
)

// EventSource is the CloudEvents source of every event the module emits.
const EventSource = "eventbus-service"

// observation holds the modular subject the module emits to. Nothing is
// built or sent while no subject is registered; per-message events
// (published, received) are on unless EventBusConfig.MessageEvents is
// false.
type observation struct {
	subject       atomic.Pointer[subjectBox]
	messageEvents bool
}

type subjectBox struct{ s modular.Subject }

// RegisterObservers (modular.ObservableModule) records the application's
// subject; modular's ObservableApplication calls it before Init.
// The engines are told whether per-message notifications are wanted
// (only with a subject), so that without one they cost nothing.
func (m *EventBusModule) RegisterObservers(subject modular.Subject) error {
	if subject == nil {
		m.obs.subject.Store(nil)
	} else {
		m.obs.subject.Store(&subjectBox{s: subject})
	}
	if r := m.router; r != nil {
		r.SetModuleReference(m)
	}
	return nil
}

// syncBackground is modular.WithSynchronousNotification(context.Background()),
// built once: most per-message events are emitted with it.
var syncBackground = modular.WithSynchronousNotification(context.Background())

// synchronous returns ctx asking modular to notify observers inline.
func synchronous(ctx context.Context) context.Context {
	if ctx == nil || ctx == context.Background() {
		return syncBackground
	}
	if modular.IsSynchronousNotification(ctx) {
		return ctx
	}
	return modular.WithSynchronousNotification(ctx)
}

// EmitEvent sends a CloudEvent to the registered observers, synchronously
// and in call order. Without a subject it returns
// ErrNoSubjectForEventEmission.
func (m *EventBusModule) EmitEvent(ctx context.Context, event cloudevents.Event) error {
	box := m.obs.subject.Load()
	if box == nil {
		return ErrNoSubjectForEventEmission
	}
	return box.s.NotifyObservers(synchronous(ctx), event)
}

// GetRegisteredEventTypes returns the ten com.modular.eventbus.* types.
func (m *EventBusModule) GetRegisteredEventTypes() []string {
	return []string{
		EventTypeMessagePublished, EventTypeMessageReceived, EventTypeMessageFailed,
		EventTypeTopicCreated, EventTypeTopicDeleted,
		EventTypeSubscriptionCreated, EventTypeSubscriptionRemoved,
		EventTypeBusStarted, EventTypeBusStopped, EventTypeConfigLoaded,
	}
}

// emit builds and sends one lifecycle event if a subject is registered.
// subject is the CloudEvents subject (the topic), empty for bus events.
func (m *EventBusModule) emit(ctx context.Context, eventType, subject string, data map[string]any) {
	if m.obs.subject.Load() == nil {
		return
	}
	ev := modular.NewCloudEvent(eventType, EventSource, data, nil)
	if subject != "" {
		ev.SetSubject(subject)
	}
	if err := m.EmitEvent(ctx, ev); err != nil && m.logger != nil {
		m.logger.Debug("eventbus: observer notification failed", "type", eventType, "error", err)
	}
}

func (m *EventBusModule) emitLifecycle(ctx context.Context, eventType string, data map[string]any) {
	m.emit(ctx, eventType, "", data)
}

func (m *EventBusModule) emitConfigLoaded(cfg *EventBusConfig) {
	if m.obs.subject.Load() == nil {
		return
	}
	m.emit(context.Background(), EventTypeConfigLoaded, "", map[string]any{
		"engine": cfg.Engine, "engines": m.router.GetEngineNames(), "multiEngine": cfg.IsMultiEngine(),
		"max_queue_size": cfg.MaxEventQueueSize, "worker_count": cfg.WorkerCount,
		"delivery_mode": cfg.DeliveryMode, "event_ttl": cfg.EventTTL.String(), "retention_days": cfg.RetentionDays,
	})
}

func (m *EventBusModule) emitSubscription(ctx context.Context, eventType string, s *routedSubscription) {
	if m.obs.subject.Load() == nil {
		return
	}
	data := map[string]any{"topic": s.Topic(), "subscription_id": s.ID(), "engine": s.engine.name}
	if eventType == EventTypeSubscriptionCreated {
		data["async"] = s.IsAsync()
	}
	m.emit(ctx, eventType, s.Topic(), data)
}

// emitPublished sends message.published: data {duration_ms, engine,
// topic}, duration_ms being the Publish call's duration as upstream
// reports it.
func (m *EventBusModule) emitPublished(ctx context.Context, box *subjectBox, topic string, start time.Time) {
	now := time.Now()
	took := now.Sub(start)
	engine := m.router.GetEngineForTopic(topic)
	m.notifyMessage(ctx, box, newMessageEvent(EventTypeMessagePublished, topic, now, func(o jsonObject) jsonObject {
		return o.int("duration_ms", took.Milliseconds()).str("engine", engine).str("topic", topic)
	}))
}

// notifyMessage sends a per-message event; a failure is logged at debug
// level as for every other event.
func (m *EventBusModule) notifyMessage(ctx context.Context, box *subjectBox, ev cloudevents.Event) {
	if err := box.s.NotifyObservers(synchronous(ctx), ev); err != nil && m.logger != nil {
		m.logger.Debug("eventbus: observer notification failed", "type", ev.Type(), "error", err)
	}
}

func (m *EventBusModule) emitPublishFailed(ctx context.Context, topic string, err error) {
	if m.obs.subject.Load() == nil {
		return
	}
	m.emit(ctx, EventTypeMessageFailed, topic, map[string]any{"topic": topic, "stage": "publish", "error": err.Error()})
}

// engineObserver adapts an engine's notifications to CloudEvents. It
// implements bus.MessageObserver only when per-message events are on and
// a subject is registered, so engines skip the per-delivery call
// otherwise (RegisterObservers re-installs it when the subject changes).
func (m *EventBusModule) engineObserver(engine string) bus.Observer {
	o := &engineObserver{m: m, engine: engine}
	if m.obs.messageEvents && m.obs.subject.Load() != nil {
		return &engineMessageObserver{o}
	}
	return o
}

type engineObserver struct {
	m      *EventBusModule
	engine string
}

func (o *engineObserver) TopicCreated(topic string) {
	o.m.emit(context.Background(), EventTypeTopicCreated, topic, map[string]any{"topic": topic, "engine": o.engine})
}

func (o *engineObserver) TopicDeleted(topic string) {
	o.m.emit(context.Background(), EventTypeTopicDeleted, topic, map[string]any{"topic": topic, "engine": o.engine})
}

func (o *engineObserver) MessageFailed(ctx context.Context, e bus.Event, subscriptionID string, err error) {
	if o.m.obs.subject.Load() == nil {
		return
	}
	o.m.emit(ctx, EventTypeMessageFailed, e.Topic, map[string]any{
		"topic": e.Topic, "subscription_id": subscriptionID, "engine": o.engine, "stage": "handle", "error": err.Error(),
	})
}

type engineMessageObserver struct{ *engineObserver }

// MessageReceived sends message.received: data {engine,
// subscription_id, topic}.
func (o *engineMessageObserver) MessageReceived(ctx context.Context, e bus.Event, subscriptionID string) {
	box := o.m.obs.subject.Load()
	if box == nil {
		return
	}
	topic := e.Topic
	o.m.notifyMessage(ctx, box, newMessageEvent(EventTypeMessageReceived, topic, time.Now(), func(j jsonObject) jsonObject {
		return j.str("engine", o.engine).str("subscription_id", subscriptionID).str("topic", topic)
	}))
}
