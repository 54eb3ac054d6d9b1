//! What the node reports besides the bus's own metrics.

/// The node's figures the bus cannot know: implemented by the node application.
pub trait NodeStatus: Send + Sync + 'static {
    /// The figures now.
    fn snapshot(&self) -> NodeSnapshot;
}

/// The node's figures at one moment.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NodeSnapshot {}
