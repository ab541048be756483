Feature: Routing topics to several engines
  In multi-engine mode the "eventbus" section lists named engines and
  routing rules. A topic goes to the engine of the first rule (in the order
  written) that has a pattern matching it; a topic that no rule matches
  goes to the first engine listed, the default engine.

  A pattern is an exact topic, a prefix ending in "*" ("order.*" matches
  "order.placed" and "order.eu.shipped", but not "orders"), or "*" alone,
  which matches every topic. Subscriptions are routed by their pattern, as
  if it were a topic.

  Background:
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: general        # first: the default engine
            type: memory
          - name: fast
            type: sharded
          - name: audit
            type: memory
        routing:
          - topics: ["user.*", "auth.login"]
            engine: fast
          - topics: ["user.deleted"]   # never used: "user.*" above matches first
            engine: audit
          - topics: ["audit.*"]
            engine: audit
      """
    And the application is started

  Scenario Outline: A topic goes to the engine of the first rule that matches it
    Then the topic "<topic>" is routed to the engine "<engine>"

    Examples:
      | topic          | engine  | why                                       |
      | user.created   | fast    | "user.*" matches                          |
      | user.deleted   | fast    | "user.*" comes before "user.deleted"      |
      | user.eu.moved  | fast    | a prefix pattern spans several levels     |
      | auth.login     | fast    | exact pattern                             |
      | auth.logout    | general | no rule: the default engine               |
      | users.created  | general | "user.*" needs the dot                    |
      | audit.login    | audit   | "audit.*" matches                         |
      | billing.closed | general | no rule: the default engine               |

  Scenario: The engines are listed in the order of the configuration
    Then the engines are "general", "fast" and "audit"

  Scenario: Each event is delivered by the engine its topic routes to
    Given a subscriber "users" on "user.created"
    And a subscriber "billing" on "billing.closed"
    And a subscriber "logins" on "audit.login"
    When 3 events are published to "user.created"
    And 2 events are published to "billing.closed"
    And 1 event is published to "audit.login"
    Then "users" receives 3 events
    And "billing" receives 2 events
    And "logins" receives 1 event
    And the engine "fast" has delivered 3 events
    And the engine "general" has delivered 2 events
    And the engine "audit" has delivered 1 event

  Scenario: A wildcard subscription lives on the engine its pattern routes to
    "*" matches no rule here, so it lives on the default engine and sees
    only the topics routed there.

    Given a subscriber "everything" on "*"
    And a subscriber "users" on "user.created"
    When 2 events are published to "billing.closed"
    And 2 events are published to "user.created"
    Then "users" receives 2 events
    And "everything" receives the payloads "billing.closed#1", "billing.closed#2" in this order

  Scenario: Topics and subscriber counts span every engine
    Given a subscriber "a" on "user.*"
    And a subscriber "b" on "user.*"
    And a subscriber "c" on "billing.closed"
    And a subscriber "d" on "audit.*"
    Then the bus lists the topics "audit.*", "billing.closed" and "user.*"
    And "user.*" has 2 subscribers
    When the subscription of "a" is cancelled
    Then "user.*" has 1 subscriber

  Scenario: A "*" rule catches every topic the rules before it did not match
    Given an application "catch-all" configured with:
      """
      eventbus:
        engines:
          - name: primary
            type: memory
          - name: rest
            type: memory
        routing:
          - topics: ["user.*"]
            engine: primary
          - topics: ["*"]
            engine: rest
      """
    When the application "catch-all" is started
    Then in the application "catch-all" the topic "user.created" is routed to the engine "primary"
    And in the application "catch-all" the topic "order.placed" is routed to the engine "rest"
    And in the application "catch-all" the topic "x" is routed to the engine "rest"

  Scenario: In single-engine mode every topic goes to the engine named "default"
    Given an application "single" configured with:
      """
      eventbus:
        engine: sharded
      """
    When the application "single" is started
    Then in the application "single" the topic "anything.at.all" is routed to the engine "default"

  Scenario: An engine whose publishes fail does not stop delivery on the others
    Given the engine type "faulty" is registered
    And an application "mixed" configured with:
      """
      eventbus:
        engines:
          - name: healthy
            type: memory
          - name: broken
            type: faulty
            config:
              failOn: publish
              failWith: disk full
        routing:
          - topics: ["payment.*"]
            engine: broken
      """
    And the application "mixed" is started
    And the application "mixed" has a subscriber "orders" on "order.placed"
    And the application "mixed" has a subscriber "payments" on "payment.*"
    When the application "mixed" tries to publish 5 events to "payment.captured"
    Then all 5 publishes failed with "disk full"
    When the application "mixed" publishes 5 events to "order.placed"
    Then "orders" receives 5 events
    And "payments" receives no events

  Scenario: A failing handler on one engine does not affect another engine
    Given a subscriber "fragile" on "user.created"
    And "fragile" fails on every payload with "boom"
    And a subscriber "steady" on "billing.closed"
    When 3 events are published to "user.created"
    And 3 events are published to "billing.closed"
    Then "fragile" receives 3 events
    And "steady" receives 3 events
    And the engine "fast" counted 3 failed handler calls
    And the engine "general" counted 0 failed handler calls

  Scenario: An engine that cannot start is named in the error, and the engines already started are stopped again
    Given the engine type "faulty" is registered
    And an application "unstartable" configured with:
      """
      eventbus:
        engines:
          - name: first
            type: memory
          - name: second
            type: faulty
            config:
              failOn: start
              failWith: connection refused
      """
    When starting the application "unstartable" is attempted
    Then it fails with "start engine \"second\" (faulty): faulty engine: connection refused"
    And in the application "unstartable" the engine "first" is stopped

  Scenario: An engine that fails to stop does not keep the others from delivering what they accepted
    Given the engine type "faulty" is registered
    And an application "stubborn" configured with:
      """
      eventbus:
        engines:
          - name: good
            type: memory
          - name: bad
            type: faulty
            config:
              failOn: stop
              failWith: socket stuck
        routing:
          - topics: ["bad.*"]
            engine: bad
      """
    And the application "stubborn" is started
    And the application "stubborn" has a subscriber "slow" on "jobs"
    And "slow" takes 2ms per event
    When the application "stubborn" publishes 50 events to "jobs"
    And stopping the application "stubborn" is attempted
    Then it fails with "stop engine \"bad\" (faulty): faulty engine: socket stuck"

    And "slow" had received 50 events when Stop returned
