Feature: Delivery modes and backpressure of the in-process engines
  Two engines run inside the process: "memory" (a bounded queue and a
  goroutine per subscription) and "sharded" (lock-free rings drained by one
  worker per shard; the fastest). When a subscriber is slower than its
  publishers, the queues fill up and the deliveryMode decides what Publish
  does then:

    block    (the default) wait for room, as long as the publish context
             allows: nothing is lost
    timeout  wait up to publishBlockTimeout, then drop the event
    drop     drop the event at once

  A drop is never silent: Publish returns an error wrapping ErrEventDropped
  ("event dropped: queue full") and the drop is counted in Stats(). The
  scenarios use tiny queues so that one held subscriber fills them.

  Scenario Outline: By default a slow subscriber holds its publisher back and nothing is lost (<engine>)
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: inproc
            type: <engine>
            config: <tiny queue>
      """
    And the application is started
    And a subscriber "slow" on "jobs"
    And "slow" holds every event until it is released
    When 200 events are published to "jobs" in the background
    Then the publisher is still waiting while "slow" is held
    When "slow" is released
    Then the background publisher finishes without an error
    And "slow" receives every event published to "jobs", in publish order
    And the event bus reports 0 dropped events

    Examples:
      | engine  | tiny queue                  |
      | memory  | {defaultEventBufferSize: 4} |
      | sharded | {shards: 1, ringSize: 4}    |

  Scenario Outline: A waiting publisher gives up when its context ends (<engine>)
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: inproc
            type: <engine>
            config: <tiny queue>
      """
    And the application is started
    And a subscriber "slow" on "jobs"
    And "slow" holds every event until it is released
    When events are published to "jobs" with a 150ms deadline each until one fails
    Then the failed publish waited at least 150ms and failed with "context deadline exceeded"
    When "slow" is released
    Then "slow" receives every event published to "jobs", in publish order

    Examples:
      | engine  | tiny queue                  |
      | memory  | {defaultEventBufferSize: 4} |
      | sharded | {shards: 1, ringSize: 4}    |

  Scenario Outline: In drop mode a full queue drops the event at once, and says so (<engine>)
    Given an application configured with:
      """
      eventbus:
        deliveryMode: drop
        engines:
          - name: inproc
            type: <engine>
            config: <tiny queue>
      """
    And the application is started
    And a subscriber "slow" on "jobs"
    And "slow" holds every event until it is released
    When 50 publishes to "jobs" are attempted
    Then some publishes failed with "event dropped: queue full" (ErrEventDropped) and the others succeeded
    And the event bus reports as many dropped events as failed publishes
    When "slow" is released
    Then "slow" receives every event published to "jobs", in publish order

    Examples:
      | engine  | tiny queue                  |
      | memory  | {defaultEventBufferSize: 4} |
      | sharded | {shards: 1, ringSize: 4}    |

  Scenario Outline: In timeout mode a publisher waits publishBlockTimeout before the event is dropped (<engine>)
    Given an application configured with:
      """
      eventbus:
        deliveryMode: timeout
        publishBlockTimeout: 100ms
        engines:
          - name: inproc
            type: <engine>
            config: <tiny queue>
      """
    And the application is started
    And a subscriber "slow" on "jobs"
    And "slow" holds every event until it is released
    When 15 publishes to "jobs" are attempted
    Then some publishes failed with "event dropped: queue full" (ErrEventDropped) and the others succeeded
    And each failed publish took at least 100ms
    And the event bus reports as many dropped events as failed publishes
    When "slow" is released
    Then "slow" receives every event published to "jobs", in publish order

    Examples:
      | engine  | tiny queue                  |
      | memory  | {defaultEventBufferSize: 4} |
      | sharded | {shards: 1, ringSize: 4}    |

  Scenario: The sharded engine's drop-oldest mode makes room by evicting the oldest queued event
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: inproc
            type: sharded
            config: {shards: 1, ringSize: 4, backpressure: drop-oldest}
      """
    And the application is started
    And a subscriber "slow" on "jobs"
    And "slow" holds every event until it is released
    When 50 publishes to "jobs" are attempted
    Then every publish succeeded
    When "slow" is released
    Then "slow" handled fewer than 50 events, the last one "jobs#50"
    And the handled and the dropped events add up to 50

  Scenario Outline: A handler that panics or fails is counted and keeps its subscription (<engine>)
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: inproc
            type: <engine>
      """
    And the application is started
    And a subscriber "fragile" on "orders"
    And "fragile" panics on the payload "boom"
    And "fragile" fails on the payload "bad" with "rejected"
    When the payloads "ok-1", "boom", "bad", "ok-2" are published to "orders"
    Then "fragile" receives the payloads "ok-1", "boom", "bad", "ok-2" in this order
    And the engine "inproc" counted 2 failed handler calls, 1 of them a panic

    Examples:
      | engine  |
      | memory  |
      | sharded |

  Scenario Outline: One publisher's events reach a Subscribe handler in publish order (<engine>)
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: inproc
            type: <engine>
      """
    And the application is started
    And a subscriber "ordered" on "ticks"
    When 1000 events are published to "ticks"
    Then "ordered" receives every event published to "ticks", in publish order

    Examples:
      | engine  |
      | memory  |
      | sharded |

  Scenario Outline: SubscribeAsync runs handlers concurrently, on workerCount workers (<engine>)
    Given an application configured with:
      """
      eventbus:
        workerCount: 3
        engines:
          - name: inproc
            type: <engine>
      """
    And the application is started
    And an async subscriber "parallel" on "jobs"
    And "parallel" holds every event until it is released
    When 10 events are published to "jobs"
    Then 3 calls of "parallel" run at the same time
    When "parallel" is released
    Then "parallel" receives 10 events
    And "parallel" never ran more than 3 calls at once

    Examples:
      | engine  |
      | memory  |
      | sharded |
