Feature: The Kinesis engine against kinesalite
  The "kinesis" engine (aws-sdk-go-v2) sends every topic of the engine to
  one stream, each event a CloudEvent whose partition key picks the shard.
  Each subscription reads the stream as a consumer: by default its own, so
  it sees every event. With an applicationName, the n-th subscription to a
  pattern in every process is the same consumer, and its instances split
  the shards with leases kept in a checkpoint store (Redis, to share them
  between processes). Positions are checkpointed after the handler
  succeeded, so when a process dies its shards are taken over after
  leaseDuration and the events it had not checkpointed are handled again.
  A handler that keeps failing is retried (maxRetries), then its event goes
  to "dlq.<topic>" on the same stream.

  The scenarios run against a private kinesalite (${KINESIS_ENDPOINT}) and,
  for leases, a private redis-server (${REDIS_URL}), both on free
  127.0.0.1 ports; each scenario uses its own stream "features-${UNIQUE}".

  Background:
    Given a kinesalite on a free local port
    And a private redis-server on a free local port

  Scenario: Publish and subscribe through Kinesis
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config:
              endpoint: ${KINESIS_ENDPOINT}
              region: us-east-1
              accessKeyId: local
              secretAccessKey: local
              streamName: features-${UNIQUE}
              createStream: true
              shardCount: 2
              pollInterval: 20ms
      """
    And the application is started
    And a subscriber "orders" on "order.placed"
    And an async subscriber "audit" on "order.*"
    When the application publishes {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme" to "order.placed"
    And 4 events are published to "order.placed"
    Then "orders" receives {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme"
    And "orders" receives 5 events
    And "audit" receives 5 events
    And the engine "stream" has published 5 events

  Scenario: Events published while a consumer is stopped reach it when it starts again
    Given an application "shop" configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "features-${UNIQUE}", createStream: true, shardCount: 2, pollInterval: 20ms}
      """
    And an application "mailer" configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "features-${UNIQUE}", createStream: true, shardCount: 2, pollInterval: 20ms,
                     applicationName: mailer}
      """
    And the application "shop" is started
    And the application "mailer" is started
    And the application "mailer" has a subscriber "mails" on "user.signed-up"
    When the event bus of the application "mailer" is stopped
    And the application "shop" publishes 5 events to "user.signed-up"
    And the event bus of the application "mailer" is started
    Then "mails" receives every event published to "user.signed-up" exactly once

  Scenario: Two processes of one application split the shards, each event going to one of them
    Given an application "billing-1" configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "features-${UNIQUE}", createStream: true, shardCount: 2, pollInterval: 20ms,
                     applicationName: billing, checkpointStore: redis, checkpointRedis: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:"},
                     leaseDuration: 2s, leaseRenewInterval: 100ms, checkpointInterval: 50ms}
      """
    And an application "billing-2" configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "features-${UNIQUE}", createStream: true, shardCount: 2, pollInterval: 20ms,
                     applicationName: billing, checkpointStore: redis, checkpointRedis: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:"},
                     leaseDuration: 2s, leaseRenewInterval: 100ms, checkpointInterval: 50ms}
      """
    And the application "billing-1" is started
    And the application "billing-2" is started
    And the application "billing-1" has a subscriber "first" on "invoice.created"
    And the application "billing-2" has a subscriber "second" on "invoice.created"
    When the application "billing-1" keeps publishing events with distinct keys to "invoice.created" until "first" and "second" have both handled some
    Then every event published to "invoice.created" was handled exactly once, by "first" or by "second"

  Scenario: The shards of a crashed process are taken over after leaseDuration, from its last checkpoint
    Given a separate consumer process configured with the YAML below subscribes to "jobs" and never returns from its handler:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "features-${UNIQUE}", createStream: true, shardCount: 2, pollInterval: 20ms,
                     applicationName: workers, checkpointStore: redis, checkpointRedis: {url: "${REDIS_URL}", keyPrefix: "${UNIQUE}:"},
                     leaseDuration: 1s, leaseRenewInterval: 100ms, checkpointInterval: 50ms}
      """
    And an application "survivor" configured like the separate process
    And the application "survivor" is started
    When the application "survivor" publishes 10 events to "jobs"
    And the separate process has received 1 event
    And the separate process is killed with SIGKILL
    And the application "survivor" has a subscriber "rescuer" on "jobs"
    Then "rescuer" receives every event published to "jobs" exactly once

  Scenario: An event whose handler keeps failing is retried, then dead-lettered with the reason
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "features-${UNIQUE}", createStream: true, shardCount: 1, pollInterval: 20ms,
                     maxRetries: 2, retryBackoff: 10ms, retryBackoffMax: 20ms}
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
    And the engine "stream" counted 1 dead-lettered event and 2 retries

  Scenario: Without createStream, a stream that does not exist fails Start, naming it
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kinesis
            config: {endpoint: "${KINESIS_ENDPOINT}", region: us-east-1, accessKeyId: local, secretAccessKey: local,
                     streamName: "missing-${UNIQUE}"}
      """
    When starting the application "main" is attempted
    Then it fails with "kinesis stream not found: \"missing-${UNIQUE}\" (set createStream to create it with shardCount 1 shards)"
