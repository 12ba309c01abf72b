//! The demo's broker: by default librdkafka's in-memory mock cluster (`MockCluster`) running
//! inside the `iocflow` process, or an existing Kafka-protocol broker given with
//! `--bootstrap-servers`. Either way the five iocflow topics exist before the stages start.
//!
//! The mock cluster is a development broker: data lives in memory only, it has no admin API and
//! no compaction, and it keeps roughly 5 MiB per partition. It listens on loopback TCP, so the
//! child processes reach it like a real broker. It holds raw librdkafka pointers, so it lives on
//! its own thread and the rest of the demo only sees its address.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::types::RDKafkaErrorCode;

use iocflow_service::kafka::TopicNames;

/// Partitions of the raw and indicators topics (the dead-letter and state topics get one).
const DATA_PARTITIONS: i32 = 3;

/// A topic the demo needs, with its partitions and configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    /// Topic name.
    pub name: String,
    /// Partition count.
    pub partitions: i32,
    /// Topic configs (only honoured by a real broker).
    pub configs: Vec<(&'static str, &'static str)>,
}

/// The five topics of a pipeline with these names.
pub fn topic_plan(topics: &TopicNames) -> Vec<TopicPlan> {
    let plain = |name: &str, partitions| TopicPlan {
        name: name.to_string(),
        partitions,
        configs: Vec::new(),
    };
    vec![
        plain(&topics.raw, DATA_PARTITIONS),
        plain(&topics.indicators, DATA_PARTITIONS),
        plain(&topics.dlq_normalize, 1),
        plain(&topics.dlq_submit, 1),
        TopicPlan {
            name: topics.fetch_state.clone(),
            partitions: 1,
            configs: vec![("cleanup.policy", "compact")],
        },
    ]
}

/// The broker the demo runs against.
#[derive(Debug)]
pub enum DemoBroker {
    /// The in-memory mock cluster on its own thread.
    Embedded {
        /// Its bootstrap servers.
        bootstrap_servers: String,
        /// Dropping (or sending on) this stops the thread, which drops the cluster.
        stop_tx: mpsc::Sender<()>,
        /// The thread owning the cluster.
        thread: Option<JoinHandle<()>>,
    },
    /// An existing broker.
    External {
        /// Its bootstrap servers.
        bootstrap_servers: String,
    },
}

impl DemoBroker {
    /// Starts the in-memory development broker with the topics created.
    ///
    /// # Errors
    /// librdkafka cannot create the mock cluster or a topic.
    pub fn start_embedded(topics: &[TopicPlan]) -> anyhow::Result<DemoBroker> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let plan = topics.to_vec();

        let thread = std::thread::Builder::new()
            .name("demo-broker".into())
            .spawn(move || {
                let cluster = match MockCluster::new(1) {
                    Ok(c) => c,
                    Err(e) => {
                        drop(ready_tx.send(Err(format!("cannot start the mock cluster: {e}"))));
                        return;
                    }
                };
                for t in &plan {
                    if let Err(e) = cluster.create_topic(&t.name, t.partitions, 1) {
                        drop(ready_tx.send(Err(format!("cannot create topic {}: {e}", t.name))));
                        return;
                    }
                }
                drop(ready_tx.send(Ok(cluster.bootstrap_servers())));
                // Blocks until the demo sends or drops its end; then the cluster is dropped.
                let _ = stop_rx.recv();
                drop(cluster);
            })
            .context("cannot start the broker thread")?;

        let bootstrap_servers = ready_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("the broker thread ended before it was ready"))?
            .map_err(|e| anyhow::anyhow!(e))?;
        Ok(DemoBroker::Embedded {
            bootstrap_servers,
            stop_tx,
            thread: Some(thread),
        })
    }

    /// Uses an existing broker, creating the topics that are missing ("already exists" is fine).
    ///
    /// # Errors
    /// The admin client cannot be created or a topic cannot be created for another reason.
    pub async fn connect_external(
        bootstrap_servers: &str,
        topics: &[TopicPlan],
    ) -> anyhow::Result<DemoBroker> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", bootstrap_servers)
            .set("client.id", "iocflow-demo")
            .create()
            .context("cannot create a Kafka admin client")?;
        let new_topics: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|t| {
                let mut n = NewTopic::new(&t.name, t.partitions, TopicReplication::Fixed(1));
                for (k, v) in &t.configs {
                    n = n.set(k, v);
                }
                n
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = admin
            .create_topics(new_topics.iter(), &options)
            .await
            .with_context(|| format!("cannot create topics on {bootstrap_servers}"))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => anyhow::bail!("cannot create topic {topic}: {code}"),
            }
        }
        Ok(DemoBroker::External {
            bootstrap_servers: bootstrap_servers.to_string(),
        })
    }

    /// The bootstrap servers the stages connect to.
    pub fn bootstrap_servers(&self) -> &str {
        match self {
            DemoBroker::Embedded {
                bootstrap_servers, ..
            }
            | DemoBroker::External { bootstrap_servers } => bootstrap_servers,
        }
    }

    /// How the broker is described to the user.
    pub fn describe(&self) -> String {
        match self {
            DemoBroker::Embedded {
                bootstrap_servers, ..
            } => format!(
                "embedded in-memory development broker (librdkafka mock cluster) at \
                 {bootstrap_servers}; its data is gone when the demo ends"
            ),
            DemoBroker::External { bootstrap_servers } => {
                format!("existing broker at {bootstrap_servers}")
            }
        }
    }

    /// Stops the embedded broker (nothing for an external one).
    pub fn stop(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        if let DemoBroker::Embedded {
            stop_tx, thread, ..
        } = self
        {
            let _ = stop_tx.send(());
            if let Some(t) = thread.take() {
                drop(t.join());
            }
        }
    }
}

impl Drop for DemoBroker {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_has_five_topics_with_a_compacted_state_topic() {
        let plan = topic_plan(&TopicNames::default());
        assert_eq!(plan.len(), 5);
        let state = plan
            .iter()
            .find(|t| t.name == "iocflow.fetch-state")
            .unwrap();
        assert_eq!(state.configs, vec![("cleanup.policy", "compact")]);
    }

    #[test]
    fn embedded_broker_starts_and_stops() {
        let broker = DemoBroker::start_embedded(&topic_plan(&TopicNames::default())).unwrap();
        assert!(broker.bootstrap_servers().contains(':'));
        assert!(broker.describe().contains("in-memory"));
        broker.stop();
    }
}
