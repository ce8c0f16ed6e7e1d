//! Counting the DynamoDB calls a piece of code makes, through an SDK interceptor on the real
//! client (so what is counted is what goes over the wire to moto server).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;

/// The calls seen: operation names in order, and the most that were in flight at once.
#[derive(Debug, Default)]
pub struct CallLog {
    ops: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl CallLog {
    /// Operation names (e.g. `GetItem`) since the last reset.
    pub fn ops(&self) -> Vec<String> {
        self.ops.lock().expect("lock").clone()
    }

    /// How many calls of `op` since the last reset.
    pub fn count(&self, op: &str) -> usize {
        self.ops().iter().filter(|o| *o == op).count()
    }

    /// The most calls in flight at the same time since the last reset.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets what was seen.
    pub fn reset(&self) {
        self.ops.lock().expect("lock").clear();
        self.max_in_flight.store(0, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone)]
struct Counter(Arc<CallLog>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = context
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("unknown")
            .to_string();
        self.0.ops.lock().expect("lock").push(op);
        let now = self.0.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.0.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A DynamoDB client for `endpoint` whose calls are logged in the returned [`CallLog`].
pub fn counting_client(endpoint: &str) -> (aws_sdk_dynamodb::Client, Arc<CallLog>) {
    let log = Arc::new(CallLog::default());
    let config = tools::dynamo_config(endpoint).interceptor(Counter(log.clone())).build();
    (aws_sdk_dynamodb::Client::from_conf(config), log)
}
