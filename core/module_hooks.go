package core

import "context"

// The module implements the router's hooks (routerHooks): it turns the
// router's and the engines' notifications into lifecycle CloudEvents and
// logs through the application's logger.
var _ routerHooks = (*EventBusModule)(nil)

// SetModuleReference connects the router and its engines to the module,
// which turns their notifications into lifecycle CloudEvents. A nil
// module disconnects them.
func (r *EngineRouter) SetModuleReference(module *EventBusModule) {
	if module == nil {
		r.setHooks(nil)
		return
	}
	r.setHooks(module)
}

// subscriptionChanged emits subscription.created or .removed.
func (m *EventBusModule) subscriptionChanged(ctx context.Context, eventType string, s *routedSubscription) {
	m.emitSubscription(ctx, eventType, s)
}

// warn logs through the application's logger, if the module has one.
func (m *EventBusModule) warn(msg string, args ...any) bool {
	if m.logger == nil {
		return false
	}
	m.logger.Warn(msg, args...)
	return true
}
