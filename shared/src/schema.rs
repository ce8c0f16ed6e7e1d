//! The single table's schema: every item kind with its partition and sort keys, the TTL
//! attribute, the two global secondary indexes and what they project. Every key of the table
//! is built here and nowhere else (`tests/tests/it/layout.rs` scans the crate for a key built
//! elsewhere); docs/architecture.md's table of item kinds is held to [`ItemKind::ALL`] by
//! the same test.
//!
//! Keys are strings of `#`-separated parts: `ORG#<organization>#<kind>#…` for what belongs to
//! an organization, `REQ#<request id>` for a request's own items. A value inside a key is one
//! the edge validated or derived (ids, hashes, JA4s, addresses or their keyed hashes under IP
//! minimization); none holds a `#` but the ones composed here.

use sha2::{Digest, Sha256};

/// The table's name when `DYNAMODB_TABLE` does not say (the template names its own).
pub const DEFAULT_TABLE_NAME: &str = "fingerprint-events";

/// The partition key attribute.
pub const PK: &str = "pk";
/// The sort key attribute.
pub const SK: &str = "sk";
/// The TTL attribute (Unix seconds): DynamoDB deletes an item within days after it, so the
/// code checks the times it depends on itself.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The user index: events by `gsi_user_pk` (an organization's user, else its visitor) and
/// `ts`; what impossible travel and account sharing read.
pub const GSI_USER: &str = "GSI_USER";
/// The visitor index: every event of a visitor (`gsi_visitor_pk`, `ts`) with its `user_id`,
/// and an organization's labels (the Server API's visitor history, erasure, backtesting).
pub const GSI_VISITOR: &str = "GSI_VISITOR";

/// Sort key of an event.
pub const EVENT_SK: &str = "EVENT";
/// Sort key of the processor's memory of an event.
pub const PROCESSING_SK: &str = "PROCESSING";
/// Sort key of an event's label.
pub const FEEDBACK_SK: &str = "FEEDBACK";
/// Sort key of the forensic record of a block.
pub const BLOCK_SK: &str = "BLOCK";
/// Sort key of the forensic record of a blacklist hit.
pub const HIT_SK: &str = "BLACKLIST_HIT";
/// Sort key of a message marker.
pub const MESSAGE_SK: &str = "MESSAGE";
/// Sort key of a blacklist entry and of a visitor's block.
pub const BLACKLIST_SK: &str = "BL";
/// Sort key of a collector token's use count.
pub const TOKEN_SK: &str = "USES";
/// Sort key of an identity index entry.
pub const INDEX_SK: &str = "IDX";
/// Sort key of a visitor's profile.
pub const PROFILE_SK: &str = "PROFILE";
/// Sort key of a counter.
pub const COUNTER_SK: &str = "COUNT";
/// Sort key of a tombstone.
pub const DELETION_SK: &str = "DELETION";

/// Every kind of item in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Event,
    Processing,
    Feedback,
    BlockRecord,
    HitRecord,
    MessageMarker,
    VisitorProfile,
    VisitorDevice,
    VisitorDomainprint,
    PossibleSameDevice,
    IdentityIndex,
    BlacklistEntry,
    VisitorBlock,
    Aggregate,
    TokenUses,
    Counter,
    Tombstone,
}

