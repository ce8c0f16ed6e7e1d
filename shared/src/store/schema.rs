//! The table's schema names that more than one module uses.

/// Name of the user index.
pub const GSI_USER: &str = "GSI_USER";

/// Name of the visitor index: every event of a visitor (`gsi_visitor_pk`, `ts`), with its
/// `user_id` (the Server API's visitor history and erasure).
pub const GSI_VISITOR: &str = "GSI_VISITOR";
