//! The Microsoft Graph print resources, as the v1.0 metadata names them.
//!
//! These types are the client-side wire model shared by the cloud (which serves them), the CLI's
//! Graph client (which reads them) and the device mapping (which fills them from IPP attributes).
//! Property names, nullability and enum members follow the v1.0 CSDL exactly, because unmodified
//! Graph SDK clients are generated from it: a renamed field or an extra enum member breaks them.
//!
//! It answers what Graph print resources look like on the wire, which media sizes Graph names
//! (joined to their PWG names and dimensions), and whether a printer's capabilities, defaults
//! and a job's configuration are consistent ([`rules`]). It knows nothing of ours: no IPP, no
//! storage, no rendering, so every crate that speaks Graph can use it without linking those.

mod enums;
mod list;
mod media;
pub mod read_only;
mod resources;
pub mod rules;

pub use enums::*;
pub use media::*;
pub use resources::*;