impl ItemKind {
    /// Every kind.
    pub const ALL: &'static [ItemKind] = &[
        ItemKind::Event,
        ItemKind::Processing,
        ItemKind::Feedback,
        ItemKind::BlockRecord,
        ItemKind::HitRecord,
        ItemKind::MessageMarker,
        ItemKind::VisitorProfile,
        ItemKind::VisitorDevice,
        ItemKind::VisitorDomainprint,
        ItemKind::PossibleSameDevice,
        ItemKind::IdentityIndex,
        ItemKind::BlacklistEntry,
        ItemKind::VisitorBlock,
        ItemKind::Aggregate,
        ItemKind::TokenUses,
        ItemKind::Counter,
        ItemKind::Tombstone,
    ];

    /// `(pk, sk, lives)`: the key shapes and the TTL rule, as docs/architecture.md shows them.
    pub fn shape(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ItemKind::Event => ("REQ#<request id>", "EVENT", "the organization's retention"),
            ItemKind::Processing => ("REQ#<request id>", "PROCESSING", "at most the event's"),
            ItemKind::Feedback => ("REQ#<request id>", "FEEDBACK", "at most the event's"),
            ItemKind::BlockRecord => (
                "REQ#<request id>",
                "BLOCK",
                "the block plus a year, at most the retention",
            ),
            ItemKind::HitRecord => ("REQ#<request id>", "BLACKLIST_HIT", "the entry's, plus a year"),
            ItemKind::MessageMarker => (
                "MSG#<org>#<message id>",
                "MESSAGE",
                "the dedupe window, at most the event's",
            ),
            ItemKind::VisitorProfile => (
                "ORG#<org>#V#<visitor>",
                "PROFILE",
                "400 days after last seen, at most the retention",
            ),
            ItemKind::VisitorDevice => ("ORG#<org>#V#<visitor>", "DEV#<fingerprint>", "as the profile"),
            ItemKind::VisitorDomainprint => ("ORG#<org>#V#<visitor>", "DP#<domainprint>", "as the profile"),
            ItemKind::PossibleSameDevice => ("ORG#<org>#V#<visitor>", "LINK#<other visitor>", "as the profile"),
            ItemKind::IdentityIndex => ("ORG#<org>#<FP|DP|BH|FPN|NET>#<value>", "IDX", "as the profile"),
            ItemKind::BlacklistEntry => (
                "ORG#<org>#BL#<IP#ip | JA4#ja4[#ip or /64] | FP#fingerprint#ip or /64>",
                "BL",
                "the block plus its offense window, at most the retention",
            ),
            ItemKind::VisitorBlock => ("ORG#<org>#BLV#<visitor>", "BL", "as the entries, at least the memory"),
            ItemKind::Aggregate => (
                "ORG#<org>#AGG#<JA4NET#ja4#ip or /64 | JA4#ja4 | IP#ip | VIS#visitor>",
                "B#<bucket start, s>",
                "the bucket plus a day",
            ),
            ItemKind::TokenUses => ("ORG#<org>#TOK#<token sha-256>", "USES", "the token's lifetime"),
            ItemKind::Counter => ("CNT#<counter>#<window start, s>", "COUNT", "the window"),
            ItemKind::Tombstone => (
                "ORG#<org>#DEL#<deletion id>",
                "DELETION",
                "the longest item lifetime plus 30 days",
            ),
        }
    }
}

/// A global secondary index: its name, its key attributes and what it projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
    /// The non-key attributes projected; `None`: every attribute (`ALL`).
    pub projects: Option<&'static [&'static str]>,
}

/// The table's indexes, as `infra/dynamodb/table.json` and `template.yaml` declare them (the
/// infrastructure tests hold both to this).
pub const INDEXES: [Index; 2] = [
    Index {
        name: GSI_USER,
        partition_key: "gsi_user_pk",
        sort_key: "ts",
        projects: None,
    },
    Index {
        name: GSI_VISITOR,
        partition_key: "gsi_visitor_pk",
        sort_key: "ts",
        projects: Some(&["user_id"]),
    },
];

// Requests.

/// The partition of a request's items (its event, processing item, label, forensic records).
pub fn request_pk(request_id: &str) -> String {
    format!("REQ#{request_id}")
}

/// The request id of a request partition key (`REQ#<id>`), as it is.
pub fn request_id_of(pk: &str) -> &str {
    pk.strip_prefix("REQ#").unwrap_or(pk)
}

/// An event's `GSI_USER` key: the organization's user.
pub fn user_index_pk(organization_id: &str, user_id: &str) -> String {
    format!("ORG#{organization_id}#USER#{user_id}")
}

/// An event's `GSI_VISITOR` key: its visitor.
pub fn visitor_index_pk(organization_id: &str, visitor_id: &str) -> String {
    format!("ORG#{organization_id}#VISITOR#{visitor_id}")
}

/// The `GSI_VISITOR` key of an organization's labels.
pub fn labels_index_pk(organization_id: &str) -> String {
    format!("ORG#{organization_id}#LABELS")
}

/// A message marker: one per organization and `messageId`.
pub fn message_pk(organization_id: &str, message_id: &str) -> String {
    format!("MSG#{organization_id}#{message_id}")
}

// Identity.

/// The partition of a visitor's identity records.
pub fn visitor_pk(organization_id: &str, visitor_id: &str) -> String {
    format!("ORG#{organization_id}#V#{visitor_id}")
}

/// An identity index entry: `tag` is `FP`, `DP`, `BH`, `FPN` or `NET`.
pub fn index_pk(organization_id: &str, tag: &str, value: &str) -> String {
    format!("ORG#{organization_id}#{tag}#{value}")
}

