//! Small owners of browser resources: each releases what it holds when dropped.

pub(crate) mod page;
pub(crate) mod xhr;
