Feature: Lifecycle CloudEvents for the application's observers
  In a modular ObservableApplication, observers registered with
  app.RegisterObserver hear what the event bus does, as CloudEvents of type
  com.modular.eventbus.* (written here without that prefix) with source
  "eventbus-service" and, where there is one, the topic as subject.
  Observers are notified synchronously, in the order things happened.
  The per-message events (message.published, message.received) are
  emitted as upstream emits them unless messageEvents is false; without an
  observer nothing is built. message.failed is always emitted.

  Scenario: An observer follows the bus from configuration to shutdown
    Given an observable application configured with:
      """
      eventbus:
        engine: memory
        workerCount: 3
        messageEvents: false
      """
    When the application is started
    And a subscriber "orders" on "order.placed"
    And "orders" fails on the payload "bad" with "rejected: bad"
    And the payloads "ok", "bad" are published to "order.placed"
    And "orders" receives 2 events
    And the subscription of "orders" is cancelled
    And the application is stopped
    Then the observer saw, in this order:
      | type                 | subject      |
      | config.loaded        |              |
      | bus.started          |              |
      | topic.created        | order.placed |
      | subscription.created | order.placed |
      | message.failed       | order.placed |
      | topic.deleted        | order.placed |
      | subscription.removed | order.placed |
      | bus.stopped          |              |
    And every event the observer saw has source "eventbus-service" and spec version "1.0"
    And the "config.loaded" event carries:
      | key            | value     |
      | engine         | memory    |
      | engines        | [default] |
      | multiEngine    | false     |
      | worker_count   | 3         |
      | delivery_mode  | block     |
      | max_queue_size | 1000      |
      | event_ttl      | 1h0m0s    |
      | retention_days | 7         |
    And the "bus.started" event carries:
      | key          | value     |
      | engines      | [default] |
      | workers      | 3         |
      | deliveryMode | block     |
    And the "subscription.created" event carries:
      | key    | value        |
      | topic  | order.placed |
      | engine | default      |
      | async  | false        |
    And the "message.failed" event carries:
      | key    | value         |
      | topic  | order.placed  |
      | engine | default       |
      | stage  | handle        |
      | error  | rejected: bad |

  Scenario: messageEvents: false turns the per-message events off
    Given an observable application configured with:
      """
      eventbus:
        engine: memory
        messageEvents: false
      """
    When the application is started
    And a subscriber "orders" on "order.placed"
    And 3 events are published to "order.placed"
    Then "orders" receives 3 events
    And the observer saw no "message.published" events
    And the observer saw no "message.received" events

  Scenario: By default an observer hears one message.published per event and one message.received per event and subscriber
    Given an observable application configured with:
      """
      eventbus:
        engine: memory
      """
    When the application is started
    And a subscriber "orders" on "order.placed"
    And an async subscriber "audit" on "order.*"
    And 3 events are published to "order.placed"
    Then "orders" receives 3 events
    And "audit" receives 3 events
    And the observer saw 3 "message.published" events
    And the observer saw 6 "message.received" events
    And the first "message.published" event carries:
      | key    | value        |
      | topic  | order.placed |
      | engine | default      |

  Scenario: A refused publish is reported as message.failed at the publish stage
    Given an observable application configured with:
      """
      eventbus:
        engine: memory
      """
    When the application is started
    And publishing to "order.*" is attempted
    Then it fails with "cannot publish to a wildcard topic" (ErrWildcardPublish)
    And the observer saw 1 "message.failed" event
    And the "message.failed" event carries:
      | key   | value   |
      | topic | order.* |
      | stage | publish |

  Scenario: In multi-engine mode each event names the engine it concerns
    Given an observable application configured with:
      """
      eventbus:
        engines:
          - name: fast
            type: sharded
          - name: slow
            type: memory
        routing:
          - topics: ["audit.*"]
            engine: slow
      """
    When the application is started
    And a subscriber "audit" on "audit.*"
    And "audit" panics on the payload "crash"
    And the payloads "crash" are published to "audit.login"
    Then "audit" receives 1 event
    And the "config.loaded" event carries:
      | key         | value       |
      | engines     | [fast slow] |
      | multiEngine | true        |
    And the "subscription.created" event carries:
      | key    | value   |
      | topic  | audit.* |
      | engine | slow    |
    And the "message.failed" event carries:
      | key    | value                                       |
      | topic  | audit.login                                 |
      | engine | slow                                        |
      | error  | event handler panicked: subscriber audit panics on crash |
