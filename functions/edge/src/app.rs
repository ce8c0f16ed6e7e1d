//! The application's state: configuration and adapters built once per warm container
//! (answering a request is [`crate::handler`]).

use impressio::behavior::store::BehaviorStore;
use std::sync::Arc;

use crate::after::AfterResponse;
use impressio::behavior::counter::AnyCounter;
use impressio::behavior::dynamo::DynamoBehaviorStore;
use impressio::config::EdgeConfig;
use impressio::event::EventStore;
use impressio::identity::{DynamoIdentityStore, IdentityStore, Resolver};
use impressio::metrics::Metrics;
use impressio::org::OrganizationDirectory;
use impressio::server_api::dynamo::DynamoApiStore;

/// The origin custom header CloudFront adds to every request it sends to the Function URL,
/// carrying the origin-verify secret.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

pub use impressio::clock::{Clock, SystemClock};

/// The edge function's state, shared by every invocation of a warm container.
pub struct App<S, D, I = DynamoIdentityStore, B = DynamoBehaviorStore> {
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
    pub behavior: B,
    /// The Server API's reads and labels.
    pub api: DynamoApiStore,
    /// Time source.
    pub clock: Arc<dyn Clock>,
    /// Where the request metrics go (stdout in the configured namespace, unless replaced by
    /// [`App::with_metrics`]); see [`crate::telemetry`].
    pub metrics: Metrics,
    /// Work the requests deferred until after their answers ([`crate::after`]).
    pub after_response: AfterResponse,
    /// The key of the keyed hashes of IP minimization ([`impressio::privacy`]), derived once
    /// from the domainprint secret.
    pub address_key: [u8; 32],
}

/// The adapters an [`App`] is built with (each built once per container, in `main`).
pub struct Adapters<S, D, I, B> {
    /// Where events are written.
    pub store: S,
    /// Where organizations are looked up.
    pub directory: D,
    /// The identity resolver's store.
    pub identity: I,
    /// The shared login counter.
    pub counter: AnyCounter,
    /// The behavioral layers' store.
    pub behavior: B,
    /// The Server API's store.
    pub api: DynamoApiStore,
}

impl<S: EventStore, D: OrganizationDirectory, I: IdentityStore, B: BehaviorStore> App<S, D, I, B> {
    /// An app with the system clock.
    pub fn new(config: EdgeConfig, adapters: Adapters<S, D, I, B>) -> Self {
        Self::with_clock(config, adapters, Arc::new(SystemClock))
    }

    /// An app with the given clock, writing its metrics to stdout in
    /// `config.metrics_namespace`.
    pub fn with_clock(config: EdgeConfig, adapters: Adapters<S, D, I, B>, clock: Arc<dyn Clock>) -> Self {
        let Adapters {
            store,
            directory,
            identity,
            counter,
            behavior,
            api,
        } = adapters;
        let identity = Resolver::new(identity, config.identity.clone(), config.domainprint_keys.clone());
        let address_key = config.domainprint_keys.derive(impressio::privacy::ADDRESS_KEY_PURPOSE);
        let metrics = Metrics::stdout(&config.metrics_namespace);
        App {
            config,
            store,
            directory,
            identity,
            counter,
            behavior,
            api,
            clock,
            metrics,
            after_response: AfterResponse::default(),
            address_key,
        }
    }

    /// The app writing its metrics through `metrics` instead (tests keep them in memory).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }
}
