//! What an in-memory build tells its caller while it runs.

/// The stages of a build, in order; each reports (done, total) elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildStage {
    /// Inserting every element (Algorithm 1).
    Inserting,
    /// Searching for every element by its own vector, to link the ones
    /// the search misses (`link_if_unfindable`).
    CheckingFindability,
}

/// How many elements a build handles between two reports.
pub const PROGRESS_EVERY: usize = 64;
