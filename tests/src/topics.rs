//! Unique topic and consumer-group names per test, and creating them through the admin API.
//!
//! Every test gets its own names (a random suffix), so tests sharing a broker never see each
//! other's records or offsets. The fetch-state topic is created compacted, as in production.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use crate::{HarnessError, Result};

/// Topic and group names of one test.
#[derive(Debug, Clone)]
pub struct TestTopics {
    /// Raw records.
    pub raw: String,
    /// Normalized indicators.
    pub indicators: String,
    /// Normalizer dead letters.
    pub dlq_normalize: String,
    /// Submitter dead letters.
    pub dlq_submit: String,
    /// Compacted fetch state.
    pub fetch_state: String,
    /// Normalizer consumer group.
    pub normalizer_group: String,
    /// Submitter consumer group.
    pub submitter_group: String,
}

impl TestTopics {
    /// Fresh names: `t-<test>-<random>.raw` and so on.
    pub fn unique(test: &str) -> TestTopics {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let base = format!("t-{test}-{}", &id[..12]);
        TestTopics {
            raw: format!("{base}.raw"),
            indicators: format!("{base}.indicators"),
            dlq_normalize: format!("{base}.dlq.normalize"),
            dlq_submit: format!("{base}.dlq.submit"),
            fetch_state: format!("{base}.fetch-state"),
            normalizer_group: format!("{base}.normalizer"),
            submitter_group: format!("{base}.submitter"),
        }
    }

    /// The `[kafka]` section every binary's config shares.
    pub fn kafka_toml(&self, bootstrap: &str) -> String {
        format!(
            "[kafka]\nbootstrap_servers = \"{bootstrap}\"\n\n[kafka.topics]\nraw = \"{}\"\n\
             indicators = \"{}\"\ndlq_normalize = \"{}\"\ndlq_submit = \"{}\"\n\
             fetch_state = \"{}\"\n",
            self.raw, self.indicators, self.dlq_normalize, self.dlq_submit, self.fetch_state
        )
    }

    /// Creates the five topics: data topics with `partitions` partitions, the fetch-state
    /// topic with one partition and `cleanup.policy=compact`.
    ///
    /// # Errors
    /// [`HarnessError::Kafka`] when the admin request fails or a topic cannot be created
    /// (an existing topic is fine).
    pub async fn create(&self, bootstrap: &str, partitions: i32) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()
            .map_err(HarnessError::kafka("create an admin client"))?;
        let data = [
            &self.raw,
            &self.indicators,
            &self.dlq_normalize,
            &self.dlq_submit,
        ];
        let mut topics: Vec<NewTopic<'_>> = data
            .iter()
            .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
            .collect();
        topics.push(
            NewTopic::new(&self.fetch_state, 1, TopicReplication::Fixed(1))
                .set("cleanup.policy", "compact"),
        );
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = admin
            .create_topics(&topics, &options)
            .await
            .map_err(HarnessError::kafka("create topics"))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(HarnessError::Invalid(format!(
                        "cannot create topic {topic}: {code}"
                    )))
                }
            }
        }
        Ok(())
    }
}
