//! Work that must be done for a request but not before it is answered: it starts at once, runs
//! while the answer is sent, and is awaited before the function asks the Lambda Runtime API
//! for its next invocation.
//!
//! Lambda freezes an execution environment only when the runtime asks for the next
//! invocation (Lambda Developer Guide, "Lambda execution environment lifecycle": the Invoke
//! phase ends when the runtime and every extension have sent a `Next` request). The runtime
//! posts the answer first, so a [`FinishAfterLayer`] around the runtime's service, which
//! awaits [`AfterResponse::finish`] once the answer is posted, lets the caller have its
//! answer while the work completes, and nothing is left half done in a frozen environment.
//! In tests and tools that call the handler directly, the caller awaits
//! [`AfterResponse::finish`] itself.
//!
//! Used for the forensic record of a blacklist hit: the blocked request is answered after its
//! first read round.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaInvocation;
use tokio::task::JoinSet;
use tracing::Instrument;

/// The work deferred by the requests of one invocation.
#[derive(Debug, Default)]
pub struct AfterResponse {
    tasks: Mutex<JoinSet<()>>,
}

impl AfterResponse {
    /// Starts `work` now, inside the current tracing span (the request's), without waiting
    /// for it. It must log its own failures: nothing reads its result.
    pub fn defer(&self, work: impl Future<Output = ()> + Send + 'static) {
        let span = tracing::Span::current();
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .spawn(work.instrument(span));
    }

    /// How many deferred tasks have not been awaited yet.
    pub fn pending(&self) -> usize {
        self.tasks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Awaits every task deferred so far; a task that panicked is logged.
    pub async fn finish(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "work deferred after the answer failed");
            }
        }
    }
}

/// A layer for `lambda_runtime::Runtime::layer`: after each invocation's answer is posted,
/// awaits the work its requests deferred.
#[derive(Debug, Clone, Copy)]
pub struct FinishAfterLayer<'a>(pub &'a AfterResponse);

impl<'a, S> Layer<S> for FinishAfterLayer<'a> {
    type Service = FinishAfter<'a, S>;

    fn layer(&self, inner: S) -> Self::Service {
        FinishAfter { inner, after: self.0 }
    }
}

/// The service of [`FinishAfterLayer`].
#[derive(Debug, Clone)]
pub struct FinishAfter<'a, S> {
    inner: S,
    after: &'a AfterResponse,
}

impl<'a, S> Service<LambdaInvocation> for FinishAfter<'a, S>
where
    S: Service<LambdaInvocation, Response = (), Error = lambda_runtime::Error>,
    S::Future: Send + 'a,
{
    type Response = ();
    type Error = lambda_runtime::Error;
    type Future = Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>> + Send + 'a>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        // The inner service runs the handler and posts its answer.
        let answered = self.inner.call(invocation);
        let after = self.after;
        Box::pin(async move {
            let result = answered.await;
            after.finish().await;
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn finish_waits_for_work_deferred_before_it_and_forgets_it_after() {
        let after = AfterResponse::default();
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        after.defer(async move {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            flag.store(true, Ordering::SeqCst);
        });
        assert_eq!(after.pending(), 1);
        assert!(
            !done.load(Ordering::SeqCst),
            "deferred work does not hold up the caller"
        );
        after.finish().await;
        assert!(done.load(Ordering::SeqCst));
        assert_eq!(after.pending(), 0);
    }

    #[tokio::test]
    async fn a_panicking_task_is_logged_not_propagated() {
        let after = AfterResponse::default();
        after.defer(async { panic!("boom") });
        after.finish().await;
        assert_eq!(after.pending(), 0);
    }
}
