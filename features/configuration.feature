Feature: Bad configuration is refused at app.Init with a message naming the field and the value
  The event bus checks its whole configuration when the application is
  initialised, before anything runs. Each mistake below makes app.Init fail
  with an error that names the field (with its position in a list) and the
  offending value. The errors wrap sentinels a program can test with
  errors.Is: ErrInvalidConfig, ErrUnknownEngineType, ErrDuplicateEngineName
  and ErrUnknownEngineRef.

  Scenario Outline: <mistake>
    Given an application configured with:
      """
      eventbus: <yaml>
      """
    When initialising the application is attempted
    Then it fails with "<message>" (<sentinel>)

    Examples:
      | mistake                                        | yaml                                                                                              | message                                                                                     | sentinel               |
      | an engine type nobody registered               | {engine: rabbitmq}                                                                                | engine: "rabbitmq": unknown engine type (registered:                                        | ErrUnknownEngineType   |
      | an unknown type in the engine list             | {engines: [{name: a, type: memory}, {name: b, type: rabbitmq}]}                                   | engines[1].type: "rabbitmq": unknown engine type (registered:                               | ErrUnknownEngineType   |
      | two engines with the same name                 | {engines: [{name: a, type: memory}, {name: a, type: memory}]}                                     | engines[1].name: "a": duplicate engine name                                                 | ErrDuplicateEngineName |
      | an engine without a name                       | {engines: [{name: "", type: memory}]}                                                             | engines[0].name: "": must not be empty                                                      | ErrInvalidConfig       |
      | a rule naming an engine that does not exist    | {engines: [{name: a, type: memory}], routing: [{topics: ["x.*"], engine: b}]}                     | routing[0].engine: "b": routing rule references unknown engine                              | ErrUnknownEngineRef    |
      | a rule without topics                          | {engines: [{name: a, type: memory}], routing: [{topics: [], engine: a}]}                          | routing[0].topics: empty: a rule needs at least one topic pattern                           | ErrInvalidConfig       |
      | an empty topic pattern                         | {engines: [{name: a, type: memory}], routing: [{topics: ["x.*", ""], engine: a}]}                 | routing[0].topics[1]: "": must not be empty                                                 | ErrInvalidConfig       |
      | routing rules without an engine list           | {engine: memory, routing: [{topics: ["*"], engine: default}]}                                     | routing: rules need engines: routing is only used in multi-engine mode                      | ErrInvalidConfig       |
      | an unknown delivery mode                       | {deliveryMode: sometimes}                                                                         | deliveryMode: "sometimes": must be one of block, timeout, drop                              | ErrInvalidConfig       |
      | a negative queue size                          | {maxEventQueueSize: -5}                                                                           | maxEventQueueSize: -5: must be between 1 and 1048576                                        | ErrInvalidConfig       |
      | a negative subscription buffer                 | {defaultEventBufferSize: -1}                                                                      | defaultEventBufferSize: -1: must be between 1 and 1048576                                   | ErrInvalidConfig       |
      | a negative worker count                        | {workerCount: -2}                                                                                 | workerCount: -2: must be between 1 and 4096                                                 | ErrInvalidConfig       |
      | a negative retention                           | {retentionDays: -7}                                                                               | retentionDays: -7: must be between 1 and 36500                                              | ErrInvalidConfig       |
      | a negative publish timeout                     | {publishBlockTimeout: -1s}                                                                        | publishBlockTimeout: -1s: must be >= 0                                                      | ErrInvalidConfig       |
      | a negative event TTL                           | {eventTTL: -1m}                                                                                   | eventTTL: -1m0s: must be >= 0                                                               | ErrInvalidConfig       |
      | a typo in an engine's own settings             | {engines: [{name: m, type: memory, config: {wokerCount: 4}}]}                                     | failed to create engine m (memory): memory engine: unknown config key(s) wokerCount (known: | -                      |
      | a bad value in an engine's own settings        | {engines: [{name: m, type: memory, config: {deliveryMode: sometimes}}]}                           | failed to create engine m (memory): memory engine: deliveryMode: "sometimes": must be one of block, timeout, drop | - |
      | a shard count out of range                     | {engines: [{name: s, type: sharded, config: {shards: 5000}}]}                                     | failed to create engine s (sharded): sharded engine: invalid config: shards: 5000: must be between 1 and 1024 | - |
      | a ring size out of range in single-engine mode | {engineConfig: {ringSize: -5}}                                                                    | failed to create engine default (sharded): sharded engine: invalid config: ringSize: -5: must be between 2 and 4194304 | - |
      | a typo in the single engine's own settings     | {engine: memory, engineConfig: {ringSize: 4096}}                                                  | failed to create engine default (memory): memory engine: unknown config key(s) ringSize (known: | - |
      | engineConfig together with an engine list      | {engineConfig: {shards: 2}, engines: [{name: s, type: sharded}]}                                  | engineConfig: only used in single-engine mode                                               | ErrInvalidConfig       |
      | an unknown sharded backpressure mode           | {engines: [{name: s, type: sharded, config: {backpressure: sometimes}}]}                          | sharded engine: invalid config: backpressure: "sometimes": must be one of block, timeout, drop-newest, drop-oldest | -                      |
      | a redis URL that is not one                    | {engines: [{name: r, type: redis, config: {url: "http://127.0.0.1:1"}}]}                          | failed to create engine r (redis): redis engine: invalid redis engine config: invalid option: url: http://127.0.0.1:1: redis: invalid URL scheme: http | -                      |
      | a redis stale-group timeout too short           | {engines: [{name: r, type: redis, config: {staleGroupTimeout: 10s}}]}                             | failed to create engine r (redis): redis engine: invalid redis engine config: invalid option: staleGroupTimeout: 10s: must be 0 (off) or at least twice claimTimeout (30s) and twice blockTimeout (2s) | - |
      | a kafka engine without brokers                 | {engines: [{name: k, type: kafka}]}                                                               | failed to create engine k (kafka): kafka engine: invalid kafka config: brokers: []: at least one broker is required (or set externalBrokerURL) | - |
      | a kafka broker address without a port          | {engines: [{name: k, type: kafka, config: {brokers: ["localhost"]}}]}                             | brokers[0]: "localhost": want host:port                                                     | -                      |
      | a duration written as a bare number            | {publishBlockTimeout: 250}                                                                        | eventbus.publishBlockTimeout: 250: a duration needs a unit                                  | ErrInvalidConfig       |
      | a queue size that would exhaust memory         | {maxEventQueueSize: 1000000000}                                                                   | maxEventQueueSize: 1000000000: must be between 1 and 1048576                                | ErrInvalidConfig       |
      | a worker count that would exhaust memory       | {workerCount: 9223372036854775807}                                                                | workerCount: 9223372036854775807: must be between 1 and 4096                                | ErrInvalidConfig       |
      | a fraction for a count                         | {workerCount: 2.5}                                                                                | eventbus.workerCount: 2.5: want an integer                                                  | ErrInvalidConfig       |
      | a typo in the eventbus section                 | {engine: memory, wrokerCount: 9}                                                                  | eventbus: unknown config key(s) wrokerCount (known:                                         | ErrInvalidConfig       |
      | a duration without a unit in an engine         | {engines: [{name: r, type: redis, config: {claimTimeout: 30}}]}                                   | claimTimeout: 30: a duration needs a unit                                                   | -                      |
      | an engine queue that would exhaust memory      | {engines: [{name: m, type: memory, config: {defaultEventBufferSize: 1000000000}}]}                | defaultEventBufferSize: 1000000000: must be between 1 and 1048576                           | -                      |

  Scenario Outline: An invalid value in <variable> is refused too
    Given the environment variable "<variable>" is "<value>"
    And an application configured with:
      """
      eventbus: {engine: memory}
      """
    When initialising the application is attempted
    Then it fails with "<message>"

    Examples:
      | variable                       | value     | message                                                        |
      | EVENTBUS_WORKER_COUNT          | -1        | workerCount: -1: must be between 1 and 4096                    |
      | EVENTBUS_DELIVERY_MODE         | sometimes | deliveryMode: "sometimes": must be one of block, timeout, drop |
      | EVENTBUS_ENGINE                | rabbitmq  | engine: "rabbitmq": unknown engine type                        |
      | EVENTBUS_PUBLISH_BLOCK_TIMEOUT | 3000      | missing unit in duration "3000"                                |

  Scenario: The error lists the engine types that are registered
    Given an application configured with:
      """
      eventbus: {engine: rabbitmq}
      """
    When initialising the application is attempted
    Then the error lists the registered engine types, among them "kafka", "memory", "redis" and "sharded"

  Scenario Outline: Misuse at run time is refused with a clear error: <misuse>
    Given an application configured with:
      """
      eventbus: {engine: memory}
      """
    And the application is started
    When <action>
    Then it fails with "<message>" (<sentinel>)

    Examples:
      | misuse                         | action                                                 | message                            | sentinel           |
      | publishing to a wildcard       | publishing to "order.*" is attempted                   | cannot publish to a wildcard topic | ErrWildcardPublish |
      | publishing without a topic     | publishing to "" is attempted                          | topic cannot be empty              | ErrEmptyTopic      |
      | subscribing without a topic    | subscribing to "" is attempted                         | topic cannot be empty              | ErrEmptyTopic      |
      | subscribing without a handler  | subscribing to "order.*" without a handler is attempted | event handler cannot be nil       | ErrEventHandlerNil |
      | publishing during shutdown     | the application begins to shut down and publishing to "order.placed" is attempted | event bus is draining | ErrDraining |
      | publishing after Stop          | the event bus module is stopped and publishing to "order.placed" is attempted | event bus not started | ErrEventBusNotStarted |
