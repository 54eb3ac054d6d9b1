//! JetStream streams of the tests: names of their own per test process, and reading one back.

use crate::{nats, process_gone, Nats};

/// `name` with this test process's id: two test processes sharing a server named by the
/// environment never share a stream. [`sweep_streams`] deletes those of processes gone.
pub fn per_process(name: &str) -> String {
    format!("{name}_{}", std::process::id())
}

/// Deletes the streams named by [`per_process`] (`TEST_..._<pid>`) of test processes that no
/// longer run, on `server` (with its CA, if it has one): once per process and server.
pub fn sweep_streams(server: &'static Nats) {
    static SWEPT: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
    let url = server.url();
    if swept.contains(&url) {
        return;
    }
    swept.push(url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let mut options = async_nats::ConnectOptions::new();
        if let Some(ca) = server.ca() {
            options = options
                .add_root_certificates(ca.to_path_buf())
                .require_tls(true);
        }
        let js = async_nats::jetstream::new(options.connect(url).await.unwrap());
        let names: Vec<String> = js
            .stream_names()
            .filter_map(|n| async move { n.ok() })
            .collect()
            .await;
        for name in names {
            if name.starts_with("TEST_") && process_gone(&name) {
                let _ = js.delete_stream(&name).await;
            }
        }
    });
}

/// A stored message as the server holds it.
#[derive(Clone, Debug)]
pub struct Raw {
    pub subject: String,
    pub headers: async_nats::HeaderMap,
    pub payload: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.as_str())
    }
}

/// Every message of `stream` on the plain server, in stream order, with its headers.
pub fn stream_raw(stream: &str) -> Vec<Raw> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = async_nats::connect(nats().url()).await.unwrap();
        let js = async_nats::jetstream::new(client);
        let mut stream = js.get_stream(stream).await.unwrap();
        let last = stream.info().await.unwrap().state.last_sequence;
        let mut out = Vec::new();
        for seq in 1..=last {
            let m = stream.get_raw_message(seq).await.unwrap();
            out.push(Raw {
                subject: m.subject.to_string(),
                headers: m.headers,
                payload: m.payload.to_vec(),
            });
        }
        out
    })
}
