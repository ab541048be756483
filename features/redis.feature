Feature: The Redis Streams engine against a real redis-server
  The "redis" engine stores each topic as a Redis stream (key prefix +
  topic) and reads it through consumer groups. Without a "group" every
  subscription has a private group and sees every event; subscriptions that
  share a "group" (in one process or several) compete, each event going to
  one of them. Delivery is at-least-once: an event is acknowledged after
  its handler succeeded; a consumer that dies leaves its events pending,
  and another consumer of the group claims them after claimTimeout. A
  handler that keeps failing is retried (maxRetries), then its event goes
  to the dead-letter topic "dlq.<topic>".

  These scenarios run against a private redis-server on a free 127.0.0.1
  port; ${REDIS_URL} is its address and ${UNIQUE} a prefix unique to each
  scenario.

  Background:
    Given a private redis-server on a free local port

  Scenario: A single Redis engine configured from EVENTBUS_EXTERNAL_BROKER_URL
    Payloads travel as JSON, so a handler receives the decoded JSON value;
    metadata travels with the event.

    Given the environment variable "EVENTBUS_EXTERNAL_BROKER_URL" is "${REDIS_URL}"
    And an application configured with:
      """
      eventbus:
        engine: redis
      """
    And the application is started
    And a subscriber "orders" on "order.placed"
    And an async subscriber "audit" on "order.*"
    When the application publishes {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme" to "order.placed"
    Then "orders" receives {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme"
    And "audit" receives {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme"
    And Redis holds 1 entry in the stream "switchyard:order.placed"

  Scenario: Events published while a consumer is stopped reach it when it starts again
    Given an application "shop" configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:"}
      """
    And an application "mailer" configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:", group: mailer}
      """
    And the application "shop" is started
    And the application "mailer" is started
    And the application "mailer" has a subscriber "mails" on "user.signed-up"
    When the event bus of the application "mailer" is stopped
    And the application "shop" publishes 5 events to "user.signed-up"
    And the event bus of the application "mailer" is started
    Then "mails" receives every event published to "user.signed-up" exactly once

  Scenario: Two consumers of one group share the events, each event going to one of them
    Given an application "billing-1" configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:", group: billing, readCount: 1}
      """
    And an application "billing-2" configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:", group: billing, readCount: 1}
      """
    And the application "billing-1" is started
    And the application "billing-2" is started
    And the application "billing-1" has a subscriber "first" on "invoice.created"
    And the application "billing-2" has a subscriber "second" on "invoice.created"
    And "first" takes 5ms per event
    And "second" takes 5ms per event
    When the application "billing-1" keeps publishing events with distinct keys to "invoice.created" until "first" and "second" have both handled some
    And the application "billing-2" publishes 20 events to "invoice.created"
    Then every event published to "invoice.created" was handled exactly once, by "first" or by "second"

  Scenario: Events a crashed consumer had taken are claimed by another consumer of its group
    Given a separate consumer process configured with the YAML below subscribes to "jobs" and never returns from its handler:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config:
              url: ${REDIS_URL}
              keyPrefix: "${UNIQUE}:"
              group: workers
              claimTimeout: 1s
              claimInterval: 100ms
      """
    And an application "survivor" configured like the separate process
    And the application "survivor" is started
    When the application "survivor" publishes 10 events to "jobs"
    And the separate process has received 1 event
    And the separate process is killed with SIGKILL
    And the application "survivor" has a subscriber "rescuer" on "jobs"
    Then "rescuer" receives every event published to "jobs" exactly once
    And the events the killed process had received reach "rescuer" marked as redelivered

  Scenario: An event whose handler keeps failing is retried, then dead-lettered with the reason
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config:
              url: ${REDIS_URL}
              keyPrefix: "${UNIQUE}:"
              maxRetries: 2
              retryBackoff: 10ms
              retryBackoffMax: 20ms
      """
    And the application is started
    And a subscriber "payments" on "payment.captured"
    And "payments" fails on every payload with "card declined"
    And a subscriber "dead-letters" on "dlq.payment.captured"
    When 1 event is published to "payment.captured"
    Then "dead-letters" receives 1 event
    And "dead-letters" received a dead letter with deadLetterReason = "card declined"
    And "dead-letters" received a dead letter with deadLetterAttempts = "3"
    And "dead-letters" received a dead letter with deadLetterTopic = "payment.captured"
    And "payments" receives 3 events
    And the engine "durable" counted 1 dead-lettered event and 2 retries

  Scenario: Starting without a reachable redis-server fails, naming the engine and the address
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config: {url: "redis://127.0.0.1:1/0"}
      """
    When starting the application "main" is attempted
    Then it fails with "start engine \"durable\" (redis): redis engine: start: redis unreachable at redis://127.0.0.1:1/0"

  Scenario: Handler failures on Redis reach the application's observers as message.failed
    Given an observable application configured with:
      """
      eventbus:
        engines:
          - name: durable
            type: redis
            config: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:", maxRetries: -1}
      """
    And the application is started
    And a subscriber "payments" on "payment.captured"
    And "payments" fails on every payload with "card declined"
    And a subscriber "dead-letters" on "dlq.payment.captured"
    When 1 event is published to "payment.captured"
    Then "dead-letters" receives 1 event
    And the observer saw 1 "message.failed" event
    And the "message.failed" event carries:
      | key    | value            |
      | topic  | payment.captured |
      | engine | durable          |
      | stage  | handle           |
      | error  | card declined    |
