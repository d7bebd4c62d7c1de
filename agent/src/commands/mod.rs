//! Command bodies of the `jikimi` binary that are large enough to live outside main.rs.

pub mod fix;
pub mod waivers;