/// The value of a fingerprint-on-network index entry.
pub fn fingerprint_on_network(fingerprint: &str, network: &str) -> String {
    format!("{fingerprint}#{network}")
}

/// A visitor's device record.
pub fn device_sk(fingerprint: &str) -> String {
    format!("DEV#{fingerprint}")
}

/// A visitor's domainprint record.
pub fn domainprint_sk(domainprint: &str) -> String {
    format!("DP#{domainprint}")
}

/// A visitor's possible-same-device link to `other`.
pub fn link_sk(other_visitor_id: &str) -> String {
    format!("LINK#{other_visitor_id}")
}

/// The prefixes of a visitor partition's sort keys: devices, domainprints, links.
pub const DEVICE_SK_PREFIX: &str = "DEV#";
pub const DOMAINPRINT_SK_PREFIX: &str = "DP#";
pub const LINK_SK_PREFIX: &str = "LINK#";

// Erasure.

/// The deletion id of `visitor_id` of `organization_id`: the first 16 bytes of
/// SHA-256(`impressio-erasure` ‖ 0 ‖ organization ‖ 0 ‖ visitor), as a UUID of version 8
/// (RFC 9562, section 5.8: custom), lowercase hyphenated. The tombstone never holds the
/// visitor id, and whoever holds one can find whether it was erased.
pub fn deletion_id(organization_id: &str, visitor_id: &str) -> String {
    let mut h = Sha256::new();
    for part in ["impressio-erasure", organization_id, visitor_id] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid().hyphenated().to_string()
}

/// A tombstone.
pub fn deletion_pk(organization_id: &str, deletion_id: &str) -> String {
    format!("ORG#{organization_id}#DEL#{deletion_id}")
}

/// The tombstone of `visitor_id`, if it was erased.
pub fn tombstone_pk(organization_id: &str, visitor_id: &str) -> String {
    deletion_pk(organization_id, &deletion_id(organization_id, visitor_id))
}

// Behavior.

/// A blacklist entry of an address (or its keyed hash).
pub fn ip_blacklist_pk(organization_id: &str, ip: &str) -> String {
    format!("ORG#{organization_id}#BL#IP#{ip}")
}

/// A blacklist entry of a known tool's JA4, across the organization.
pub fn ja4_blacklist_pk(organization_id: &str, ja4: &str) -> String {
    format!("ORG#{organization_id}#BL#JA4#{ja4}")
}

/// A blacklist entry of a JA4 on one IP or /64 (`scope`).
pub fn ja4_network_blacklist_pk(organization_id: &str, ja4: &str, scope: &str) -> String {
    format!("ORG#{organization_id}#BL#JA4#{ja4}#{scope}")
}

/// A blacklist entry of a fingerprint on one IP or /64 (`scope`).
pub fn fingerprint_blacklist_pk(organization_id: &str, fingerprint: &str, scope: &str) -> String {
    format!("ORG#{organization_id}#BL#FP#{fingerprint}#{scope}")
}

/// The fingerprint entry of releases before 2026-12-07, across the organization: no longer
/// read or written; an erasure still removes one that has not expired.
pub fn legacy_fingerprint_blacklist_pk(organization_id: &str, fingerprint: &str) -> String {
    format!("ORG#{organization_id}#BL#FP#{fingerprint}")
}

/// A visitor's block (blacklist by visitor id and repeat-offender memory).
pub fn visitor_block_pk(organization_id: &str, visitor_id: &str) -> String {
    format!("ORG#{organization_id}#BLV#{visitor_id}")
}

/// Which identifier a blacklist key blocks: `fingerprint_network`, `ip`, `ja4` (a known
/// tool's, across the organization), `ja4_network`, `visitor`, or `unknown` (an entry of an
/// older release among them). What logs may say of an entry: the identifier itself (an IP
/// address among them) is personal data.
pub fn identifier_kind(pk: &str) -> &'static str {
    let parts: Vec<&str> = pk.split('#').collect();
    match parts.get(2..).unwrap_or_default() {
        ["BLV", ..] => "visitor",
        ["BL", "FP", _, _] => "fingerprint_network",
        ["BL", "IP", ..] => "ip",
        ["BL", "JA4", _] => "ja4",
        ["BL", "JA4", _, _, ..] => "ja4_network",
        _ => "unknown",
    }
}

