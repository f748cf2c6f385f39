//! Hierarchical Navigable Small World graphs, after Malkov and Yashunin,
//! "Efficient and robust approximate nearest neighbor search using
//! Hierarchical Navigable Small World graphs" (arXiv:1603.09320).
//!
//! The algorithms see the graph only through the [`Graph`] and [`GraphMut`]
//! traits, so the same code runs on the in-memory [`MemoryGraph`] (index
//! builds and the unit tests) and on PostgreSQL pages (the extension).
//!
//! Distances here are "smaller is closer" scores: squared L2, negative inner
//! product (also for cosine, on normalized vectors) or L1.

mod estimated;
mod findable;
mod graph;
mod insert;
mod memory;
mod parallel;
mod params;
mod progress;
mod repair;
mod resumable;
mod search;
mod subsets;
mod visited;

pub use estimated::{search_layer_estimated, EstimateQuery, EstimatingGraph, SearchCounters};
pub use findable::link_if_unfindable;
pub use graph::{Graph, GraphMut, LinkVerdict};
pub use insert::{insert, link_planned, plan_insert, plan_insert_estimated, select_neighbors, InsertPlan};
pub use memory::{MemoryBuilder, MemoryGraph};
pub use params::{HnswParams, LevelGenerator};
pub use progress::{BuildStage, PROGRESS_EVERY};
pub use repair::{relink_cut_off, repair_neighbors, unreached};
pub use resumable::{ResumableSearch, SearchQuery};
pub use subsets::{subset_links, SubsetLinks};
pub use search::{greedy_descent, knn_search, search_layer, search_layer_among, Candidate};
pub use visited::{GenerationVisited, HashVisited, MixHasher, VisitKey, Visited};

#[cfg(test)]
mod tests;
