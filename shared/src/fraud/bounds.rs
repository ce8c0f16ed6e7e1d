//! The range check every component's configuration uses.

/// `Ok` when `v` is within `0..=max`, else a message naming the key `name`.
///
/// # Errors
/// The message.
pub fn in_range(name: &str, v: f64, max: f64) -> Result<(), String> {
    if (0.0..=max).contains(&v) {
        Ok(())
    } else {
        Err(format!("{name} = {v} is outside 0..={max}"))
    }
}
