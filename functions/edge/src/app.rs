//! The application's state: configuration and adapters built once per warm container
//! (answering a request is [`crate::handler`]).

use std::sync::Arc;

use crate::after::AfterResponse;
use impressio::behavior::any::AnyBehaviorStore;
use impressio::config::EdgeConfig;
use impressio::fraud::counter::AnyCounter;
use impressio::identity::{DynamoIdentityStore, IdentityStore, Resolver};
use impressio::metrics::Metrics;
use impressio::org::OrganizationDirectory;
use impressio::store::EventStore;

/// The origin custom header CloudFront adds to every request it sends to the Function URL,
/// carrying the origin-verify secret.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

pub use impressio::clock::{Clock, SystemClock};

/// The edge function's state, shared by every invocation of a warm container.
pub struct App<S, D, I = DynamoIdentityStore> {
    /// Parsed configuration.
    pub config: EdgeConfig,
    /// Where events are written.
    pub store: S,
    /// Where organizations are looked up.
    pub directory: D,
    /// The identity resolver.
    pub identity: Resolver<I>,
    /// The shared login counter of the credential-stuffing layer.
    pub counter: AnyCounter,
    /// The behavioral layers' store (blacklist, aggregates, token uses, forensic records).
    pub behavior: AnyBehaviorStore,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Where the request metrics go (stdout in the configured namespace, unless replaced by
    /// [`App::with_metrics`]); see [`crate::telemetry`].
    pub metrics: Metrics,
    /// Work the requests deferred until after their answers ([`crate::after`]).
    pub after_response: AfterResponse,
}

impl<S: EventStore, D: OrganizationDirectory, I: IdentityStore> App<S, D, I> {
    /// An app with the system clock.
    pub fn new(
        config: EdgeConfig,
        store: S,
        directory: D,
        identity: I,
        counter: AnyCounter,
        behavior: AnyBehaviorStore,
    ) -> Self {
        Self::with_clock(
            config,
            store,
            directory,
            identity,
            counter,
            behavior,
            Arc::new(SystemClock),
        )
    }

    /// An app with the given clock, writing its metrics to stdout in
    /// `config.metrics_namespace`.
    pub fn with_clock(
        config: EdgeConfig,
        store: S,
        directory: D,
        identity: I,
        counter: AnyCounter,
        behavior: AnyBehaviorStore,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let identity = Resolver::new(identity, config.identity.clone(), config.domainprint_keys.clone());
        let metrics = Metrics::stdout(&config.metrics_namespace);
        App {
            config,
            store,
            directory,
            identity,
            counter,
            behavior,
            clock,
            metrics,
            after_response: AfterResponse::default(),
        }
    }

    /// The app writing its metrics through `metrics` instead (tests keep them in memory).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }
}