/// The aggregate of a JA4 on one IP or /64 (the session-hopping cluster).
pub fn ja4_network_aggregate_pk(organization_id: &str, ja4: &str, scope: &str) -> String {
    format!("ORG#{organization_id}#AGG#JA4NET#{ja4}#{scope}")
}

/// The aggregate of a JA4 across the organization.
pub fn ja4_aggregate_pk(organization_id: &str, ja4: &str) -> String {
    format!("ORG#{organization_id}#AGG#JA4#{ja4}")
}

/// The aggregate of an address (the IP rate).
pub fn ip_aggregate_pk(organization_id: &str, ip: &str) -> String {
    format!("ORG#{organization_id}#AGG#IP#{ip}")
}

/// A visitor's hourly aggregate.
pub fn visitor_aggregate_pk(organization_id: &str, visitor_id: &str) -> String {
    format!("ORG#{organization_id}#AGG#VIS#{visitor_id}")
}

/// A collector token's use count, by the token's SHA-256.
pub fn token_pk(organization_id: &str, hash: &str) -> String {
    format!("ORG#{organization_id}#TOK#{hash}")
}

/// The sort key of the aggregate bucket starting at `start` (Unix seconds).
pub fn bucket_sk(start: i64) -> String {
    format!("B#{start}")
}

/// The start of a bucket from its sort key (0 when it is not one).
pub fn bucket_start_of(sort_key: &str) -> i64 {
    sort_key.strip_prefix("B#").and_then(|s| s.parse().ok()).unwrap_or(0)
}

// Counters.

/// The login counter's key: per JA4 and, with `scope`, per IP or /64.
pub fn login_counter(organization_id: &str, ja4: &str, scope: Option<&str>) -> String {
    match scope {
        Some(scope) => format!("logins:{organization_id}:{ja4}:{scope}"),
        None => format!("logins:{organization_id}:{ja4}"),
    }
}

/// The partition of the DynamoDB counter of `key` in the window starting at `start` (Unix
/// seconds).
pub fn counter_pk(key: &str, start: i64) -> String {
    format!("CNT#{key}#{start}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_their_documented_shapes() {
        assert_eq!(request_pk("r1"), "REQ#r1");
        assert_eq!(request_id_of("REQ#r1"), "r1");
        assert_eq!(user_index_pk("o", "u"), "ORG#o#USER#u");
        assert_eq!(visitor_index_pk("o", "v"), "ORG#o#VISITOR#v");
        assert_eq!(labels_index_pk("o"), "ORG#o#LABELS");
        assert_eq!(message_pk("o", "m"), "MSG#o#m");
        assert_eq!(visitor_pk("o", "v"), "ORG#o#V#v");
        assert_eq!(index_pk("o", "FPN", &fingerprint_on_network("f", "n")), "ORG#o#FPN#f#n");
        assert_eq!(tombstone_pk("o", "v"), deletion_pk("o", &deletion_id("o", "v")));
        assert_eq!(
            counter_pk(&login_counter("o", "t13", Some("198.51.100.7")), 7200),
            "CNT#logins:o:t13:198.51.100.7#7200"
        );
        assert_eq!(bucket_start_of(&bucket_sk(1_700_000_100)), 1_700_000_100);
        assert_eq!(bucket_start_of("BL"), 0);
        for (pk, kind) in [
            (ip_blacklist_pk("o", "192.0.2.1"), "ip"),
            (ja4_blacklist_pk("o", "t13"), "ja4"),
            (ja4_network_blacklist_pk("o", "t13", "192.0.2.1"), "ja4_network"),
            (fingerprint_blacklist_pk("o", "fp", "192.0.2.1"), "fingerprint_network"),
            (visitor_block_pk("o", "v"), "visitor"),
            (legacy_fingerprint_blacklist_pk("o", "fp"), "unknown"),
            (request_pk("x"), "unknown"),
        ] {
            assert_eq!(identifier_kind(&pk), kind, "{pk}");
        }
    }

    #[test]
    fn a_deletion_id_is_a_uuid_of_its_organization_and_visitor() {
        let a = deletion_id("org_1", "0192f0c4-7f4b-7c3e-9a51-3c1f0b6e2d17");
        assert_eq!(a, deletion_id("org_1", "0192f0c4-7f4b-7c3e-9a51-3c1f0b6e2d17"));
        assert_ne!(a, deletion_id("org_2", "0192f0c4-7f4b-7c3e-9a51-3c1f0b6e2d17"));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 8);
    }
}
