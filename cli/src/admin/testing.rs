//! Test helpers for the admin commands: a librdkafka mock cluster with topics, an opt-in real
//! broker (`IOCFLOW_TEST_BOOTSTRAP_SERVERS`, e.g. a local Tansu), and producing to either.
//! The mock has no admin API, so only `lag`, `replay` and `dlq` run against it.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureRecord};
use rdkafka::util::Timeout;

use iocflow_service::kafka::KafkaConfig;

use crate::admin::connection;

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

/// A topic name no other test run uses.
pub(crate) fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("test.{prefix}.{}.{nanos}", std::process::id())
}

/// The broker named by `IOCFLOW_TEST_BOOTSTRAP_SERVERS` with `topics` created, or `None`
/// (the test is then skipped) when the variable is unset.
pub(crate) async fn broker_kafka(topics: &[(&str, i32)]) -> Option<KafkaConfig> {
    let servers = std::env::var("IOCFLOW_TEST_BOOTSTRAP_SERVERS").ok()?;
    let kafka: KafkaConfig = toml::from_str(&format!("bootstrap_servers = \"{servers}\"")).unwrap();
    let admin = connection::admin_client(&kafka).unwrap();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| NewTopic::new(name, *partitions, TopicReplication::Fixed(1)))
        .collect();
    for result in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .unwrap()
    {
        result.unwrap();
    }

    // Wait until metadata shows every partition.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let metadata = connection::cluster_metadata(admin.inner()).unwrap();
        let ready = topics.iter().all(|(name, partitions)| {
            connection::topic_partitions(&metadata, name)
                .is_some_and(|p| p.len() == *partitions as usize)
        });
        if ready {
            return Some(kafka);
        }
        assert!(
            Instant::now() < deadline,
            "topics {topics:?} never appeared"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
