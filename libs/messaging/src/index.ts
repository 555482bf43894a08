// Messaging: the service's ports to a message broker and their Kafka (kafkajs) adapters. kafkajs
// stays inside this lib so that another client can replace it.
export * from './record-publisher.js';
export * from './kafkajs-publisher.js';
export * from './record-consumer.js';
export * from './kafkajs-consumer.js';
