//! placeholder while the engine lands
mod topic;
pub use topic::{Topic, TopicSet};
