//! Executions: the live list of every call to a trigger (filters in the URL, refreshed every
//! 3 s) and one execution in full: request, response, step trace and logs, with replay and skip.

mod callers;
mod detail;
mod filters;
mod list;
mod rows;
mod snapshot;
mod text;
mod toolbar;
mod trace;

pub use detail::ExecutionPage;
pub use list::ExecutionsPage;
