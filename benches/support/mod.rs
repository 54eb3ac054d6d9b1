//! What the criterion benches share: the event, the layouts, the checking consumer and one
//! timed run.

pub mod checker;
pub mod event;
pub mod keys;
pub mod layout;
pub mod paired;
pub mod run;
