//! `/metrics`: the bus's and the node's figures in the Prometheus text format.
//!
//! Each scrape takes one [`Bus::metrics`](ringbus_ring::Bus::metrics) snapshot (Relaxed
//! loads of each cursor and the membership lock, which the producer takes only after it
//! waited on a full ring) and one [`NodeStatus`](crate::NodeStatus) snapshot, and encodes
//! them with `prometheus-client`: nothing is counted on the producer's path for it.

use crate::state::LiveState;
use crate::status::{kind_name, shown, NodeSnapshot};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use ringbus_ring::{ConsumerState, Metrics};

/// The content type of the Prometheus text format (OpenMetrics flavour, as encoded).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The states a consumer can be in, each a series of `ringbus_consumer_state`.
const STATES: [ConsumerState; 5] = [
    ConsumerState::Running,
    ConsumerState::Detached,
    ConsumerState::Failed,
    ConsumerState::Finished,
    ConsumerState::Left,
];

/// One scrape's figures.
#[derive(Debug)]
struct Scrape {
    bus: Metrics,
    node: NodeSnapshot,
    clients: u64,
}

type Labels = Vec<(&'static str, String)>;

impl Scrape {
    /// The label set of each consumer shown: its name and kind; a name shown twice (a
    /// departed consumer and the present one) is told apart by a `#n` suffix.
    fn consumers(&self) -> Vec<(Labels, &ringbus_ring::ConsumerMetrics)> {
        let mut seen: std::collections::HashMap<&str, usize> = Default::default();
        self.bus
            .consumers
            .iter()
            .filter(|c| shown(c))
            .map(|c| {
                let n = seen.entry(c.name.as_str()).or_default();
                *n += 1;
                let name = if *n == 1 {
                    c.name.clone()
                } else {
                    format!("{}#{n}", c.name)
                };
                (
                    vec![("consumer", name), ("kind", kind_name(c.kind).into())],
                    c,
                )
            })
            .collect()
    }
}

fn counter(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    v: u64,
) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, unit, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: i64) -> std::fmt::Result {
    let g = ConstGauge::new(v);
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

/// A family of series, one per label set.
fn family<M: EncodeMetric>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: impl IntoIterator<Item = (Labels, M)>,
    metric_type: prometheus_client::metrics::MetricType,
) -> std::fmt::Result {
    let mut family = e.encode_descriptor(name, help, unit, metric_type)?;
    for (labels, metric) in series {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn as_gauge(v: u64) -> ConstGauge {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

impl Collector for Scrape {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> std::fmt::Result {
        use prometheus_client::metrics::MetricType::{Counter, Gauge};
        let p = &self.bus.producer;
        counter(
            &mut e,
            "events_published",
            "Events published on the bus (the next event's sequence).",
            None,
            p.published,
        )?;
        counter(
            &mut e,
            "producer_waits",
            "Times the producer found the ring full and waited.",
            None,
            p.waits,
        )?;
        let wait_secs = ConstCounter::new(p.wait_ns as f64 / 1e9);
        wait_secs.encode(e.encode_descriptor(
            "producer_wait",
            "Time the producer waited for ring space.",
            Some(&Unit::Seconds),
            wait_secs.metric_type(),
        )?)?;
        counter(
            &mut e,
            "taps_detached",
            "Lossy taps the producer detached for lagging.",
            None,
            p.detached_taps,
        )?;
        gauge(
            &mut e,
            "ring_capacity",
            "Ring slots.",
            self.bus.capacity as i64,
        )?;
        gauge(
            &mut e,
            "bus_closed",
            "1 once the producer has closed the bus (the run is ending).",
            i64::from(p.closed),
        )?;
        gauge(
            &mut e,
            "stream_clients",
            "Stream clients connected.",
            self.clients as i64,
        )?;

        let consumers = self.consumers();
        let per = |f: fn(&ringbus_ring::ConsumerMetrics) -> u64| {
            consumers
                .iter()
                .map(move |(l, c)| (l.clone(), ConstCounter::new(f(c))))
        };
        family(
            &mut e,
            "consumer_lag",
            "Published events the consumer has not yet released.",
            None,
            consumers.iter().map(|(l, c)| (l.clone(), as_gauge(c.lag))),
            Gauge,
        )?;
        family(
            &mut e,
            "consumer_handled",
            "Events of its topics the consumer was given.",
            None,
            per(|c| c.handled),
            Counter,
        )?;
        family(
            &mut e,
            "consumer_skipped",
            "Events of other topics or keys the consumer stepped over.",
            None,
            per(|c| c.skipped),
            Counter,
        )?;
        family(
            &mut e,
            "consumer_detaches",
            "Times the lossy tap was detached for lagging.",
            None,
            per(|c| c.detaches),
            Counter,
        )?;
        family(
            &mut e,
            "consumer_missed",
            "Events the lossy tap missed while detached.",
            None,
            per(|c| c.missed),
            Counter,
        )?;
        family(
            &mut e,
            "consumer_producer_waits",
            "Times the producer found the ring full with this consumer the slowest.",
            None,
            per(|c| c.producer_waits),
            Counter,
        )?;
        family(
            &mut e,
            "consumer_state",
            "1 for the consumer's state (running, detached, failed, finished, left), 0 for the others.",
            None,
            consumers.iter().flat_map(|(l, c)| {
                STATES.iter().map(move |s| {
                    let mut labels = l.clone();
                    labels.push(("state", s.name().into()));
                    (labels, ConstGauge::new(i64::from(c.state == *s)))
                })
            }),
            Gauge,
        )?;
        family(
            &mut e,
            "store_committed_height",
            "Height of the last block the store committed (absent: none yet, or unknown).",
            None,
            self.node.stores.iter().filter_map(|s| {
                let h = s.committed_height?;
                Some((vec![("store", s.name.clone())], as_gauge(h)))
            }),
            Gauge,
        )?;
        family(
            &mut e,
            "forwarder_backlog",
            "Events the forwarder took from the bus that its server has not yet acknowledged.",
            None,
            self.node
                .forwarders
                .iter()
                .map(|f| (vec![("forwarder", f.name.clone())], as_gauge(f.backlog))),
            Gauge,
        )?;
        if let Some(b) = self.node.blocks.first() {
            gauge(
                &mut e,
                "block_height",
                "Height of the last block published.",
                i64::try_from(b.height).unwrap_or(i64::MAX),
            )?;
        }
        Ok(())
    }
}

/// The text of one scrape of `state`.
pub(crate) fn scrape(state: &LiveState) -> Result<String, std::fmt::Error> {
    let scrape = Scrape {
        bus: state.bus.metrics(),
        node: state.node.snapshot(),
        clients: state.clients.load(std::sync::atomic::Ordering::Relaxed) as u64,
    };
    let mut registry = Registry::with_prefix("ringbus");
    registry.register_collector(Box::new(scrape));
    let mut text = String::with_capacity(4096);
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}

async fn metrics(State(state): State<LiveState>) -> Response {
    match scrape(&state) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded",
        )
            .into_response(),
    }
}

/// The routes of this part, merged into the server's router: `/metrics` and `/status`.
pub(crate) fn routes() -> Router<LiveState> {
    Router::new()
        .route("/metrics", get(metrics))
        .merge(crate::status::routes())
}
