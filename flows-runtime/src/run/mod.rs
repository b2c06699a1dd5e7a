//! The executor: one engine per [`Runtime`], a fresh scope per run, the per-run state in a
//! thread-local ([`crate::run_state`]), the deadline checked in `on_progress`.
//!
//! This file holds the public face ([`Runtime`], [`compile`], [`OverBudget`]) and the frame
//! of a run: its deadline, its stack, the panic net. `stack` gives a run its deep stack,
//! `execute` runs the compiled program once against one call, and `trace` turns how it
//! ended into the [`Outcome`]: the result, the step trace, the logs, the snapshots.

mod execute;
mod stack;
#[cfg(test)]
mod tests;
mod trace;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::Engine;

use crate::body::Input;
use crate::codegen::{compile_with, CompiledFlow};
use crate::engine::build_engine;
use crate::io::HttpClient;
use crate::limits::Limits;
use crate::outcome::Outcome;
use crate::validate::ValidationError;

use execute::{run_once, Call, Io};
use stack::on_run_stack;
pub use stack::{RECOMMENDED_THREAD_STACK_BYTES, RUN_STACK_BYTES};
use trace::internal_outcome;

/// A run given a budget by [`Runtime::try_execute_within`] did not end within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// Compiles and runs flows. Build one, share it (`Send + Sync`), call it from any thread.
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    http: Option<Arc<dyn HttpClient>>,
    store: Option<Arc<dyn crate::io::DataStore>>,
    sql: Option<Arc<dyn crate::io::SqlClient>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Validates and compiles a flow (builds a throw-away engine; prefer [`Runtime::compile`]).
pub fn compile(
    steps: &[crate::model::Step],
    limits: &Limits,
) -> Result<CompiledFlow, Vec<ValidationError>> {
    Runtime::new(limits.clone()).compile(steps)
}

impl Runtime {
    pub fn new(limits: Limits) -> Runtime {
        Runtime {
            engine: build_engine(&limits),
            limits,
            http: None,
            store: None,
            sql: None,
        }
    }

    /// Lets `sql` steps reach external databases. Without it, a `sql` step is an error
    /// saying external databases are not available.
    pub fn with_sql_client(mut self, sql: Arc<dyn crate::io::SqlClient>) -> Runtime {
        self.sql = Some(sql);
        self
    }

    /// Gives flows a data store (`store`/`lookup` steps, `store_*()`). Without one, using it
    /// is an error saying the data store is not available.
    pub fn with_data_store(mut self, store: Arc<dyn crate::io::DataStore>) -> Runtime {
        self.store = Some(store);
        self
    }

    /// Gives flows a way to make HTTP calls (`http` steps, `http()`). Without one, a call
    /// is an error saying HTTP is not available.
    pub fn with_http_client(mut self, client: Arc<dyn HttpClient>) -> Runtime {
        self.http = Some(client);
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Validates the flow and compiles it to one Rhai program. Reports every problem found.
    pub fn compile(
        &self,
        steps: &[crate::model::Step],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        compile_with(&self.engine, steps, &[], false)
    }

    /// [`Runtime::compile`] of a flow with an error handler: an error the steps raise (not a
    /// limit, not the deadline) runs `on_error` with `vars.error` (`#{message, step,
    /// step_type}`); unless the handler answers (`respond`/`fail`), the error stands.
    pub fn compile_flow(
        &self,
        steps: &[crate::model::Step],
        on_error: &[crate::model::Step],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        compile_with(&self.engine, steps, on_error, false)
    }

    /// [`Runtime::compile_flow`] for test runs (see [`Runtime::compile_capturing`]).
    pub fn compile_flow_capturing(
        &self,
        steps: &[crate::model::Step],
        on_error: &[crate::model::Step],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        compile_with(&self.engine, steps, on_error, true)
    }

    /// Like [`Runtime::compile`], for test runs: each run of the flow also records `vars` as
    /// each step found it and left it ([`Outcome::snapshots`], each at most
    /// [`crate::MAX_SNAPSHOT_BYTES`] of JSON). Flows compiled with [`Runtime::compile`] record
    /// nothing and pay nothing for it.
    pub fn compile_capturing(
        &self,
        steps: &[crate::model::Step],
    ) -> Result<CompiledFlow, Vec<ValidationError>> {
        compile_with(&self.engine, steps, &[], true)
    }

    /// Runs a flow for one call. Blocking (call it off the async executor); never panics and
    /// stops at the deadline. `request.raw_body` is the body re-encoded from `input.body`.
    pub fn execute(&self, flow: &CompiledFlow, input: &Input) -> Outcome {
        self.run(flow, input, None)
    }

    /// Like [`Runtime::execute`], with the body's bytes as received, so `request.raw_body` is
    /// exact (needed to check a signature over the body).
    pub fn execute_with_raw_body(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: &[u8],
    ) -> Outcome {
        self.run(flow, input, Some(raw_body))
    }

    /// Runs a flow only if it ends within `budget` (shorter than `Limits::max_duration`);
    /// otherwise stops it and returns [`OverBudget`], and the caller runs it again with
    /// [`Runtime::execute_with_raw_body`] where blocking for long is fine. This lets a server
    /// run the many short flows right on its event loop and move only the slow ones to a
    /// blocking thread. Only for flows whose steps have no outside effects (every step of
    /// this crate's model but `http`): the abandoned run is thrown away, as if it never
    /// happened. A flow that [does I/O](CompiledFlow::does_io) is never run here: it gets
    /// [`OverBudget`] at once.
    pub fn try_execute_within(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: Option<&[u8]>,
        budget: Duration,
    ) -> Result<Outcome, OverBudget> {
        if flow.does_io() {
            return Err(OverBudget);
        }
        let (outcome, timed_out) = self.run_with(flow, input, raw_body, Some(budget));
        if timed_out && budget < self.limits.max_duration {
            Err(OverBudget)
        } else {
            Ok(outcome)
        }
    }

    fn run(&self, flow: &CompiledFlow, input: &Input, raw_body: Option<&[u8]>) -> Outcome {
        self.run_with(flow, input, raw_body, None).0
    }

    /// Runs a flow; also tells whether it was stopped by its deadline.
    fn run_with(
        &self,
        flow: &CompiledFlow,
        input: &Input,
        raw_body: Option<&[u8]>,
        budget: Option<Duration>,
    ) -> (Outcome, bool) {
        let started = Instant::now();
        let allowed = budget.map_or(self.limits.max_duration, |b| {
            b.min(self.limits.max_duration)
        });
        let deadline = started + allowed;
        let call = Call {
            flow,
            input,
            raw_body,
            started,
            deadline,
        };
        // Rhai clones, measures and drops nested values recursively, so a script that nests a
        // value thousands of levels deep needs a deep stack: the whole run gets one.
        let run = || {
            on_run_stack(|| {
                run_once(
                    &self.engine,
                    &self.limits,
                    Io {
                        http: self.http.as_ref(),
                        store: self.store.as_ref(),
                        sql: self.sql.as_ref(),
                    },
                    &call,
                )
            })
        };
        catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| {
            (
                internal_outcome("a panic was caught while running the flow", started),
                false,
            )
        })
    }
}
