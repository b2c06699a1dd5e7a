//! The stack a run gets. Rhai clones, measures and drops nested values recursively, so a
//! script that nests a value thousands of levels deep needs a deep stack: unless the calling
//! thread has [`RUN_STACK_BYTES`] left, the run moves to a stack of that size (a corosensei
//! coroutine stack, one per thread, kept and reused; stacker measures what is left).

use std::cell::RefCell;

/// Stack a run gets: unless the calling thread has this much left, the run moves to a stack of
/// this size, reserved once per thread and reused (memory is committed only as it is used).
pub const RUN_STACK_BYTES: usize = 64 * 1024 * 1024;
/// A thread stack size with which runs stay on the calling thread's own stack.
pub const RECOMMENDED_THREAD_STACK_BYTES: usize = RUN_STACK_BYTES + 4 * 1024 * 1024;

thread_local! {
    static RUN_STACK: RefCell<Option<corosensei::stack::DefaultStack>> = const { RefCell::new(None) };
}

/// Runs `f` with at least [`RUN_STACK_BYTES`] of stack: in place if the thread has that much
/// left, else on this thread's run stack (if that cannot be had, in place anyway).
pub(super) fn on_run_stack<R>(f: impl FnOnce() -> R) -> R {
    if stacker::remaining_stack().is_some_and(|left| left >= RUN_STACK_BYTES) {
        return f();
    }
    RUN_STACK.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            if slot.is_none() {
                *slot = corosensei::stack::DefaultStack::new(RUN_STACK_BYTES).ok();
            }
            match slot.as_mut() {
                Some(stack) => corosensei::on_stack(stack, f),
                None => f(),
            }
        }
        Err(_) => f(),
    })
}
