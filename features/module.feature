Feature: The event bus as a module of a modular application
  An application built with the GoCodeAlone/modular framework adds the event
  bus with app.RegisterModule(eventbus.NewModule()). The bus reads the
  "eventbus" section of the application's configuration (a YAML file here),
  and EVENTBUS_<NAME> environment variables override the YAML values. Other
  modules receive the bus as the service "eventbus.provider", either by
  that name or by declaring an interface that the bus satisfies.

  Scenario: The YAML section configures the engine
    Given an application configured with:
      """
      eventbus:
        engine: memory
        workerCount: 3
        defaultEventBufferSize: 64
        deliveryMode: timeout
        publishBlockTimeout: 250ms
      """
    When the application is initialised
    Then the engine "default" runs with:
      | setting                | value   |
      | workerCount            | 3       |
      | defaultEventBufferSize | 64      |
      | deliveryMode           | timeout |
      | publishBlockTimeout    | 250ms   |
      | maxEventQueueSize      | 1000    |

  Scenario: Settings left out of the YAML take their documented defaults
    Given an application configured with:
      """
      eventbus: {}
      """
    When the application is initialised
    Then the engine "default" is of type sharded
    And the "eventbus" configuration section has engine = "sharded"
    And the "eventbus" configuration section has deliveryMode = "block"
    And the "eventbus" configuration section has maxEventQueueSize = "1000"
    And the "eventbus" configuration section has defaultEventBufferSize = "10"
    And the "eventbus" configuration section has workerCount = "5"
    And the "eventbus" configuration section has eventTTL = "1h0m0s"
    And the "eventbus" configuration section has retentionDays = "7"
    And the "eventbus" configuration section has rotateSubscriberOrder = "false"
    And the "eventbus" configuration section has messageEvents = "unset"

  Scenario Outline: The environment variable <variable> overrides the YAML key <key>
    The module-level settings reach the engine factory as a config map; a
    "recording" engine (the memory engine that remembers that map) shows
    what the engine receives.

    Given the engine type "recording" is registered
    And the environment variable "<variable>" is "<value>"
    And an application configured with:
      """
      eventbus:
        engine: recording
        maxEventQueueSize: 100
        defaultEventBufferSize: 8
        workerCount: 2
        deliveryMode: drop
        publishBlockTimeout: 10ms
        eventTTL: 30m
        retentionDays: 3
        externalBrokerURL: redis://from-yaml:1/0
        externalBrokerUser: yaml-user
        externalBrokerPassword: yaml-secret
      """
    When the application is initialised
    Then the "eventbus" configuration section has <key> = "<seen>"
    And the engine factory received <key> = "<seen>"

    Examples:
      | variable                           | value                 | key                    | seen                  |
      | EVENTBUS_MAX_EVENT_QUEUE_SIZE      | 4096                  | maxEventQueueSize      | 4096                  |
      | EVENTBUS_DEFAULT_EVENT_BUFFER_SIZE | 256                   | defaultEventBufferSize | 256                   |
      | EVENTBUS_WORKER_COUNT              | 7                     | workerCount            | 7                     |
      | EVENTBUS_DELIVERY_MODE             | timeout               | deliveryMode           | timeout               |
      | EVENTBUS_PUBLISH_BLOCK_TIMEOUT     | 250ms                 | publishBlockTimeout    | 250ms                 |
      | EVENTBUS_ROTATE_SUBSCRIBER_ORDER   | true                  | rotateSubscriberOrder  | true                  |
      | EVENTBUS_EVENT_TTL                 | 90s                   | eventTTL               | 1m30s                 |
      | EVENTBUS_RETENTION_DAYS            | 14                    | retentionDays          | 14                    |
      | EVENTBUS_EXTERNAL_BROKER_URL       | redis://from-env:2/0  | externalBrokerURL      | redis://from-env:2/0  |
      | EVENTBUS_EXTERNAL_BROKER_USER      | env-user              | externalBrokerUser     | env-user              |
      | EVENTBUS_EXTERNAL_BROKER_PASSWORD  | env-secret            | externalBrokerPassword | env-secret            |

  Scenario: EVENTBUS_ENGINE chooses the engine and EVENTBUS_MESSAGE_EVENTS the per-message events
    Given the engine type "recording" is registered
    And the environment variable "EVENTBUS_ENGINE" is "recording"
    And the environment variable "EVENTBUS_MESSAGE_EVENTS" is "true"
    And an application configured with:
      """
      eventbus:
        engine: memory
      """
    When the application is initialised
    Then the "eventbus" configuration section has engine = "recording"
    And the "eventbus" configuration section has messageEvents = "true"
    And the engine factory received workerCount = "5"

  Scenario: The <NAME>_EVENTBUS spelling is read when EVENTBUS_<NAME> is not set
    Given the environment variable "WORKER_COUNT_EVENTBUS" is "9"
    And an application configured with:
      """
      eventbus:
        engine: memory
        workerCount: 2
      """
    When the application is initialised
    Then the engine "default" runs with:
      | setting     | value |
      | workerCount | 9     |

  Scenario: The bare <NAME> is read last, so an unrelated variable can configure the bus
    modular's env feeder falls back to the variable without any prefix, so
    a WORKER_COUNT or ENGINE meant for something else is picked up when
    neither EVENTBUS_<NAME> nor <NAME>_EVENTBUS is set.

    Given the environment variable "WORKER_COUNT" is "6"
    And an application configured with:
      """
      eventbus:
        engine: memory
        workerCount: 2
      """
    When the application is initialised
    Then the engine "default" runs with:
      | setting     | value |
      | workerCount | 6     |

  Scenario: EVENTBUS_<NAME> wins over <NAME>_EVENTBUS
    Given the environment variable "WORKER_COUNT_EVENTBUS" is "9"
    And the environment variable "EVENTBUS_WORKER_COUNT" is "4"
    And an application configured with:
      """
      eventbus:
        engine: memory
        workerCount: 2
      """
    When the application is initialised
    Then the engine "default" runs with:
      | setting     | value |
      | workerCount | 4     |

  Scenario: Another module receives the bus by service name and by interface
    Given an application configured with:
      """
      eventbus:
        engine: memory
      """
    And a module "signups" that requires the event bus by name and by interface
    When the application is started
    Then "signups" received the event bus module as "eventbus.provider"
    And "signups" received the same module through its Publisher interface
    When "signups" subscribes "welcome" to "user.*" through its Publisher interface
    And "signups" publishes the payload "ada" to "user.created" through its Publisher interface
    Then "welcome" receives the payloads "ada" in this order

  Scenario: Start and Stop are idempotent
    Given an observable application configured with:
      """
      eventbus:
        engine: memory
      """
    And the application is started
    When the event bus module is started 3 times
    And the event bus module is stopped 3 times
    Then every one of those calls succeeded
    And the observer saw 1 "bus.started" event
    And the observer saw 1 "bus.stopped" event

  Scenario: Start and Stop may race each other
    Given an application configured with:
      """
      eventbus:
        engine: memory
      """
    And the application is started
    When 8 goroutines start and stop the event bus module 20 times each, all at once
    Then every one of those calls succeeded
    When the event bus module is started 1 time
    And a subscriber "audit" on "order.*"
    And 3 events are published to "order.placed"
    Then "audit" receives 3 events

  Scenario: Subscriptions survive a restart of the bus
    Given an application configured with:
      """
      eventbus:
        engine: memory
      """
    And the application is started
    And a subscriber "audit" on "order.*"
    When the event bus module is stopped and started again
    Then the subscriptions still count 1 on "order.*"
    When 3 events are published to "order.placed"
    Then "audit" receives 3 events

  Scenario Outline: Stopping the application while publishers are running loses nothing (<engine> engine)
    app.Stop() first drains (new publishes are refused with "event bus is
    draining"), then stops the engines, which deliver every event they
    accepted before Stop returns.

    Given an application configured with:
      """
      eventbus:
        engine: <engine>
      """
    And the application is started
    And a subscriber "sink" on "load"
    When 4 publishers publish to "load" as fast as they can
    And 2000 events have been accepted
    And the application is stopped while they publish
    Then every event accepted on "load" had been handled by "sink" when Stop returned
    And every refused publish failed with "event bus is draining" or "event bus not started"
    And the event bus reports 0 dropped events

    Examples:
      | engine  |
      | memory  |
      | sharded |

  Scenario Outline: Using the module before app.Init returns an error instead of panicking
    Given an event bus module that no application initialised
    When it is asked to <operation>
    Then it fails with "eventbus module not initialized: call app.Init first" (ErrNotInitialized)
    And it reports no topics and no subscribers

    Examples:
      | operation |
      | publish   |
      | subscribe |
      | start     |

  Scenario: Publishing before the application started is refused
    Given an application configured with:
      """
      eventbus:
        engine: memory
      """
    And the application is initialised
    When publishing to "user.created" is attempted
    Then it fails with "event bus not started" (ErrEventBusNotStarted)
