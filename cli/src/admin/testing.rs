//! Test helpers for the admin commands: a librdkafka mock cluster with topics, and producing
//! to it. The mock has no admin API, so only `lag`, `replay` and `dlq` run against it.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureRecord};
use rdkafka::util::Timeout;

use iocflow_service::kafka::KafkaConfig;

/// A one-broker mock cluster with `topics` (name, partitions), and a config pointing at it.
pub(crate) fn mock_kafka(
    topics: &[(&str, i32)],
) -> (MockCluster<'static, DefaultProducerContext>, KafkaConfig) {
    let cluster = MockCluster::new(1).unwrap();
    for (name, partitions) in topics {
        cluster.create_topic(name, *partitions, 1).unwrap();
    }
    let kafka: KafkaConfig = toml::from_str(&format!(
        "bootstrap_servers = \"{}\"",
        cluster.bootstrap_servers()
    ))
    .unwrap();
    (cluster, kafka)
}

/// Produces `count` records `v0`, `v1`, ... with keys `k0`, ... to one partition.
pub(crate) async fn produce_values(kafka: &KafkaConfig, topic: &str, partition: i32, count: usize) {
    let producer = kafka.producer("test").unwrap();
    for i in 0..count {
        let (key, value) = (format!("k{i}"), format!("v{i}"));
        producer
            .send(
                FutureRecord::to(topic)
                    .partition(partition)
                    .key(&key)
                    .payload(&value),
                Timeout::Never,
            )
            .await
            .unwrap();
    }
}
