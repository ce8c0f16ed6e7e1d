//! The table's schema names that more than one module uses.

/// Name of the user index.
pub const GSI_USER: &str = "GSI_USER";
