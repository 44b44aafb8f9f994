//! Background tasks (filled in below).

/// The node's background tasks.
#[derive(Default)]
pub struct TaskTable {}
