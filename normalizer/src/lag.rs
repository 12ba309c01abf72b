//! The consumer-lag gauge `iocflow_consumer_lag{group,topic,partition}`: every 10 seconds, for
//! each assigned partition, the high watermark minus the group's committed offset (minus the low
//! watermark when nothing is committed yet). The broker queries block, so they run on
//! `spawn_blocking`; gauges of partitions no longer assigned are removed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use iocflow_service::kafka::METADATA_TIMEOUT;
use iocflow_service::metrics::metrics;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Offset;
use tokio_util::sync::CancellationToken;

/// How often the lag is measured.
pub const LAG_INTERVAL: Duration = Duration::from_secs(10);

/// Measures the lag of `consumer`'s assigned partitions until `stop` is cancelled.
pub async fn report_lag(consumer: Arc<StreamConsumer>, group: String, stop: CancellationToken) {
    let mut shown: BTreeSet<(String, i32)> = BTreeSet::new();
    let mut tick = tokio::time::interval(LAG_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let c = Arc::clone(&consumer);
        let measured = match tokio::task::spawn_blocking(move || measure(&c)).await {
            Ok(m) => m,
            Err(_) => continue,
        };
        let gauge = &metrics().consumer_lag;
        let mut now_shown = BTreeSet::new();
        for (topic, partition, lag) in measured {
            gauge
                .with_label_values(&[group.as_str(), topic.as_str(), &partition.to_string()])
                .set(lag);
            now_shown.insert((topic, partition));
        }
        for (topic, partition) in shown.difference(&now_shown) {
            let _ = gauge.remove_label_values(&[group.as_str(), topic, &partition.to_string()]);
        }
        shown = now_shown;
    }
}

/// Lag per assigned partition; partitions whose queries fail are left out this round.
fn measure(consumer: &StreamConsumer) -> Vec<(String, i32, i64)> {
    let Ok(assignment) = consumer.assignment() else {
        return Vec::new();
    };
    if assignment.count() == 0 {
        return Vec::new();
    }
    let Ok(committed) = consumer.committed_offsets(assignment, METADATA_TIMEOUT) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for elem in committed.elements() {
        let Ok((low, high)) =
            consumer.fetch_watermarks(elem.topic(), elem.partition(), METADATA_TIMEOUT)
        else {
            continue;
        };
        let from = match elem.offset() {
            Offset::Offset(o) => o,
            _ => low,
        };
        out.push((
            elem.topic().to_owned(),
            elem.partition(),
            (high - from).max(0),
        ));
    }
    out
}
