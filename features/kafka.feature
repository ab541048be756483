Feature: The Kafka engine against a real Kafka protocol broker
  The "kafka" engine (IBM/sarama) writes each event as one Kafka record, a
  CloudEvent whose key is the event's partition key, so one key's events
  stay in order on one partition. Every subscription is a consumer-group
  member: without a groupId each subscription has its own group and sees
  every event; subscriptions sharing a groupId split the partitions
  between them. Offsets are committed after the handler succeeded, so a
  member that dies has its uncommitted events handled again by the member
  that takes over its partitions. A handler that keeps failing is retried
  (maxRetries), then its event goes to the topic "dlq.<topic>".

  The broker is kfake, an in-process broker that speaks the Kafka wire
  protocol, on a free 127.0.0.1 port (${KAFKA_BROKERS}); no Apache Kafka
  broker can be installed where these scenarios run. ${UNIQUE} is a
  prefix unique to each scenario.

  Background:
    Given a Kafka broker (kfake) on a free local port

  Scenario: Publish and subscribe through Kafka
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kafka
            config:
              brokers: ["${KAFKA_BROKERS}"]
              autoCreateTopics: true
              topicPartitions: 2
      """
    And the application is started
    And a subscriber "orders" on "order.placed"
    When the application publishes {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme" to "order.placed"
    And 4 events are published to "order.placed"
    Then "orders" receives {"id": 7, "items": ["book", "pen"]} with metadata tenant = "acme"
    And "orders" receives 5 events
    And Kafka holds 5 records in the topic "order.placed"

  Scenario: Two members of one group split the partitions, each event going to one of them
    Given an application "billing-1" configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kafka
            config:
              brokers: ["${KAFKA_BROKERS}"]
              autoCreateTopics: true
              topicPartitions: 2
              groupId: billing-${UNIQUE}
              consumer: {sessionTimeout: 1s, heartbeatInterval: 100ms}
      """
    And an application "billing-2" configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kafka
            config:
              brokers: ["${KAFKA_BROKERS}"]
              autoCreateTopics: true
              topicPartitions: 2
              groupId: billing-${UNIQUE}
              consumer: {sessionTimeout: 1s, heartbeatInterval: 100ms}
      """
    And the application "billing-1" is started
    And the application "billing-2" is started
    And the application "billing-1" has a subscriber "first" on "invoice.created.${UNIQUE}"
    And the application "billing-2" has a subscriber "second" on "invoice.created.${UNIQUE}"
    When the application "billing-1" keeps publishing events with distinct keys to "invoice.created.${UNIQUE}" until "first" and "second" have both handled some
    Then every event published to "invoice.created.${UNIQUE}" was handled exactly once, by "first" or by "second"

  Scenario: Events a crashed member had not committed are handled by the member that takes over
    Given a separate consumer process configured with the YAML below subscribes to "jobs.${UNIQUE}" and never returns from its handler:
      """
      eventbus:
        engines:
          - name: stream
            type: kafka
            config:
              brokers: ["${KAFKA_BROKERS}"]
              autoCreateTopics: true
              topicPartitions: 2
              groupId: workers-${UNIQUE}
              consumer: {sessionTimeout: 1s, heartbeatInterval: 100ms}
      """
    And an application "survivor" configured like the separate process
    And the application "survivor" is started
    When the application "survivor" publishes 10 events to "jobs.${UNIQUE}"
    And the separate process has received 1 event
    And the separate process is killed with SIGKILL
    And the application "survivor" has a subscriber "rescuer" on "jobs.${UNIQUE}"
    Then "rescuer" receives every event published to "jobs.${UNIQUE}" exactly once

  Scenario: An event whose handler keeps failing is retried, then dead-lettered with the reason
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kafka
            config:
              brokers: ["${KAFKA_BROKERS}"]
              autoCreateTopics: true
              topicPartitions: 2
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
    And the engine "stream" counted 1 dead-lettered event and 2 retries

  Scenario: Without autoCreateTopics, publishing to a topic that does not exist fails, naming it
    Given an application configured with:
      """
      eventbus:
        engines:
          - name: stream
            type: kafka
            config:
              brokers: ["${KAFKA_BROKERS}"]
      """
    And the application is started
    When publishing to "missing.${UNIQUE}" is attempted
    Then it fails with "kafka engine: publish topic \"missing.${UNIQUE}\": kafka topic does not exist (create it, or set autoCreateTopics: true)"
