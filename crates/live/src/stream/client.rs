//! The count of stream clients served at once, against the configured limit.

use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// One client's place among those served: taken before its tap joins, given back when its
/// stream ends (however it ends: the slot is dropped with the stream).
#[derive(Debug)]
pub(crate) struct ClientSlot {
    clients: Arc<AtomicUsize>,
}

impl ClientSlot {
    /// A place, if fewer than `max` clients are served now.
    pub(crate) fn take(clients: &Arc<AtomicUsize>, max: usize) -> Option<ClientSlot> {
        // Relaxed: a counter; nothing else is published through it.
        clients
            .fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1))
            .ok()?;
        Some(ClientSlot {
            clients: Arc::clone(clients),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.clients.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_places_and_each_comes_back() {
        let clients = Arc::new(AtomicUsize::new(0));
        let a = ClientSlot::take(&clients, 2).unwrap();
        let b = ClientSlot::take(&clients, 2).unwrap();
        assert!(ClientSlot::take(&clients, 2).is_none());
        assert_eq!(clients.load(Relaxed), 2);
        drop(a);
        let c = ClientSlot::take(&clients, 2).unwrap();
        drop((b, c));
        assert_eq!(clients.load(Relaxed), 0);
    }
}
